"""Issue 4's comparison exactly as stated, timed: SPNet, SPNet-c, ZS3Net, CaGNet x 3 seeds.

Usage (from the repository root; CamVid needs ../shared/datasets/camvid)::

    python benchmarks/issue4_timing.py [--output runs/issue4-timing] [--seeds 0,1,2]
        [--workers 2] [--benchmarks camvid,embedded] [--report-only]

The full comparisons (camvid_compare.py, embedded_compare.py) also run ZS3Net-c and CaGNet-c;
their wall times cover six variants. This one runs the four variants the issue names, on
each benchmark, with the same two workers of one torch thread each (compare_runner.py), and
times each benchmark from start to end (CamVid: the feature cache is checked first, so a built
cache costs seconds and a missing one is built inside the time). Writes the section
"Issue 4's comparison as stated, timed" of benchmarks/RESULTS.md.
"""

import argparse

from compare_runner import (
    argument_parser,
    command_line,
    read_results,
    results_table,
    timed,
    variant_names,
)
from results_file import update_section

from cagnet.cli import demo_config_path

HEADING = "Issue 4's comparison as stated, timed"
# Seconds per job with one torch thread (measured 2026-11-25, see the full comparisons), in
# the order of the report's rows.
BENCHMARKS = {
    "camvid": (
        "configs/camvid_issue4.yaml",
        {("spnet", "spnet-c"): 30.0, ("zs3net",): 25.0, ("cagnet",): 200.0},
        True,
    ),
    "embedded": (
        str(demo_config_path()),
        {("spnet", "spnet-c"): 115.0, ("zs3net",): 100.0, ("cagnet",): 430.0},
        False,
    ),
}


def parse_arguments() -> argparse.Namespace:
    parser = argument_parser(__doc__.split("\n")[0], "issue4-timing")
    parser.add_argument("--benchmarks", default="camvid,embedded")
    args = parser.parse_args()
    unknown = set(args.benchmarks.split(",")) - set(BENCHMARKS)
    if unknown:
        parser.error(f"--benchmarks: unknown {sorted(unknown)}; choose from {sorted(BENCHMARKS)}")
    return args


def main() -> None:
    args = parse_arguments()
    seeds = ",".join(str(s) for s in args.seeds)
    lines = [
        f"- command: `{command_line('issue4_timing.py', args)}`: per benchmark, `cagnet compare "
        f"CONFIG --variants spnet,spnet-c,zs3net,cagnet --seeds {seeds}` split over "
        f"{args.workers} worker process(es) of 1 torch thread each (compare_runner.py; SPNet-c "
        "calibrates SPNet's run); each benchmark's runs and timing are in OUTPUT/NAME",
        "- the issue's limit: at most 20 minutes for the whole comparison on 2 CPU cores",
        "",
    ]
    for name in args.benchmarks.split(","):
        config, job_costs, build_cache = BENCHMARKS[name]
        sub = argparse.Namespace(**{**vars(args), "output": args.output / name})
        measured = timed(config, job_costs, sub, build_cache)  # or, --report-only, read back
        shown = "the demo's config" if name == "embedded" else f"`{config}`"
        lines += [
            f"### {name} ({shown})",
            "",
            f"- date: {measured['date']}; code: {measured['code']}; machine: {measured['machine']}"
            " (the orchestrating process; every run was in a worker of 1 torch thread)",
            f"- wall time: **{measured['wall_s'] / 60:.1f} min** ({measured['wall_s']:.0f} s)",
            f"- runs: `{sub.output}`",
            "",
            results_table(read_results(sub.output / "results.csv"), variant_names(job_costs)),
            "",
        ]
    update_section(HEADING, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
