"""Issue 9: SPNet, SPNet-c, ZS3Net and CaGNet on CamVid, each with its own tuned settings, over
seeds and unseen splits, into RESULTS.md.

Usage (from the repository root, CamVid at ../shared/datasets/camvid)::

    python benchmarks/issue9_compare.py --output runs/issue9-compare --seeds 0,1,2,3,4 \\
        --split car,pedestrian --split sidewalk,bicyclist --settings runs/t/choices.json
        [--workers 2] [--set key=value ...]
    python benchmarks/issue9_compare.py ... --report-only   # rewrite the section only

Every method starts from ``configs/camvid.yaml`` plus its own settings (``--settings``, the
``--choices`` file of ``issue9_tune.py``): every method had the same input options (features,
class embeddings) and grid size, and each took the configuration that ``cagnet tune`` scored
best on pseudo-unseen seen classes of held-out training images (the grids and scores are in
RESULTS.md, "Issue 9: settings chosen by cagnet tune"). Nothing here reads val before the
choice; val is what is reported.

For each split (``dataset.unseen``) and method, one ``cagnet compare`` folder
``OUTPUT/<split>/<method>``; jobs (a method, a seed) run on ``--workers`` processes of one torch
thread, longest first. The section "Issue 9: tuned comparison on CamVid" of RESULTS.md gets the
mean ± std per method and split, every seed, and the paired wins of CaGNet and CaGNet-c.
"""

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

from compare_runner import (
    argument_parser,
    balance,
    cagnet_command,
    markdown_table,
    mean_std,
    paired_wins,
    read_results,
    run_workers,
    set_arguments,
)
from results_file import commit, machine, today, update_section
from tune_searches import PLACES as WHERE

HEADING = "Issue 9: tuned comparison on CamVid"
CONFIG = "configs/camvid.yaml"
# Dropped from the tuned settings: where things are (the comparison's own --set gives them) and
# the method (each entry's variants give it).
PLACES = (*WHERE, "model.method=")
# One cagnet compare folder per entry, trained with that entry's own tuned settings: raw SPNet
# with raw SPNet's choice, SPNet-c (calibrating an SPNet run) with SPNet-c's; the same for CaGNet
# and CaGNet-c (calibrated CaGNet: SPNet-c's calibration applied to CaGNet's classifier).
METHODS = ("spnet", "spnet-c", "zs3net", "cagnet", "cagnet-c")
SETTINGS: dict[str, tuple[str, ...]] = {}  # filled from --settings
TUNED_CONFIG = {  # what configs/camvid.yaml said when the searches ran (commit 26fc011)
    "model.backbone.name": "efficientnet_lite0",
    "model.backbone.out_channels": "320",
    "model.neck.standardize": "false",
    "model.neck.kind": "none",
    "embeddings.sources": "[glove]",
    "model.detach_generator_input": "true",
    "loss.content": "mmd",
    "loss.reconstruction_weight": "50.0",
    "zs3net.mmd_kernel_variances": "[200,500,1000,2000,4000,8000]",
    "train.lr_heads": "1.0e-3",
}
VARIANTS = {
    "spnet": ("spnet",),
    "spnet-c": ("spnet", "spnet-c"),
    "zs3net": ("zs3net",),
    "cagnet": ("cagnet",),
    "cagnet-c": ("cagnet", "cagnet-c"),
}
# Rough seconds per job (one torch thread), only to balance the workers.
JOB_SECONDS = {"spnet": 40.0, "spnet-c": 90.0, "zs3net": 90.0, "cagnet": 200.0, "cagnet-c": 230.0}
OURS = ("cagnet", "cagnet-c")  # each compared seed by seed with every baseline


def split_name(split: str) -> str:
    return split.replace(",", "-")


