"""``cagnet self-train RUN_DIR``: pseudo-label the training set with a trained run, train on."""

import argparse
import json
from pathlib import Path

from cagnet.cli_args import add_overrides_argument
from cagnet.training.self_training import SUMMARY_NAME


def _unseen_miou(metrics_path: Path) -> str:
    if not metrics_path.is_file():
        return "not evaluated"
    metrics = json.loads(metrics_path.read_text())
    return f"{metrics['unseen']['miou']:.4f} (hIoU {metrics['hiou']:.4f})"


def command_self_train(args: argparse.Namespace) -> int:
    from cagnet.training.self_training import self_train

    result = self_train(args.source, args.overrides, run_dir=args.run_dir, progress=not args.quiet)
    summary = json.loads((result.run_dir / SUMMARY_NAME).read_text())
    counts = ", ".join(f"{n}: {c['pseudo_labelled']}" for n, c in summary["classes"].items())
    print(f"run folder: {result.run_dir}")
    print(f"pseudo-labelled pixels (last round, rule {summary['rule']}): {counts}")
    source_metrics = args.source / "metrics.json" if args.source.is_dir() else None
    if source_metrics is not None:
        print(f"unseen mIoU before: {_unseen_miou(source_metrics)}")
    print(f"unseen mIoU after:  {_unseen_miou(result.run_dir / 'metrics.json')}")
    return 0


def add_self_train_parser(subparsers) -> None:
    """Register ``cagnet self-train`` on the CLI's sub-command parsers."""
    parser = subparsers.add_parser(
        "self-train",
        help="pseudo-label unseen classes in the training set with a trained run, train on",
        description=(
            "Self-training (ST): the trained model of RUN_DIR tags unlabelled training pixels "
            "with unseen classes; training continues from it in a new run folder "
            "(self_training.* settings; RUN_DIR is only read)."
        ),
    )
    parser.add_argument("source", type=Path, metavar="RUN_DIR", help="run folder or checkpoint")
    add_overrides_argument(
        parser, "override the run's config, e.g. --set self_training.rule=topk (repeatable)"
    )
    parser.add_argument("--run-dir", type=Path, help="exact new folder for the first round")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=command_self_train)
