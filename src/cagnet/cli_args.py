"""Command-line arguments shared by several ``cagnet`` sub-commands."""

import argparse


def add_overrides_argument(
    parser: argparse.ArgumentParser,
    help_text: str = "override a config field, e.g. --set train.iterations=200 (repeatable)",
) -> None:
    """``--set KEY=VALUE`` (repeatable), collected in ``args.overrides``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=help_text,
    )
