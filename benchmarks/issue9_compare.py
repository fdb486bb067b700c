"""Issue 9: SPNet, SPNet-c, ZS3Net and CaGNet on CamVid, each with its own tuned settings, over
seeds and unseen splits, into RESULTS.md.

Usage (from the repository root, CamVid at ../shared/datasets/camvid)::

    python benchmarks/issue9_compare.py --output runs/issue9-compare --seeds 0,1,2,3,4 \\
        --split car,pedestrian --split sidewalk,bicyclist [--workers 2] [--set key=value ...]
    python benchmarks/issue9_compare.py ... --report-only   # rewrite the section only

Every method starts from ``configs/camvid.yaml`` plus the settings in ``SETTINGS``: the inputs
every method gets (``INPUTS``: the same features and class embeddings) and the method's own
settings, each chosen with ``cagnet tune`` on pseudo-unseen seen classes of held-out training
images (the grids and scores are in RESULTS.md, "Issue 9: settings chosen by cagnet tune").
Nothing here reads val before the choice; val is what is reported.

For each split (``dataset.unseen``) and method, one ``cagnet compare`` folder
``OUTPUT/<split>/<method>``; jobs (a method, a seed) run on ``--workers`` processes of one torch
thread, longest first. The section "Issue 9: tuned comparison on CamVid" of RESULTS.md gets the
mean ± std per method and split, every seed, and the paired wins of CaGNet.
"""

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

from compare_runner import (
    argument_parser,
    cagnet_command,
    markdown_table,
    mean_std,
    paired_wins,
    read_results,
    set_arguments,
)
from results_file import commit, machine, today, update_section

HEADING = "Issue 9: tuned comparison on CamVid"
CONFIG = "configs/camvid.yaml"
# The same inputs for every method (issue 9, item 6).
INPUTS = (
    "model.backbone.name=efficientnet_lite0_hypercolumn",
    "model.backbone.out_channels=496",
    "model.neck.standardize=true",
    "model.neck.kind=pca",
    "embeddings.sources=[glove,minilm]",
)
# Each method's settings chosen by cagnet tune (RESULTS.md, "Issue 9: settings chosen by
# cagnet tune"); spnet-c calibrates the spnet run of the same seed.
SETTINGS: dict[str, tuple[str, ...]] = {
    "spnet": (),
    "zs3net": (),
    "cagnet": (),
}
VARIANTS = {"spnet": ("spnet", "spnet-c"), "zs3net": ("zs3net",), "cagnet": ("cagnet",)}
# Rough seconds per job (one torch thread), only to balance the workers.
JOB_SECONDS = {"spnet": 60.0, "zs3net": 60.0, "cagnet": 240.0}
REPORTED = ("spnet", "spnet-c", "zs3net", "cagnet")


def split_name(split: str) -> str:
    return split.replace(",", "-")


def overrides_of(method: str, split: str, extra: list[str]) -> list[str]:
    return [*INPUTS, *SETTINGS[method], f"dataset.unseen=[{split}]", *extra]


def jobs(splits: list[str], seeds: list[int]) -> list[tuple[float, str, str, int]]:
    """(seconds, split, method, seed), longest first."""
    every = [(JOB_SECONDS[m], s, m, seed) for s in splits for m in SETTINGS for seed in seeds]
    return sorted(every, key=lambda job: -job[0])


def compare_words(method: str, split: str, seeds: str, output: Path, extra: list[str]) -> list:
    folder = output / split_name(split) / method
    words = cagnet_command("compare", CONFIG, "--variants", ",".join(VARIANTS[method]))
    words += ["--seeds", seeds, "--output", str(folder), "--quiet"]
    return words + set_arguments(overrides_of(method, split, extra))


