"""Time a shortened `cagnet demo` with one core kept busy: 2 torch threads against the default.

Usage: python benchmarks/demo_threads.py [--iterations 80] [--output runs/demo-threads]

Issue 12: on 2 cores with one taken by another single-threaded job, torch's default of one
thread per core made an iteration ~8x slower. This script starts such a job itself
(`python -c "while True: pass"`), trains the demo's config for a few iterations (both phases,
no evaluation) with 2 threads ("before") and with the thread count `cagnet` now chooses
("after", ``cagnet.threads.default_threads``), then without the busy job for reference, and
writes the seconds per iteration to the section "cagnet demo with one core busy (issue 12)".
The full demo is 2000 iterations; the time per iteration is what the thread count changes.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch
from results_file import commit, machine, today, update_section

from cagnet.build import prepare_dataset
from cagnet.cli import demo_config_path
from cagnet.config import load_config
from cagnet.threads import busy_cores, default_threads, usable_cpus
from cagnet.training.loop import train

WARM_UP_SECONDS = 5  # lets the busy job show in /proc/loadavg before the default is chosen


def shortened_demo(iterations: int, output: Path) -> list[str]:
    """--set overrides: the demo's config, ``iterations`` long, half pure training, no eval."""
    return [
        f"train.iterations={iterations}",
        f"train.pretrain_iterations={iterations // 2}",
        f"train.alternate_every={max(1, iterations // 8)}",
        f"train.checkpoint_every={iterations}",
        f"output_dir={output}",
    ]


def seconds_per_iteration(overrides: list[str], threads: int) -> float:
    torch.set_num_threads(threads)
    config = load_config(demo_config_path(), overrides)
    started = time.perf_counter()
    train(config, progress=False, evaluate_at_end=False)
    return (time.perf_counter() - started) / config.train.iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=80)
    parser.add_argument("--output", type=Path, default=Path("runs/demo-threads"))
    args = parser.parse_args()
    overrides = shortened_demo(args.iterations, args.output)
    prepare_dataset(load_config(demo_config_path(), overrides), progress=False)  # not timed
    rows = []
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(WARM_UP_SECONDS)
        cpus, load = usable_cpus(), busy_cores()
        chosen = default_threads(cpus, load)
        for label, threads in (("before: torch's default", 2), ("after: cagnet's default", chosen)):
            rows.append((label, "yes", threads, seconds_per_iteration(overrides, threads)))
    finally:
        busy.kill()
        busy.wait()
    time.sleep(WARM_UP_SECONDS)
    rows.append(("reference, no busy job", "no", 2, seconds_per_iteration(overrides, 2)))
    before, after = rows[0][3], rows[1][3]
    table = (
        "| setting | other job on one core | torch threads | s / iteration |\n|---|---|---|---|\n"
    )
    table += "".join(f"| {a} | {b} | {c} | {d:.3f} |\n" for a, b, c, d in rows)
    body = (
        f"- date: {today()}; code: {commit()}\n"
        f"- machine: {machine()}; a VM shared with other sessions' jobs (load before the run "
        f"not controlled beyond the busy job this script starts)\n"
        f"- command: `python benchmarks/demo_threads.py --iterations {args.iterations}`: the "
        f"demo's config shortened to {args.iterations} iterations (half pure training, then "
        f'training and finetuning alternating), no evaluation; one `python -c "while True: '
        f'pass"` keeps one of the {cpus} cores busy\n'
        f"- the default saw {cpus} usable cores and ~{load:.1f} busy, and chose {chosen} "
        f"thread(s)\n"
        f"- the full demo is 2000 iterations: at these rates its training would take about "
        f"{2000 * before / 60:.0f} min before and {2000 * after / 60:.0f} min after (estimate "
        f"from the shortened run; evaluation and data generation not included)\n\n" + table
    )
    update_section("cagnet demo with one core busy (issue 12)", body)
    print(body)


if __name__ == "__main__":
    main()
