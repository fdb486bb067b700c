"""Issue 4: SPNet, SPNet-c, ZS3Net and CaGNet on CamVid over seeds, timed, into RESULTS.md.

Usage (from the repository root, with the CamVid copy at ../shared/datasets/camvid)::

    python benchmarks/camvid_compare.py [--output runs/camvid-compare] [--seeds 0,1,2]
        [--workers 2] [--set key=value ...]

What it runs, all timed together as the comparison's wall time:

1. ``cagnet cache configs/camvid.yaml``: the frozen EfficientNet-Lite0 features of every train
   and val image (seconds when ``data/feature_cache`` is already built; ~7 CPU-min otherwise).
2. With ``--workers 2``: two workers at once, one per core of the 2-core machine, each a
   chain of ``cagnet compare`` calls with one torch thread (``OMP_NUM_THREADS=1``) on its own
   (variants, seeds) groups (``SHARDS``), all writing their runs into the same ``--output``.
3. ``cagnet compare configs/camvid.yaml --variants spnet,spnet-c,zs3net,cagnet --seeds ...``,
   the whole comparison: it finds every run finished by the shards, skips it and writes
   results.csv/.md/.png over all of them. With ``--workers 1`` this step does all the work.

Then the section "CamVid comparison (issue 4)" of benchmarks/RESULTS.md is rewritten with the
date, machine, code commit, command, wall time, the mean ± std table and whether the paper's
ordering holds. Re-running with the same ``--output`` reuses finished runs (the recorded time is
then that of the re-run: use a fresh ``--output`` for a timing).
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
from pathlib import Path

import torch
from results_file import commit, machine, today, update_section

HEADING = "CamVid comparison (issue 4)"
CONFIG = "configs/camvid.yaml"
VARIANTS = ("spnet", "spnet-c", "zs3net", "cagnet")
# What each parallel worker runs: (variants, seeds) groups, one `cagnet compare` each, in
# order. Balanced by measured cost (one torch thread each, 2026-11-25): a CaGNet run ~175 s
# (its CM on 320-d features), SPNet ~14 s, SPNet-c ~32 s (a second SPNet training, the proxy,
# and a gamma sweep), ZS3Net ~20 s. A group's seeds missing from --seeds are skipped.
SHARDS = {
    2: (
        ((("cagnet",), (0, 1)),),
        ((("spnet", "spnet-c", "zs3net"), (0, 1, 2)), (("cagnet",), (2,))),
    ),
}
COLUMNS = (("hiou", "hIoU"), ("seen_miou", "seen mIoU"), ("unseen_miou", "unseen mIoU"))
COLUMNS += (("overall_miou", "mIoU"), ("unseen_pixel_accuracy", "unseen pixel acc."))
TIMING_NAME = "camvid_compare.json"  # wall time, date, code, machine of the run
NEAR_ZERO = 0.02  # "SPNet's unseen mIoU near zero"

# What was tried before this config was fixed, and on which split (the issue allows train and
# val; every choice below looked at val numbers, so the table is not a held-out test).
TUNING_INTRO = """\
How configs/camvid.yaml was chosen (2026-11-25). Every number below is one run of CaGNet,
seed 0, unless the row says otherwise, scored on CamVid **val**: the choices were made by
looking at val (which the issue allows; no other split was used), so the table above is not a
held-out test. With a seed-to-seed spread of
about ±0.05 hIoU, single-seed differences below ~0.05 are noise."""
# (run, change from the row above unless said, hIoU, unseen mIoU (car / pedestrian), note)
TUNING_RUNS = (
    (
        "0",
        "the feature-cache engineer's config: L2 content, batch 8, 300 it.",
        "0.011",
        "0.006 (0.000 / 0.011)",
        "car predicted as road",
    ),
    (
        "1",
        "loss.content=mmd, reconstruction_weight=50 (official)",
        "0.023",
        "0.012 (0.000 / 0.023)",
        "mu_spread swung 0 to 8.5; C on G's fakes at chance (loss 2.0)",
    ),
    ("2", "+ MMD sigmas 5..160, to match the features' scale", "NaN", "-", "diverged at ~100 it."),
    (
        "3",
        "run 2 + Adam for the CM (lr 1e-3), G and heads lr 2e-3",
        "-",
        "-",
        "KL exploded (2.7e4), mu collapsed; stopped",
    ),
    ("4", "run 1 + embeddings [glove, minilm]", "NaN", "-", "diverged at ~160 it."),
    (
        "5",
        "run 4 + model.detach_generator_input=true (official), lr_generator 1e-3",
        "0.027",
        "0.014 (0.010 / 0.018)",
        "stable; C on G's fakes 0.13",
    ),
    ("6", "run 5 with GloVe only", "0.039", "0.021 (0.012 / 0.029)", "kept: no extra dependency"),
    ("7", "run 5 + train.unseen_ratio=1:4", "0.039", "0.020 (0.011 / 0.030)", "no gain; kept 1:1"),
    (
        "8",
        "run 6 + batch 4 (3.5x faster per iteration on this CPU)",
        "0.054",
        "0.029 (0.038 / 0.021)",
        "",
    ),
    (
        "9",
        "run 8 + 450 iterations (226 pretraining)",
        "0.134",
        "0.080 (0.097 / 0.063)",
        "the config above",
    ),
    ("10", "run 9, seed 1", "0.060", "0.032 (0.056 / 0.008)", "the seed spread"),
    (
        "11",
        "run 8 + 600 iterations (300 pretraining)",
        "0.081",
        "0.045 (0.067 / 0.023)",
        "no better than run 9/10: kept the cheaper 450",
    ),
    (
        "Z",
        "ZS3Net, official kernel variances 2..80, seeds 0/1/2",
        "0.003 / 0.000 / 0.000",
        "0.002 / 0.000 / 0.000",
        "first full comparison (9.3 min)",
    ),
    (
        "Z'",
        "ZS3Net, kernel variances 200..8000, seeds 0/1",
        "0.053 / 0.026",
        "0.029 / 0.014",
        "kept for ZS3Net",
    ),
)

# Why the ordering does or does not hold, written after looking at the recorded runs.
ANALYSIS = """\
What the numbers say (2026-11-25, this config, 3 seeds):

