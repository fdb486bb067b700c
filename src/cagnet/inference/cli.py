"""``cagnet predict`` and ``cagnet export-model``: thin layers over ``cagnet.inference``.

cagnet export-model RUN_DIR [--output FILE]
cagnet predict --model camvid-streets --classes "road,sky,car" IMG... --output DIR
"""

import argparse
import csv
import glob
import io
import os
import shutil
import tempfile
from pathlib import Path

from cagnet.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def collect_inputs(inputs: list[str]) -> list[Path]:
    """Image files from files, folders (their image files, sorted) and glob patterns.

    Raises:
        DataError: naming an input that matches nothing, or when there is no image at all.
    """
    paths: list[Path] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(f"folder {path} holds no {'/'.join(IMAGE_SUFFIXES)} image")
            paths += found
        elif path.is_file():
            paths.append(path)
        elif glob.has_magic(text):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not found:
                raise DataError(f"the pattern {text!r} matches no file")
            paths += found
        else:
            raise DataError(f"input {path} does not exist; give image files, folders or globs")
    if not paths:
        raise DataError("no input image given")
    return paths


def output_stems(paths: list[Path]) -> list[str]:
    """Unique output names: the file stems, with ``-2``, ``-3``... for repeated stems."""
    stems, used = [], set()
    for path in paths:
        stem, k = path.stem, 1
        while stem in used:
            k += 1
            stem = f"{path.stem}-{k}"
        used.add(stem)
        stems.append(stem)
    return stems


def parse_classes(text: str | None) -> list[str] | None:
    """Split "a,b" into names (stripped and checked later); None = the model's own classes."""
    return None if text is None else text.split(",")


def command_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from cagnet.atomic import atomic_write_text
    from cagnet.inference.outputs import SUMMARY_FIELDS, summary_rows, write_image_outputs
    from cagnet.inference.segmenter import Segmenter, image_array

    output = Path(args.output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise DataError(f"output folder {output} exists and is not empty; give a new --output")
    paths = collect_inputs(args.inputs)
    segmenter = Segmenter.load(args.model, device=args.device, cache_dir=args.cache_dir)
    classes = parse_classes(args.classes)
    segmenter.adapt(classes if classes is not None else segmenter.class_names)
    names = segmenter.class_names if classes is None else [c.strip() for c in classes]
    output.parent.mkdir(parents=True, exist_ok=True)
    # Everything is written to a hidden folder beside the output, renamed into place at the end:
    # a failure (an image that does not decode, say) leaves no partial output.
    partial = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.partial-"))
    try:
        rows = []
        stems = output_stems(paths)
        bar = tqdm(total=len(paths), desc="predict", unit="image", disable=args.quiet)
        for start in range(0, len(paths), args.batch_size):
            chunk = paths[start : start + args.batch_size]
            arrays = [image_array(path) for path in chunk]
            predictions = segmenter.predict_batch(arrays, names, args.calibrate, args.batch_size)
            for k, prediction in enumerate(predictions):
                stem = stems[start + k]
                write_image_outputs(partial, stem, arrays[k], prediction, args.scores)
                rows += summary_rows(chunk[k].name, prediction)
            bar.update(len(chunk))
        bar.close()
        atomic_write_text(partial / "classes.txt", "\n".join(names) + "\n")
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(partial / "summary.csv", buffer.getvalue())
        for path in (partial / "classes.txt", partial / "summary.csv"):
            path.chmod(0o644)  # written through mkstemp (owner-only), as mkdtemp's folder
        partial.chmod(0o755)
        if output.exists():
            output.rmdir()  # empty, checked above
        os.replace(partial, output)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    print(f"{len(paths)} images segmented into {len(names)} classes: {output}")
    return 0


def _calibration(text: str) -> float | str:
    if text == "saved":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--calibrate {text!r}: give a number (gamma) or nothing for the model's own"
        ) from None


def add_predict_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "predict", help="segment images with a model file or a shipped model, any class names"
    )
    parser.add_argument("inputs", nargs="+", help="image files, folders or glob patterns")
    parser.add_argument(
        "--model",
        required=True,
        help="a model file (cagnet export-model), 'camvid-streets' or 'camvid-streets-fast'",
    )
    parser.add_argument(
        "--classes", help="comma-separated class names (default: the model's own classes)"
    )
    parser.add_argument("--output", type=Path, required=True, help="new folder for the results")
    parser.add_argument(
        "--calibrate",
        type=_calibration,
        nargs="?",
        const="saved",
        metavar="GAMMA",
        help="subtract GAMMA from seen-class scores; without a value, the model's saved gamma",
    )
    parser.add_argument("--scores", action="store_true", help="also write STEM.scores.npy")
    parser.add_argument("--batch-size", type=int, default=8, help="images per forward pass")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--cache-dir", type=Path, help="adapted classifiers (default $CAGNET_CACHE or ~/.cache)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=command_predict)


def command_export(args: argparse.Namespace) -> int:
    from cagnet.inference.export import export_model

    path = export_model(args.run_dir, args.output, half=args.half)
    print(f"model file: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def add_export_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("export-model", help="write the portable model file of a run")
    parser.add_argument("run_dir", type=Path, help="a finished run folder")
    parser.add_argument(
        "--output", type=Path, help="file to write (default RUN_DIR/NAME.cagnet.pt)"
    )
    parser.add_argument(
        "--half", action="store_true", help="store the weights as float16 (half the size)"
    )
    parser.set_defaults(func=command_export)
