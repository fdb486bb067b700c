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
import json
from pathlib import Path

import torch
from compare_runner import read_results, results_table, run_comparison
from results_file import commit, machine, today, update_section

from cagnet.cli import demo_config_path

HEADING = "Issue 4's comparison as stated, timed"
# Seconds per job with one torch thread (measured 2026-11-25, see the full comparisons).
BENCHMARKS = {
    "camvid": (
        "configs/camvid.yaml",
        {("cagnet",): 200.0, ("spnet", "spnet-c"): 30.0, ("zs3net",): 25.0},
        True,
    ),
    "embedded": (
        str(demo_config_path()),
        {("cagnet",): 430.0, ("spnet", "spnet-c"): 115.0, ("zs3net",): 100.0},
        False,
    ),
}
TIMING = "issue4_timing.json"


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("runs") / "issue4-timing")
    parser.add_argument("--seeds", type=lambda t: [int(s) for s in t.split(",")], default=[0, 1, 2])
    parser.add_argument("--workers", type=int, choices=(1, 2), default=2)
    parser.add_argument("--benchmarks", default="camvid,embedded")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.overrides = []
    unknown = set(args.benchmarks.split(",")) - set(BENCHMARKS)
    if unknown:
        parser.error(f"--benchmarks: unknown {sorted(unknown)}; choose from {sorted(BENCHMARKS)}")
    return args


def main() -> None:
    args = parse_arguments()
    torch.set_num_threads(1)  # machine() then reports the workers' one thread each
    args.output.mkdir(parents=True, exist_ok=True)
    timing_path = args.output / TIMING
    timings = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
    names = args.benchmarks.split(",")
    for name in names:
        if args.report_only:
            if name not in timings:
                raise SystemExit(f"--report-only: {timing_path} has no timed {name} run")
            continue
        config, job_costs, build_cache = BENCHMARKS[name]
        sub = argparse.Namespace(**{**vars(args), "output": args.output / name})
        sub.output.mkdir(parents=True, exist_ok=True)
        wall = run_comparison(config, job_costs, sub, build_cache)
        timings[name] = {"wall_s": wall, "date": today(), "code": commit(), "machine": machine()}
        timing_path.write_text(json.dumps(timings, indent=1))
    seeds = ",".join(str(s) for s in args.seeds)
    lines = [
        f"- command: `python benchmarks/issue4_timing.py --output {args.output} --seeds {seeds} "
        f"--workers {args.workers}`: per benchmark, `cagnet compare CONFIG --variants "
        f"spnet,spnet-c,zs3net,cagnet --seeds {seeds}` split over {args.workers} worker "
        "process(es) of 1 torch thread each (compare_runner.py; SPNet-c calibrates SPNet's run)",
        "- the issue's limit: at most 20 minutes for the whole comparison on 2 CPU cores",
        "",
    ]
    for name in names:
        config, job_costs, _ = BENCHMARKS[name]
        measured = timings[name]
        variants = [v for group in job_costs for v in group]
        order = [v for v in ("spnet", "spnet-c", "zs3net", "cagnet") if v in variants]
        shown = "the demo's config" if name == "embedded" else f"`{config}`"
        lines += [
            f"### {name} ({shown})",
            "",
            f"- date: {measured['date']}; code: {measured['code']}; machine: {measured['machine']}"
            " (the orchestrating process; every run was in a worker of 1 torch thread)",
            f"- wall time: **{measured['wall_s'] / 60:.1f} min** ({measured['wall_s']:.0f} s)",
            f"- runs: `{args.output / name}`",
            "",
            results_table(read_results(args.output / name / "results.csv"), order),
            "",
        ]
    update_section(HEADING, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
