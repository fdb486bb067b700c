"""Time a short training run of a benchmark config and record it in ``benchmarks/RESULTS.md``.

Runs ``--iterations`` training steps of the config (phase "training" throughout: E, CM, G, D
and C, the step that makes up most of a run) on the VOC-layout data at ``--root``, then prints
the median time per iteration after ``--warmup`` iterations and the peak memory:
``torch.cuda.max_memory_allocated`` on a GPU, the process's peak resident memory on a CPU.
A dated line naming the machine is added to the "Paper benchmarks" section of RESULTS.md.

Commands (from the repository root)::

    # GPU, the voc12 config on VOC 2012 + SBD (a few hundred iterations: minutes)
    python benchmarks/gpu_voc_timing.py --root data/voc --iterations 300

    # any VOC layout, e.g. the flat sample folder (JPEGImages/ + SegmentationClass/)
    python benchmarks/gpu_voc_timing.py --root ../shared/samples/voc2012 --split all \\
        --embeddings ../shared/benchmarks/cagnet-official/voc12/word_vectors

    # CPU, batch 1, three iterations of which the second is timed
    python benchmarks/gpu_voc_timing.py --root ../shared/samples/voc2012 --split all \\
        --embeddings ../shared/benchmarks/cagnet-official/voc12/word_vectors \\
        --device cpu --iterations 3 --warmup 1 --set train.batch_size=1

Without ``data/pretrained/deeplabv2_resnet101_init.pth`` add
``--set model.backbone.pretrained=``: random weights take the same time per iteration.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from results_file import RESULTS, commit, machine, update_section  # benchmarks/results_file.py

from cagnet.config import load_config
from cagnet.training.loop import train

REPOSITORY = Path(__file__).resolve().parents[1]
HEADING = "Paper benchmarks (Pascal-VOC, Pascal-Context, COCO-stuff)"
MARKER = "<!-- gpu_voc_timing.py adds its lines above this one -->"


class TimedReader:
    """A reader that notes the time of every image read. With ``train.num_workers=0`` the
    loader reads a batch in the main process right before the step that uses it."""

    def __init__(self, reader):
        self.reader = reader
        self.stamps: list[float] = []  # wall-clock seconds
        self.cpu_stamps: list[float] = []  # CPU seconds of the process (all threads)

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, index):
        self.stamps.append(time.perf_counter())
        self.cpu_stamps.append(time.process_time())
        return self.reader[index]

    def __getattr__(self, name):
        return getattr(self.reader, name)


def section_body(text: str) -> str:
    """The body of the paper-benchmarks section of ``text`` ("" when it has none)."""
    marker = f"## {HEADING}\n"
    if marker not in text:
        return ""
    start = text.index(marker) + len(marker)
    following = text.find("\n## ", start)
    return text[start:] if following < 0 else text[start : following + 1]


def record(line: str) -> None:
    """Add ``line`` above the marker of the paper-benchmarks section (created if missing)."""
    body = section_body(RESULTS.read_text() if RESULTS.exists() else "").strip()
    if MARKER not in body:
        body = f"{body}\n\n### Measured runs\n\n{MARKER}".strip()
    update_section(HEADING, body.replace(MARKER, f"{line}\n{MARKER}", 1))


def step_intervals(stamps: list[float], warmup: int) -> list[float]:
    """Interval k runs from batch k's first read to batch k+1's: step k (and loading k+1)."""
    return [later - earlier for earlier, later in zip(stamps[:-1], stamps[1:], strict=True)][
        warmup:
    ]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPOSITORY / "configs/voc12_cagnet.yaml")
    parser.add_argument("--root", required=True, help="VOC-layout data (cagnet.data.readers.voc)")
    parser.add_argument("--split", default="", help="split to train on; default: the config's")
    parser.add_argument("--embeddings", type=Path, help="folder of fasttext.pkl + word2vec.pkl")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20, help="iterations left out")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    if args.iterations < args.warmup + 2:
        parser.error("--iterations must be at least --warmup + 2 (the last step has no end mark)")
    return args


def main() -> int:
    args = parse_arguments()
    overrides = [
        f"dataset.root={args.root}",
        f"device={args.device}",
        f"train.iterations={args.iterations}",
        f"train.pretrain_iterations={args.iterations}",  # every iteration is a training step
        "train.num_workers=0",
        f"train.log_every={args.iterations}",
        f"train.checkpoint_every={10 * args.iterations}",
    ]
    if args.split:  # the val split is read too (not evaluated): the same images
        overrides += [f"dataset.train_split={args.split}", f"dataset.val_split={args.split}"]
    if args.embeddings:
        folder = args.embeddings
        overrides.append(f"embeddings.sources=[{folder}/fasttext.pkl,{folder}/word2vec.pkl]")
    timed = {}

    def time_reads(data):
        timed["reader"] = TimedReader(data.train)
        return dataclasses.replace(data, train=timed["reader"])

    with tempfile.TemporaryDirectory() as output:
        config = load_config(args.config, [f"output_dir={output}", *overrides, *args.overrides])
        cuda = config.device != "cpu" and torch.cuda.is_available()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        train(config, progress=False, evaluate_at_end=False, data_hook=time_reads)

    step = config.train.batch_size  # the first read of each batch marks the start of its step
    intervals = step_intervals(timed["reader"].stamps[::step], args.warmup)
    seconds = statistics.median(intervals)
    cpu_seconds = statistics.median(step_intervals(timed["reader"].cpu_stamps[::step], args.warmup))
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**30
        memory = f"peak torch.cuda.max_memory_allocated {peak:.2f} GiB"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
        memory = f"peak resident memory of the process {peak:.2f} GiB"
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        memory += f"; {cpu_seconds:.1f} s of process CPU time per iteration; load average {load}"
    scales = len(config.model.backbone.multi_scale) or 1
    line = (
        f"- {datetime.date.today().isoformat()}, {machine()}, commit {commit()}: {config.name}, "
        f"batch {config.train.batch_size}, crop {config.augment.crop_size}, "
        f"{config.model.backbone.name} with {scales} input scale(s): {seconds:.3f} s/iteration "
        f"(median of {len(intervals)} after {args.warmup} warm-up), {memory}. "
        f"Command: `python benchmarks/gpu_voc_timing.py {' '.join(sys.argv[1:])}`"
    )
    print(line)
    if not args.no_record:
        record(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
