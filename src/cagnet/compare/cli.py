"""``cagnet compare CONFIG --variants cagnet,zs3net --seeds 0,1,2 --output DIR [--set k=v]``."""

import argparse
import shlex
from pathlib import Path

from cagnet.cli_args import add_overrides_argument, demo_config_path
from cagnet.errors import ConfigError


def _seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds {text!r}: give integers separated by commas, e.g. 0,1,2"
        ) from None


def command_compare(args: argparse.Namespace) -> int:
    """Run the comparison the arguments describe (or list the variants); 0 on success."""
    from cagnet.compare.variants import VARIANTS

    if args.list:
        width = max(len(name) for name in VARIANTS)
        for name, variant in VARIANTS.items():
            post = f" [then {variant.post}]" if variant.post else ""
            sets = " ".join(f"--set {o}" for o in variant.overrides) or "(the config as given)"
            print(f"{name:<{width}}  {variant.row}{post}\n{'':<{width}}  {sets}")
        return 0
    if args.output is None or not args.variants:
        raise ConfigError(
            "cagnet compare needs --variants and --output, e.g. cagnet compare CONFIG.yaml "
            "--variants cagnet,table2/ec --seeds 0,1 --output runs/compare "
            "(cagnet compare --list shows the variants)"
        )
    from cagnet.compare.run import compare
    from cagnet.config import load_config

    if args.config is None:  # the embedded benchmark, as cagnet demo
        args.config = demo_config_path()
    config = load_config(args.config, args.overrides)
    words = ["cagnet", "compare", str(args.config), "--variants", args.variants]
    words += ["--seeds", ",".join(str(seed) for seed in args.seeds), "--output", str(args.output)]
    for override in args.overrides:
        words += ["--set", override]
    command = shlex.join(words)
    compare(
        config,
        [name for name in args.variants.split(",") if name.strip()],
        args.seeds,
        args.output,
        progress=not args.quiet,
        command=command,
    )
    return 0


def add_compare_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``compare`` to the ``cagnet`` command's sub-parsers."""
    parser = subparsers.add_parser(
        "compare",
        help="train and evaluate methods/ablations over seeds; report mean ± std",
        description=(
            "Train and evaluate each variant (a method or an ablation of the paper) with each "
            "seed, one run folder each, then write results.csv, results.md (Table 1 layout, "
            "mean ± std over seeds) and results.png. Re-running skips finished runs and "
            "resumes interrupted ones."
        ),
    )
    parser.add_argument(
        "config", type=Path, nargs="?", help="YAML config file (default: the demo's)"
    )
    parser.add_argument(
        "--variants",
        default="",
        help="comma-separated variant names or patterns, e.g. cagnet,zs3net,'table3/*'",
    )
    parser.add_argument("--seeds", type=_seeds, default=[0], help="e.g. 0,1,2 (default: 0)")
    parser.add_argument("--output", type=Path, help="folder for the runs and the reports")
    add_overrides_argument(
        parser, "override a config field for every variant (a variant's own overrides win)"
    )
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bars inside runs")
    parser.set_defaults(func=command_compare)
    return parser
