"""Issue 14: every kind of ``cagnet figures`` for the embedded benchmark and CamVid.

Usage (from the repository root; the runs must exist, see benchmarks/RESULTS.md section
"Paper figures (issue 14)" for the commands that trained them)::

    python benchmarks/paper_figures.py [--embedded-methods DIR --embedded-lambdas DIR]
        [--camvid-run DIR] [--camvid-methods DIR] [--camvid-lambdas DIR]
        [--output benchmarks/figures] [--images 3]

``--embedded-methods`` is a ``cagnet compare`` folder with spnet-c, zs3net and cagnet; its
CaGNet run (runs/cagnet/seed0) also makes the embedded clusters, reconstruction and scales
figures. ``--embedded-lambdas`` is a compare folder with lambda1/* and lambda2/* variants.
``--camvid-methods`` and ``--camvid-lambdas`` are the same kinds of compare folder for CamVid
(each optional; ``--camvid-run`` makes the other CamVid figures).
The figures go to OUTPUT/embedded/ and OUTPUT/camvid/ (KIND.png and the caption KIND.txt).
"""

import argparse
import sys
from pathlib import Path

from cagnet.cli import main


def figures(output: Path, images: int, jobs: list[tuple[str, Path, list[str]]]) -> int:
    """Run ``cagnet figures`` once per (kind, source, extra arguments); the first failure ends."""
    for kind, source, extra in jobs:
        arguments = ["figures", kind, str(source), "--output", str(output), "--images", str(images)]
        print(f"cagnet {' '.join(arguments + extra)}", flush=True)
        code = main(arguments + extra)
        if code:
            return code
    return 0


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedded-methods", type=Path, help="skip the embedded figures if absent")
    parser.add_argument("--embedded-lambdas", type=Path, help="needed with --embedded-methods")
    parser.add_argument("--camvid-run", type=Path, help="skip the CamVid run figures if absent")
    parser.add_argument("--camvid-methods", type=Path, help="skip the CamVid methods if absent")
    parser.add_argument("--camvid-lambdas", type=Path, help="skip the CamVid lambdas if absent")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/figures"))
    parser.add_argument("--images", type=int, default=3)
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    if args.embedded_methods is None:
        return camvid_figures(args)
    embedded_run = args.embedded_methods / "runs" / "cagnet" / "seed0"
    embedded = [
        ("clusters", embedded_run, []),
        ("reconstruction", embedded_run, []),
        ("scales", embedded_run, []),
        ("methods", args.embedded_methods, []),
        ("lambdas", args.embedded_lambdas, []),
    ]
    return figures(args.output / "embedded", args.images, embedded) or camvid_figures(args)


def camvid_figures(args: argparse.Namespace) -> int:
    camvid = []
    if args.camvid_run is not None:
        camvid += [
            ("clusters", args.camvid_run, ["--class", "car"]),
            ("reconstruction", args.camvid_run, []),
            ("scales", args.camvid_run, []),
        ]
    if args.camvid_methods is not None:
        camvid.append(("methods", args.camvid_methods, []))
    if args.camvid_lambdas is not None:
        camvid.append(("lambdas", args.camvid_lambdas, []))
    return figures(args.output / "camvid", args.images, camvid)


if __name__ == "__main__":
    sys.exit(run())
