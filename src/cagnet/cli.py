"""The ``cagnet`` command: train, eval, demo, embed."""

import argparse
import importlib
import os
import signal
import sys
import time
from pathlib import Path

from cagnet.cli_args import add_overrides_argument, add_threads_argument, demo_config_path
from cagnet.config import Config, load_config, override_values
from cagnet.errors import CagnetError, ConfigError
from cagnet.threads import apply_threads, choose_threads
from cagnet.training.interrupt import EXIT_STATUS, TrainingInterrupted, terminate_as_interrupt

# Sub-commands that live beside the concept they serve: (module, function adding the parser).
PLUGINS = (
    ("cagnet.embeddings.cli", "add_embed_parser"),
    ("cagnet.evaluation.calibration_cli", "add_calibrate_parser"),
    ("cagnet.training.self_training_cli", "add_self_train_parser"),
    ("cagnet.compare.cli", "add_compare_parser"),
    ("cagnet.data.feature_cache_cli", "add_cache_parser"),
    ("cagnet.inference.cli", "add_predict_parser"),
    ("cagnet.inference.cli", "add_export_parser"),
    ("cagnet.evaluation.tune", "add_tune_parser"),
    ("cagnet.figures.cli", "add_figures_parser"),
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


def _eval_inputs(args: argparse.Namespace) -> tuple[Config, Path]:
    """``cagnet eval``'s config and checkpoint: a run folder's own, or CONFIG + --checkpoint."""
    from cagnet.config_io import from_dict, merge, to_dict
    from cagnet.training.checkpoint import CHECKPOINT_NAME
    from cagnet.training.loop import CONFIG_NAME, read_run_config

    if args.target.is_dir():  # a run folder: its saved config, --set on top
        config = read_run_config(args.target)
        if args.overrides:
            values = merge(to_dict(config), override_values(args.overrides))
            source = f"{args.target / CONFIG_NAME} with --set {' '.join(args.overrides)}"
            config = from_dict(Config, values, source)
        return config, args.checkpoint or args.target / CHECKPOINT_NAME
    if args.checkpoint is None:
        raise ConfigError(
            f"cagnet eval {args.target}: a config file needs --checkpoint PATH; or give the run "
            "folder alone (cagnet eval RUN_DIR) to use its saved config and checkpoint"
        )
    return load_config(args.target, args.overrides), args.checkpoint


def command_eval(args: argparse.Namespace) -> int:
    from cagnet.evaluation.run import evaluate_and_save
    from cagnet.extras import check_extras
    from cagnet.training.distributed import Context
    from cagnet.training.loop import load_trained_model, resolve_device
    from cagnet.training.run_folder import new_run_folder

    config, checkpoint = _eval_inputs(args)
    check_extras(config)
    device = resolve_device(config.device, Context())
    model, data, config = load_trained_model(config, checkpoint, device)
    # A fresh folder each time: earlier evaluations are never overwritten.
    output = new_run_folder(checkpoint.parent, "eval", explicit=args.output)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cagnet", description="Zero-shot semantic segmentation with CaGNet and its baselines."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser(
        "train",
        help="train a model from a config",
        description="Train a model from a YAML config (then evaluate it on the val split), or "
        "continue an interrupted run with --resume RUN_DIR. Each run gets a new folder under "
        "output_dir with the resolved config, checkpoint.pt, losses.csv, metrics and overlays.",
    )
    train_parser.add_argument("config", type=Path, nargs="?", help="YAML config file")
    _config_arguments(train_parser, config_required=False)
    train_parser.add_argument("--run-dir", type=Path, help="exact new run folder")
    train_parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a run")
    train_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    train_parser.set_defaults(func=command_train)

    eval_parser = commands.add_parser(
        "eval",
        help="evaluate a checkpoint on the val split",
        description="Evaluate a trained model on the val split: `cagnet eval RUN_DIR` uses the "
        "run's saved config and checkpoint; `cagnet eval CONFIG --checkpoint PATH` another "
        "config. Results go to a new folder (metrics.json, metrics.md, overlays/).",
    )
    eval_parser.add_argument(
        "target",
        type=Path,
        metavar="RUN_DIR|CONFIG",
        help="a run folder (its config.yaml and checkpoint.pt), or a YAML config file",
    )
    _config_arguments(eval_parser, config_required=False)
    eval_parser.add_argument(
        "--checkpoint",
        type=Path,
        help="the checkpoint.pt to evaluate (default with RUN_DIR: RUN_DIR/checkpoint.pt; "
        "needed with CONFIG)",
    )
    eval_parser.add_argument(
        "--output", type=Path, help="new folder for the results (default: RUN_DIR/eval-<time>)"
    )
    eval_parser.set_defaults(func=command_eval)

    demo_parser = commands.add_parser(
        "demo",
        help="train and evaluate on the embedded benchmark",
        description="Train and evaluate CaGNet on the embedded benchmark (generated from a seed, "
        "nothing downloaded) with the packaged config src/cagnet/configs/demo.yaml; about 8-10 "
        "minutes on 2 free CPU cores. Prints the scores and where the overlays are.",
    )
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
    for sub_parser in commands.choices.values():  # every sub-command, plug-ins included
        add_threads_argument(sub_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous_term = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, terminate_as_interrupt)  # SIGTERM stops as Ctrl-C does
        choice = choose_threads(args.threads)
        apply_threads(choice)
        print(f"cagnet: {choice.threads} torch thread(s) ({choice.reason})", file=sys.stderr)
        return args.func(args)
    except CagnetError as error:
        print(f"cagnet: error: {error}", file=sys.stderr)
        return 2
    except TrainingInterrupted as stopped:
        print(f"cagnet: {stopped}", file=sys.stderr)
        return EXIT_STATUS
    except KeyboardInterrupt:
        print("cagnet: interrupted", file=sys.stderr)
        return EXIT_STATUS
    except BrokenPipeError:  # e.g. `cagnet compare --list | head`: the reader has gone
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous_term or signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