- The paper's ordering holds **on the means only**. CaGNet's hIoU and unseen mIoU are above
  SPNet-c's by ~0.015 and ~0.01, far inside the seed-to-seed spread (std ~0.04 for both), so
  3 seeds do not separate them; above ZS3Net's by ~0.05 hIoU, about one std. The per-seed
  ranking changes from seed to seed (e.g. seed 0: CaGNet 0.134, SPNet-c 0.113; seed 2: CaGNet
  0.052, SPNet-c 0.034, ZS3Net 0.005).
- SPNet's unseen mIoU is **not** near zero (0.024 ± 0.021): seed 0 finds some cars (IoU 0.065),
  seed 2 some pedestrians (0.077), seed 1 none. With 9 seen classes and GloVe-50d class
  embeddings, an unseen class sometimes wins the projection scores without calibration.
- Every method is **far below** the prototype's hIoU 0.18 that the issue names (CaGNet 0.082 ±
  0.045): real car pixels go mostly to road, bicyclist and fence, pedestrians to building. In
  GloVe, car's nearest seen class is road (cosine 0.58) and pedestrian's is road (0.65).
  CaGNet's generator learns class-specific features (C's loss on them falls to 0.1-0.9 while
  training), but they do not land where the real unseen features are.
- ZS3Net with the official GMMN kernel variances (2..80) scored unseen mIoU 0.000-0.002 over 3
  seeds (first comparison, same code): its kernels are flat at these features' distances
  (33-80 apart). The variances 200..8000 in configs/camvid.yaml (chosen from the feature
  distances, checked on val with seeds 0 and 1) gave the ZS3Net row above.
