"""Command-line arguments shared by several ``cagnet`` sub-commands."""

import argparse
from importlib import resources
from pathlib import Path


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


def demo_config_path() -> Path:
    """The demo's config, shipped inside the package (src/cagnet/configs/demo.yaml)."""
    return Path(str(resources.files("cagnet") / "configs" / "demo.yaml"))


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: torch's CPU threads (default: ``cagnet.threads.choose_threads``)."""
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for torch (default: OMP_NUM_THREADS if set, else one per core not "
        "busy with other jobs; on a shared machine give --threads 1)",
    )
