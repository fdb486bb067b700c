"""The ``cagnet`` command: train, eval, demo, embed."""

import argparse
import importlib
import sys
import time
from importlib import resources
from pathlib import Path

from cagnet.cli_args import add_overrides_argument
from cagnet.config import Config, load_config
from cagnet.errors import CagnetError

# Sub-commands that live beside the concept they serve: (module, function adding the parser).
PLUGINS = (
    ("cagnet.embeddings.cli", "add_embed_parser"),
    ("cagnet.evaluation.calibration_cli", "add_calibrate_parser"),
    ("cagnet.training.self_training_cli", "add_self_train_parser"),
    ("cagnet.compare.cli", "add_compare_parser"),
    ("cagnet.data.feature_cache_cli", "add_cache_parser"),
    ("cagnet.inference.cli", "add_predict_parser"),
    ("cagnet.inference.cli", "add_export_parser"),
    ("cagnet.serve.cli", "add_serve_parser"),
    ("cagnet.deploy.cli", "add_export_onnx_parser"),
)


def _config_arguments(parser: argparse.ArgumentParser, config_required: bool = True) -> None:
    if config_required:
        parser.add_argument("config", type=Path, help="YAML config file (see configs/)")
    add_overrides_argument(
        parser, "override a config field, e.g. --set train.iterations=200 (repeatable)"
    )


def _print_metrics(metrics: dict) -> None:
    from cagnet.evaluation.metrics import Report
    from cagnet.evaluation.run import format_table

    print(format_table(Report.from_dict(metrics)))


def command_train(args: argparse.Namespace) -> int:
    from cagnet.training.loop import train

    if args.resume is not None:
        if args.config is not None or args.overrides:
            print("cagnet train --resume uses the run folder's saved config; drop CONFIG/--set")
            return 2
        result = train(Config(), resume=args.resume, progress=not args.quiet)
    else:
        if args.config is None:
            print("cagnet train needs a CONFIG file, or --resume RUN_DIR")
            return 2
        config = load_config(args.config, args.overrides)
        result = train(config, run_dir=args.run_dir, progress=not args.quiet)
    print(f"run folder: {result.run_dir}")
    if result.metrics is not None:
        _print_metrics(result.metrics)
    return 0


def command_eval(args: argparse.Namespace) -> int:
    from cagnet.evaluation.run import evaluate_and_save
    from cagnet.training.distributed import Context
    from cagnet.training.loop import load_trained_model, resolve_device
    from cagnet.training.run_folder import new_run_folder

    config = load_config(args.config, args.overrides)
    device = resolve_device(config.device, Context())
    model, data, config = load_trained_model(config, args.checkpoint, device)
    # A fresh folder each time: earlier evaluations are never overwritten.
    output = new_run_folder(args.checkpoint.parent, "eval", explicit=args.output)
    report = evaluate_and_save(model, data, config, output, device, overlays=True)
    print(f"results in {output}")
    _print_metrics(report.as_dict())
    return 0


def command_demo(args: argparse.Namespace) -> int:
    from cagnet.training.loop import train

    started = time.perf_counter()
    config = load_config(demo_config_path(), args.overrides)
    print(
        "cagnet demo: the embedded benchmark (16 classes; unseen: green square, blue triangle, "
        "yellow circle), small CNN, CPU-sized schedule"
    )
    result = train(config, run_dir=args.run_dir, progress=not args.quiet)
    minutes = (time.perf_counter() - started) / 60
    print(f"\nrun folder: {result.run_dir} ({minutes:.1f} min)")
    print(f"overlays: {result.run_dir / 'overlays'}")
    print(f"per-class IoU: {result.run_dir / 'metrics.md'}")
    _print_metrics(result.metrics)
    return 0


def demo_config_path() -> Path:
    """The demo's config, shipped inside the package (src/cagnet/configs/demo.yaml)."""
    return Path(str(resources.files("cagnet") / "configs" / "demo.yaml"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cagnet", description="Zero-shot semantic segmentation with CaGNet and its baselines."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train a model from a config")
    train_parser.add_argument("config", type=Path, nargs="?", help="YAML config file")
    _config_arguments(train_parser, config_required=False)
    train_parser.add_argument("--run-dir", type=Path, help="exact new run folder")
    train_parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run")
    train_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    train_parser.set_defaults(func=command_train)

    eval_parser = commands.add_parser("eval", help="evaluate a checkpoint on the val split")
    _config_arguments(eval_parser)
    eval_parser.add_argument("--checkpoint", type=Path, required=True)
    eval_parser.add_argument(
        "--output", type=Path, help="new folder for the results (default: RUN_DIR/eval-<time>)"
    )
    eval_parser.set_defaults(func=command_eval)

    demo_parser = commands.add_parser("demo", help="train and evaluate on the embedded benchmark")
    _config_arguments(demo_parser, config_required=False)
    demo_parser.add_argument("--run-dir", type=Path, help="exact new run folder")
    demo_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    demo_parser.set_defaults(func=command_demo)

    for module_name, function_name in PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if not module_name.startswith(str(error.name)):
                raise
            continue  # a sub-command whose module is not part of this build
        getattr(module, function_name)(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CagnetError as error:
        print(f"cagnet: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