def run(args) -> float:
    """Every job on the workers, then one compare per (split, method) for its results.csv."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    loads, plans = [0.0] * args.workers, [[] for _ in range(args.workers)]
    for seconds, split, method, seed in jobs(args.split, args.seeds):
        worker = loads.index(min(loads))
        loads[worker] += seconds
        words = compare_words(method, split, str(seed), args.output, args.overrides)
        plans[worker].append(shlex.join(words))
    started = time.perf_counter()
    args.output.mkdir(parents=True, exist_ok=True)
    workers = []
    for index, plan in enumerate(plans):
        log = (args.output / f"worker{index}.log").open("w")
        workers.append(
            subprocess.Popen(" && ".join(plan), shell=True, env=environment, stdout=log, stderr=log)
        )
    failed = [index for index, worker in enumerate(workers) if worker.wait() != 0]
    if failed:
        raise SystemExit(f"worker(s) {failed} failed; see {args.output}/worker*.log")
    seeds = ",".join(str(seed) for seed in args.seeds)
    for split in args.split:
        for method in SETTINGS:
            words = compare_words(method, split, seeds, args.output, args.overrides)
            subprocess.run(words, check=True, env=environment)
    return time.perf_counter() - started


def split_runs(output: Path, split: str) -> dict[str, list[dict]]:
    runs = {}
    for method in SETTINGS:
        runs.update(read_results(output / split_name(split) / method / "results.csv"))
    return runs


def split_section(output: Path, split: str) -> str:
    runs = split_runs(output, split)
    rows = []
    for name in REPORTED:
        group = runs.get(name, [])
        if not group:
            continue
        cells = []
        for key in ("hiou", "seen_miou", "unseen_miou"):
            mean, std = mean_std([run[key] for run in group])
            cells.append(f"{mean:.4f} ± {std:.4f}")
        per_seed = " / ".join(f"{r['hiou']:.3f}" for r in sorted(group, key=lambda r: r["seed"]))
        rows.append([name, str(len(group)), *cells, per_seed])
    header = ["method", "seeds", "hIoU", "seen mIoU", "unseen mIoU", "hIoU per seed"]
    lines = [f"### Unseen {split.replace(',', ' and ')}", "", markdown_table(header, rows), ""]
    ours = runs.get("cagnet", [])
    for other in ("spnet-c", "zs3net", "spnet"):
        if ours and runs.get(other):
            for key, title in (("hiou", "hIoU"), ("unseen_miou", "unseen mIoU")):
                wins, shared = paired_wins(ours, runs[other], key)
                lines.append(f"- CaGNet's {title} above {other}'s on {wins} of {shared} seeds")
    return "\n".join(lines)


def main() -> None:
    parser = argument_parser(__doc__.splitlines()[0], "issue9-compare")
    parser.add_argument("--split", action="append", required=True, help="unseen classes a,b")
    args = parser.parse_args()
    timing = args.output / "issue9_timing.json"
    if args.report_only:
        measured = json.loads(timing.read_text())
    else:
        measured = {"wall_s": run(args), "date": today(), "code": commit(), "machine": machine()}
        timing.write_text(json.dumps(measured, indent=1))
    words = ["python", "benchmarks/issue9_compare.py", "--output", str(args.output)]
    words += ["--seeds", ",".join(str(s) for s in args.seeds), "--workers", str(args.workers)]
    words += [w for split in args.split for w in ("--split", split)]
    inputs = " ".join(f"--set {o}" for o in INPUTS)
    settings = "; ".join(
        f"{m}: `{' '.join('--set ' + o for o in s) or '(the config as is)'}`"
        for m, s in SETTINGS.items()
    )
    body = (
        f"- date: {measured['date']}; code: {measured['code']}\n"
        f"- machine: {measured['machine']}; {args.workers} worker process(es) of 1 torch "
        "thread each\n"
        f"- command: `{shlex.join(words + set_arguments(args.overrides))}`\n"
        f"- wall time: {measured['wall_s'] / 60:.1f} min for every split, method and seed "
        "(SPNet-c's calibration proxies included, the feature cache built beforehand)\n"
        f"- config: `{CONFIG}` with, for every method, `{inputs}`; then per method {settings}\n"
        "- data: CamVid train (367 images) for training, val (101) for the scores; cells are "
        "mean ± sample std over the seeds; SPNet-c's gamma is chosen on pseudo-unseen classes "
        "of held-out training images, never on val\n\n"
        + "\n\n".join(split_section(args.output, split) for split in args.split)
    )
    update_section(HEADING, body)
    print(f"wrote the section '{HEADING}' of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
