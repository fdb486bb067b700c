"""What the comparison benchmarks share: run ``cagnet compare`` over seeds on 2 cores, timed,
and turn its results.csv into the tables of benchmarks/RESULTS.md.

Used by ``camvid_compare.py`` (CamVid, frozen EfficientNet-Lite0 features) and
``embedded_compare.py`` (the embedded benchmark, small CNN). Each variant group in ``job_costs``
(a method and its calibrated variant, which calibrates the method's run of the same seed) is
one job per seed; jobs go to parallel workers, one torch thread each, longest first onto the
least loaded worker, so that no run is trained by two workers at once.
"""

import argparse
import csv
import json
import math
import os
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import torch
from results_file import commit, machine, today

COLUMNS = (("hiou", "hIoU"), ("seen_miou", "seen mIoU"), ("unseen_miou", "unseen mIoU"))
COLUMNS += (("overall_miou", "mIoU"), ("unseen_pixel_accuracy", "unseen pixel acc."))
NEAR_ZERO = 0.02  # "SPNet's unseen mIoU near zero"
TIMING_NAME = "compare_timing.json"  # wall time, date, code, machine of the timed invocation
JobCosts = dict[tuple[str, ...], float]


def cagnet_command(*words: str) -> list[str]:
    return [sys.executable, "-m", "cagnet.cli", *words]


def set_arguments(overrides: Sequence[str]) -> list[str]:
    return [word for override in overrides for word in ("--set", override)]


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def variant_names(job_costs: JobCosts) -> list[str]:
    """Every variant of the jobs, in the order the groups were written."""
    return [name for group in job_costs for name in group]


def balance(jobs: Sequence[tuple[float, object]], workers: int) -> list[list]:
    """Split (seconds, job) pairs over ``workers``: longest first onto the least loaded one."""
    loads, plans = [0.0] * workers, [[] for _ in range(workers)]
    for seconds, job in sorted(jobs, key=lambda pair: -pair[0]):
        worker = loads.index(min(loads))
        loads[worker] += seconds
        plans[worker].append(job)
    return plans


def shards(job_costs: JobCosts, seeds: Sequence[int], workers: int) -> list[list]:
    """(variants, seed) jobs per worker, longest first onto the least loaded worker."""
    jobs = [(job_costs[variants], (variants, seed)) for variants in job_costs for seed in seeds]
    return balance(jobs, workers)


def run_workers(plans: Sequence[Sequence[str]], output: Path, environment: dict) -> None:
    """Run each plan (shell commands, chained with &&) as one worker process at once, logging
    to ``output/worker<i>.log``; SystemExit naming the failed workers."""
    workers = []
    for index, plan in enumerate(plans):
        log = (output / f"worker{index}.log").open("w")
        workers.append(
            subprocess.Popen(" && ".join(plan), shell=True, env=environment, stdout=log, stderr=log)
        )
    failed = [index for index, worker in enumerate(workers) if worker.wait() != 0]
    if failed:
        raise SystemExit(f"worker(s) {failed} failed; see {output}/worker*.log")


def run_comparison(
    config: str,
    job_costs: JobCosts,
    args: argparse.Namespace,
    build_cache: bool,
) -> float:
    """Cache (optional), the workers' jobs, then one ``compare`` over everything (it skips the
    finished runs and writes results.csv/.md/.png). Returns the wall time in seconds."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    overrides = set_arguments(args.overrides)
    started = time.perf_counter()
    if build_cache:
        command = cagnet_command("cache", config, "--quiet", *overrides)
        subprocess.run(command, check=True, env=environment)
    plans = []
    for jobs in shards(job_costs, args.seeds, args.workers):
        script = []
        for variants, seed in jobs:
            words = cagnet_command("compare", config, "--variants", ",".join(variants))
            words += ["--seeds", str(seed), "--output", str(args.output), "--quiet"]
            script.append(shlex.join(words + overrides))
        plans.append(script)
    run_workers(plans, args.output, environment)
    variants = variant_names(job_costs)
    seeds = ",".join(str(seed) for seed in args.seeds)
    words = cagnet_command("compare", config, "--variants", ",".join(variants), "--seeds", seeds)
    words += ["--output", str(args.output), "--quiet", *overrides]
    subprocess.run(words, check=True, env=environment)
    return time.perf_counter() - started


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table: the header row, its separator, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def argument_parser(description: str, default_output: str) -> argparse.ArgumentParser:
    """The options every comparison script takes; a script may add its own before parsing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--output", type=Path, default=Path("runs") / default_output)
    parser.add_argument("--seeds", type=lambda t: [int(s) for s in t.split(",")], default=[0, 1, 2])
    parser.add_argument("--workers", type=int, choices=(1, 2), default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the RESULTS.md section from --output's finished comparison, no training",
    )
    return parser


def parse_arguments(description: str, default_output: str) -> argparse.Namespace:
    return argument_parser(description, default_output).parse_args()


def timed(config: str, job_costs: JobCosts, args: argparse.Namespace, build_cache: bool) -> dict:
    """Run the comparison (or, with --report-only, read the timing of the last one)."""
    args.output.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # machine() reports the workers' one thread each
    timing_path = args.output / TIMING_NAME
    if args.report_only:
        if not timing_path.is_file():
            raise SystemExit(
                f"--report-only: {timing_path} is missing, so {args.output} holds no timed "
                "comparison; run without --report-only first"
            )
        return json.loads(timing_path.read_text())
    measured = {"wall_s": run_comparison(config, job_costs, args, build_cache)}
    measured.update(date=today(), code=commit(), machine=machine())
    timing_path.write_text(json.dumps(measured, indent=1))
    return measured


