"""``cagnet export-onnx MODEL --classes car,road,sky --output model.onnx [--check IMG...]``."""

import argparse
from pathlib import Path

from cagnet.errors import CagnetError


class MissingOnnxError(CagnetError):
    """The onnx extra is not installed."""


def command_export_onnx(args: argparse.Namespace) -> int:
    """Exports the model for the given names; with --check, compares it with PyTorch."""
    try:
        import onnx  # noqa: F401

        from cagnet.deploy.onnx_export import compare_with_torch, export_network, require_agreement
    except ModuleNotFoundError as error:
        raise MissingOnnxError(
            f"cagnet export-onnx needs the onnx extra ({error.name} is missing): "
            "pip install 'cagnet[onnx]'"
        ) from None
    from cagnet.inference.segmenter import Segmenter, image_array

    segmenter = Segmenter.load(args.model, cache_dir=args.cache_dir)
    names = None if args.classes is None else [name.strip() for name in args.classes.split(",")]
    network = segmenter.network(names)
    names = segmenter.class_names if names is None else names
    export_network(network, names, args.output)
    print(f"wrote {args.output}: {len(names)} classes ({', '.join(names)}), dynamic B, H, W")
    if args.check:
        check = compare_with_torch(args.output, network, [image_array(p) for p in args.check])
        print(
            f"check on {len(args.check)} image(s): max abs score difference "
            f"{check.max_abs_diff:.2e}, same top class on {100 * check.argmax_agreement:.3f} %"
        )
        require_agreement(check)
    return 0


def add_export_onnx_parser(commands: argparse._SubParsersAction) -> None:
    """Adds ``cagnet export-onnx`` to the ``cagnet`` command's sub-commands."""
    parser = commands.add_parser(
        "export-onnx", help="export the network for a set of class names as ONNX"
    )
    parser.add_argument("model", help="model file or shipped model name")
    parser.add_argument("--classes", help="comma-separated class names (default: the model's)")
    parser.add_argument("--output", type=Path, required=True, help="the .onnx file to write")
    parser.add_argument(
        "--check",
        type=Path,
        nargs="+",
        metavar="IMAGE",
        help="compare with PyTorch on these images",
    )
    parser.add_argument("--cache-dir", type=Path, help="adapted-classifier cache folder")
    parser.set_defaults(func=command_export_onnx)