- The schedule is CPU-sized (450 iterations at batch 4, ~3 min per CaGNet run on one core);
  the whole comparison used well under the 20-minute budget, but a 600-iteration CaGNet
  (seed 0: 0.081) was no better than 450 (seeds 0, 1: 0.134, 0.060), so longer training was
  not the missing piece within what was tried. Not tried (time): normalising the 320-d
  features (norm ~45; no config switch exists), other generator/head widths (the paper's 512 /
  256 were kept), the CM's learning rate, and MiniLM with the final schedule."""


def tuning_notes() -> str:
    """The record of what was tried, as Markdown."""
    lines = [TUNING_INTRO, "", "| run | change | hIoU | unseen mIoU (car / pedestrian) | note |"]
    lines.append("|---|---|---|---|---|")
    lines += ["| " + " | ".join(row) + " |" for row in TUNING_RUNS]
    return "\n".join(lines) + "\n"


def _cagnet(*words: str) -> list[str]:
    return [sys.executable, "-m", "cagnet.cli", *words]


def _sets(overrides: list[str]) -> list[str]:
    return [word for override in overrides for word in ("--set", override)]


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def read_results(path: Path) -> dict[str, list[dict[str, float]]]:
    """{variant: [one dict of metrics per seed]} from a comparison's results.csv."""
    runs = defaultdict(list)
    with path.open() as stream:
        for row in csv.DictReader(stream):
            metrics = {key: float(row[key]) for key, _ in COLUMNS}
            metrics["seed"] = int(row["seed"])
            runs[row["variant"]].append(metrics)
    return dict(runs)