def command_line(script: str, args: argparse.Namespace) -> str:
    words = ["python", f"benchmarks/{script}", "--output", str(args.output)]
    words += ["--seeds", ",".join(str(s) for s in args.seeds), "--workers", str(args.workers)]
    return shlex.join(words + set_arguments(args.overrides))


def read_results(path: Path) -> dict[str, list[dict[str, float]]]:
    """{variant: [one dict of metrics per seed]} from a comparison's results.csv."""
    runs = defaultdict(list)
    with path.open() as stream:
        for row in csv.DictReader(stream):
            metrics = {key: float(row[key]) for key, _ in COLUMNS}
            metrics["seed"] = int(row["seed"])
            runs[row["variant"]].append(metrics)
    return dict(runs)


def results_table(runs: dict[str, list[dict[str, float]]], variants: Sequence[str]) -> str:
    """Markdown: mean ± sample std over seeds per variant, then every seed's numbers."""
    header = "| method | seeds | " + " | ".join(title for _, title in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    for name in variants:
        group = runs.get(name, [])
        if not group:
            continue
        cells = []
        for key, _ in COLUMNS:
            mean, std = mean_std([run[key] for run in group])
            cells.append(f"{mean:.4f} ± {std:.4f}")
        seeds = ", ".join(str(run["seed"]) for run in group)
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
    lines += ["", "Per seed (hIoU / seen mIoU / unseen mIoU):", ""]
    for name in variants:
        for run in sorted(runs.get(name, []), key=lambda r: r["seed"]):
            lines.append(
                f"- {name} seed {run['seed']}: {run['hiou']:.4f} / {run['seen_miou']:.4f} / "
                f"{run['unseen_miou']:.4f}"
            )
    return "\n".join(lines)


def paired_wins(ours: list[dict], other: list[dict], key: str) -> tuple[int, int]:
    """On how many of the seeds both ran ``ours`` scored higher on ``key``, and of how many."""
    theirs = {run["seed"]: run[key] for run in other}
    shared = [run for run in ours if run["seed"] in theirs]
    return sum(run[key] > theirs[run["seed"]] for run in shared), len(shared)


def ordering(runs: dict[str, list[dict[str, float]]]) -> str:
    """Whether the paper's ordering holds on the means, one line per claim: CaGNet above ZS3Net
    and SPNet-c (and, where run, CaGNet-c above ZS3Net-c), SPNet's unseen mIoU near zero."""
    mean = {
        name: {key: mean_std([r[key] for r in group])[0] for key, _ in COLUMNS}
        for name, group in runs.items()
    }
    if not all(name in mean for name in ("spnet", "spnet-c", "zs3net", "cagnet")):
        return "- ordering: not checked (not every method finished)"
    pairs = [("cagnet", "zs3net"), ("cagnet", "spnet-c")]
    if "cagnet-c" in mean and "zs3net-c" in mean:
        pairs += [("cagnet-c", "zs3net-c"), ("cagnet-c", "spnet-c")]
    lines = []
    for key, title in (("unseen_miou", "unseen mIoU"), ("hiou", "hIoU")):
        for ours, other in pairs:
            holds = mean[ours][key] > mean[other][key]
            wins, seeds = paired_wins(runs[ours], runs[other], key)
            lines.append(
                f"- {ours}'s {title} above {other}'s: {'holds' if holds else 'does NOT hold'} "
                f"({mean[ours][key]:.4f} vs {mean[other][key]:.4f}; above on {wins} of "
                f"{seeds} seeds, paired by seed)"
            )
    spnet = mean["spnet"]["unseen_miou"]
    holds = spnet <= NEAR_ZERO
    lines.append(
        f"- SPNet's unseen mIoU near zero (<= {NEAR_ZERO}): "
        f"{'holds' if holds else 'does NOT hold'} ({spnet:.4f})"
    )
    return "\n".join(lines)


def section_body(
    script: str,
    args: argparse.Namespace,
    measured: dict,
    job_costs: JobCosts,
    config: str,
    data: str,
    analysis: str,
    appendix: str = "",
) -> str:
    """The RESULTS.md section of a finished comparison: how it ran, the mean ± std table, the
    ordering check, then ``analysis`` and ``appendix`` (Markdown).

    Args:
        config: how the command line names the config, e.g. "configs/camvid.yaml " (with its
            space) or "" for the demo's default.
        data: the data line: what was trained and evaluated on, what the cells are.
    """
    variants = variant_names(job_costs)
    runs = read_results(args.output / "results.csv")
    seeds = ",".join(str(s) for s in args.seeds)
    where = "" if config else " (the demo's config)"
    cache = ", features read from the cache built beforehand" if config else ""
    return (
        f"- date: {measured['date']}; code: {measured['code']}\n"
        f"- machine: {measured['machine']}; {args.workers} worker process(es) of 1 torch thread "
        "each\n"
        f"- command: `{command_line(script, args)}`, i.e. `cagnet compare {config}--variants "
        f"{','.join(variants)} --seeds {seeds} --output {args.output}`{where} split over the "
        "workers\n"
        f"- wall time: {measured['wall_s'] / 60:.1f} min ({measured['wall_s']:.0f} s) for the "
        f"whole comparison (3 methods x {len(args.seeds)} seeds, raw and calibrated: "
        f"{len(variants)} variants; the calibrations' proxy trainings and gamma sweeps "
        f"included{cache})\n"
        f"- data: {data}\n"
        f"- full reports: `{args.output}/results.md` (every metric, gamma per run), "
        "`results.csv` (per run)\n\n"
        + results_table(runs, variants)
        + "\n\nThe paper's ordering (on the means):\n\n"
        + ordering(runs)
        + f"\n\n{analysis}\n"
        + (f"\n{appendix}" if appendix else "")
    )