def load_settings(path: Path) -> None:
    """Each method's overrides from issue9_tune.py's --choices file."""
    choices = json.loads(path.read_text())
    missing = [method for method in METHODS if method not in choices]
    if missing:
        raise SystemExit(f"{path} has no choice for {missing}: run issue9_schedule.py for them")
    for method in METHODS:
        kept = [o for o in choices[method]["overrides"] if not o.startswith(PLACES)]
        keys = {o.partition("=")[0] for o in kept}
        # The searches ran on configs/camvid.yaml as of 26fc011 (dilated F, no neck): stated
        # here, so that the settings stay what was tuned whatever the config now says.
        stated = [f"{k}={v}" for k, v in TUNED_CONFIG.items() if k not in keys]
        SETTINGS[method] = (*stated, *kept)


def overrides_of(method: str, split: str, extra: list[str]) -> list[str]:
    return [*SETTINGS[method], f"dataset.unseen=[{split}]", *extra]


def compare_words(method: str, split: str, seeds: str, output: Path, extra: list[str]) -> list:
    folder = output / split_name(split) / method
    words = cagnet_command("compare", CONFIG, "--variants", ",".join(VARIANTS[method]))
    words += ["--seeds", seeds, "--output", str(folder), "--quiet"]
    return words + set_arguments(overrides_of(method, split, extra))


def run(args) -> float:
    """Every job on the workers, then one compare per (split, method) for its results.csv."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    jobs = [
        (JOB_SECONDS[method], shlex.join(compare_words(method, split, str(seed), args.output,
                                                       args.overrides)))
        for split in args.split
        for method in METHODS
        for seed in args.seeds
    ]  # fmt: skip
    started = time.perf_counter()
    args.output.mkdir(parents=True, exist_ok=True)
    run_workers(balance(jobs, args.workers), args.output, environment)
    seeds = ",".join(str(seed) for seed in args.seeds)
    for split in args.split:
        for method in METHODS:
            words = compare_words(method, split, seeds, args.output, args.overrides)
            subprocess.run(words, check=True, env=environment)
    return time.perf_counter() - started


def split_runs(output: Path, split: str) -> dict[str, list[dict]]:
    """{variant: runs}, each variant read from its own folder (spnet-c's folder also holds
    the SPNet runs it calibrated, trained with SPNet-c's settings: not reported as SPNet)."""
    return {
        method: read_results(output / split_name(split) / method / "results.csv")[method]
        for method in METHODS
    }


def split_section(output: Path, split: str) -> str:
    runs = split_runs(output, split)
    rows = []
    for name in METHODS:
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
    for name in OURS:
        for other in ("spnet-c", "zs3net", "spnet"):
            if runs.get(name) and runs.get(other):
                for key, title in (("hiou", "hIoU"), ("unseen_miou", "unseen mIoU")):
                    wins, shared = paired_wins(runs[name], runs[other], key)
                    lines.append(f"- {name}'s {title} above {other}'s on {wins} of {shared} seeds")
    return "\n".join(lines)


def main() -> None:
    parser = argument_parser(__doc__.splitlines()[0], "issue9-compare")
    parser.add_argument("--split", action="append", required=True, help="unseen classes a,b")
    parser.add_argument("--settings", type=Path, required=True, help="issue9_tune.py --choices")
    args = parser.parse_args()
    load_settings(args.settings)
    timing = args.output / "issue9_timing.json"
    if args.report_only:
        measured = json.loads(timing.read_text())
    else:
        measured = {"wall_s": run(args), "date": today(), "code": commit(), "machine": machine()}
        timing.write_text(json.dumps(measured, indent=1))
    words = ["python", "benchmarks/issue9_compare.py", "--output", str(args.output)]
    words += ["--seeds", ",".join(str(s) for s in args.seeds), "--workers", str(args.workers)]
    words += [w for split in args.split for w in ("--split", split)]
    words += ["--settings", str(args.settings)]
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
        f"- config: `{CONFIG}` with, per method, the settings chosen by cagnet tune: {settings}\n"
        "- data: CamVid train (367 images) for training, val (101) for the scores; cells are "
        "mean ± sample std over the seeds; SPNet-c's gamma is chosen on pseudo-unseen classes "
        "of held-out training images, never on val\n\n"
        + "\n\n".join(split_section(args.output, split) for split in args.split)
    )
    update_section(HEADING, body)
    print(f"wrote the section '{HEADING}' of benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