def results_table(runs: dict[str, list[dict[str, float]]]) -> str:
    """Markdown: mean ± sample std over seeds per variant, then every seed's numbers."""
    header = "| method | seeds | " + " | ".join(title for _, title in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    for name in VARIANTS:
        group = runs.get(name, [])
        if not group:
            continue
        cells = []
        for key, _ in COLUMNS:
            mean, std = _mean_std([run[key] for run in group])
            cells.append(f"{mean:.4f} ± {std:.4f}")
        seeds = ", ".join(str(run["seed"]) for run in group)
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
    lines += ["", "Per seed (hIoU / seen mIoU / unseen mIoU):", ""]
    for name in VARIANTS:
        for run in sorted(runs.get(name, []), key=lambda r: r["seed"]):
            lines.append(
                f"- {name} seed {run['seed']}: {run['hiou']:.4f} / {run['seen_miou']:.4f} / "
                f"{run['unseen_miou']:.4f}"
            )
    return "\n".join(lines)


def ordering(runs: dict[str, list[dict[str, float]]]) -> str:
    """Whether the paper's ordering holds on the means, one line per claim."""
    mean = {
        name: {key: _mean_std([r[key] for r in group])[0] for key, _ in COLUMNS}
        for name, group in runs.items()
    }
    if not all(name in mean for name in VARIANTS):
        return "- ordering: not checked (not every method finished)"
    lines = []
    for key, title in (("unseen_miou", "unseen mIoU"), ("hiou", "hIoU")):
        for other in ("zs3net", "spnet-c"):
            holds = mean["cagnet"][key] > mean[other][key]
            lines.append(
                f"- CaGNet's {title} above {other}'s: {'holds' if holds else 'does NOT hold'} "
                f"({mean['cagnet'][key]:.4f} vs {mean[other][key]:.4f})"
            )
    spnet = mean["spnet"]["unseen_miou"]
    holds = spnet <= NEAR_ZERO
    lines.append(
        f"- SPNet's unseen mIoU near zero (<= {NEAR_ZERO}): "
        f"{'holds' if holds else 'does NOT hold'} ({spnet:.4f})"
    )
    return "\n".join(lines)


def run_comparison(args: argparse.Namespace) -> float:
    """Steps 1-3 of the module docstring; returns their wall time in seconds."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    seeds = ",".join(str(seed) for seed in args.seeds)
    common = ["--seeds", seeds, "--output", str(args.output), "--quiet", *_sets(args.overrides)]
    started = time.perf_counter()
    subprocess.run(
        _cagnet("cache", args.config, "--quiet", *_sets(args.overrides)),
        check=True,
        env=environment,
    )
    if args.workers > 1:
        workers = []
        for index, groups in enumerate(SHARDS[args.workers]):
            script = []
            for variants, group_seeds in groups:
                chosen = [str(s) for s in group_seeds if s in args.seeds]
                if not chosen:
                    continue
                words = _cagnet("compare", args.config, "--variants", ",".join(variants))
                words += ["--seeds", ",".join(chosen), "--output", str(args.output), "--quiet"]
                script.append(shlex.join(words + _sets(args.overrides)))
            log = (args.output / f"worker{index}.log").open("w")
            workers.append(
                subprocess.Popen(
                    " && ".join(script),
                    shell=True,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        failed = [index for index, worker in enumerate(workers) if worker.wait() != 0]
        if failed:
            raise SystemExit(f"worker(s) {failed} failed; see {args.output}/worker*.log")
        # The seeds no group names run in the final step below, one after the other.
    subprocess.run(
        _cagnet("compare", args.config, "--variants", ",".join(VARIANTS), *common),
        check=True,
        env=environment,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--output", type=Path, default=Path("runs") / "camvid-compare")
    parser.add_argument("--seeds", type=lambda t: [int(s) for s in t.split(",")], default=[0, 1, 2])
    parser.add_argument("--workers", type=int, choices=(1, 2), default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the RESULTS.md section from --output's finished comparison, no training",
    )
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # machine() reports the workers' one thread each
    timing_path = args.output / TIMING_NAME
    if args.report_only:
        measured = json.loads(timing_path.read_text())
    else:
        measured = {"wall_s": run_comparison(args), "date": today(), "code": commit()}
        measured["machine"] = machine()
        timing_path.write_text(json.dumps(measured, indent=1))
    wall_s = measured["wall_s"]
    runs = read_results(args.output / "results.csv")
    words = ["python", "benchmarks/camvid_compare.py", "--output", str(args.output)]
    words += ["--seeds", ",".join(str(s) for s in args.seeds), "--workers", str(args.workers)]
    words += _sets(args.overrides)
    if args.config != CONFIG:
        words += ["--config", args.config]
    body = (
        f"- date: {measured['date']}; code: {measured['code']}\n"
        f"- machine: {measured['machine']}; {args.workers} worker process(es) of 1 torch thread "
        "each\n"
        f"- command: `{shlex.join(words)}`, i.e. `cagnet compare {args.config} --variants "
        f"{','.join(VARIANTS)} --seeds {','.join(str(s) for s in args.seeds)} --output "
        f"{args.output}` split over the workers\n"
        f"- wall time: {wall_s / 60:.1f} min ({wall_s:.0f} s) for the whole comparison "
        f"({len(VARIANTS)} methods x {len(args.seeds)} seeds, SPNet-c's proxy training and "
        "gamma sweep included, features read from the cache built beforehand)\n"
        "- data: CamVid train (367 images) for training, val (101 images) for evaluation; "
        "unseen car and pedestrian; frozen EfficientNet-Lite0 features (stride 8); cells are "
        "mean ± sample std over the seeds\n"
        f"- full reports: `{args.output}/results.md` (every metric), `results.csv` (per run)\n\n"
        + results_table(runs)
        + "\n\nThe paper's ordering (on the means):\n\n"
        + ordering(runs)
        + "\n"
        + (f"\n{ANALYSIS}\n" if ANALYSIS else "")
        + "\n"
        + tuning_notes()
    )
    update_section(HEADING, body)
    print(body)


if __name__ == "__main__":
    main()
