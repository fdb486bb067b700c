"""Issue 9, items 1, 2 and 5: feature cost, per-iteration cost and hIoU of each feature / neck.

Usage (from the repository root, one torch thread, CamVid at /work/shared/datasets/camvid)::

    python benchmarks/issue9_features.py cost [--images 10]
    python benchmarks/issue9_features.py runs --variants old,hc-linear --seeds 0 [--output DIR]
    python benchmarks/issue9_features.py table --output DIR

``cost`` times, per 480x360 image, F of the dilated EfficientNet-Lite0 and of its hypercolumn
(CPU seconds), and one CaGNet training step (E cached: neck + CM + G + heads) at the
config's crop and batch for each neck choice, and one end-to-end step (E trained, crop
``--e2e-crop``). ``runs`` trains each variant of ``VARIANTS`` per seed with ``cagnet train
configs/camvid.yaml`` and keeps its run folder; ``table`` writes their metrics and times into
benchmarks/RESULTS.md (section "Issue 9: features, neck, standardisation (i9a)"), with the
cost table of the last ``cost`` run (``DIR/cost.json``).
"""

import argparse
import csv
import json
import math
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch
from results_file import commit, machine, today, update_section

CONFIG = "configs/camvid_issue4.yaml"
SECTION = "Issue 9: features, neck, standardisation (i9a)"
COMMON = ["dataset.root=/work/shared/datasets/camvid", "feature_cache.folder=/work/feature_cache"]
HYPERCOLUMN = [
    "model.backbone.name=efficientnet_lite0_hypercolumn",
    "model.backbone.out_channels=496",
]
VARIANTS: dict[str, list[str]] = {
    "old": [],  # configs/camvid.yaml as committed: dilated stride-8 F, 320 channels
    "old-std": ["model.neck.standardize=true"],
    "hc": [*HYPERCOLUMN, "model.neck.standardize=true"],
    "hc-linear": [*HYPERCOLUMN, "model.neck.standardize=true", "model.neck.kind=linear"],
    "hc-aspp": [*HYPERCOLUMN, "model.neck.standardize=true", "model.neck.kind=aspp"],
    # The paper's gradient path: L_REC reaches the CM through z.
    "old-grad": ["model.detach_generator_input=false", "train.log_every=5"],
    "hc-linear-grad": [
        *HYPERCOLUMN,
        "model.neck.standardize=true",
        "model.neck.kind=linear",
        "model.detach_generator_input=false",
        "train.log_every=5",
    ],
    "old-grad-clip": [
        "model.detach_generator_input=false",
        "train.log_every=5",
        "train.grad_clip=10",
    ],
    "old-grad-bound": [
        "model.detach_generator_input=false",
        "train.log_every=5",
        "model.contextual.logvar_bound=4",
    ],
    # Item 5: E trained end to end (no cache) at the same 160-pixel crop, paper's gradient path.
    "e2e-hc-linear-grad": [
        *HYPERCOLUMN,
        "model.neck.standardize=true",
        "model.neck.kind=linear",
        "model.neck.statistics_images=60",
        "model.detach_generator_input=false",
        "model.backbone.freeze=false",
        "feature_cache.enabled=false",
        "train.log_every=5",
    ],
}


def load(overrides: list[str]):
    from cagnet.config import load_config

    return load_config(Path(CONFIG), [*COMMON, *overrides])


def feature_cost(images: int) -> dict[str, float]:
    """CPU seconds per 480x360 image of F, dilated and hypercolumn (eval mode, no grad)."""
    from cagnet.build import build_data
    from cagnet.data.transforms import to_tensors
    from cagnet.models.backbones import build_backbone

    data = build_data(load([]))
    batch = [to_tensors(data.val[i])[0][None] for i in range(images)]
    costs = {}
    for name, overrides in (
        ("dilated (efficientnet_lite0, 320 ch)", []),
        ("hypercolumn (496 ch)", HYPERCOLUMN),
    ):
        backbone = build_backbone(load(overrides).model.backbone).eval()
        with torch.no_grad():
            backbone(batch[0])  # warm-up
            start = time.process_time()
            for image in batch:
                backbone(image)
        costs[name] = (time.process_time() - start) / images
    return costs


def step_cost(variant: str, steps: int, end_to_end_crop: int = 0) -> float:
    """CPU seconds of one CaGNet training step of ``variant`` on random cached-size inputs
    (or, with ``end_to_end_crop``, on images with E trained)."""
    from cagnet.methods.cagnet import build_cagnet
    from cagnet.training.optim import build_optimizers
    from cagnet.training.steps import Replicas, training_step

    overrides = list(VARIANTS[variant])
    if end_to_end_crop:
        overrides += ["model.backbone.freeze=false", "feature_cache.enabled=false"]
    config = load(overrides)
    torch.manual_seed(0)
    model = build_cagnet(config, torch.randn(11, 50))
    backbone = model.encoder.backbone
    batch = config.train.batch_size
    if end_to_end_crop:
        crop = end_to_end_crop
        inputs = torch.randn(batch, 3, crop, crop)
    else:
        from cagnet.models.backbones.precomputed import PrecomputedBackbone

        model.encoder.backbone = PrecomputedBackbone(backbone)
        crop = config.augment.crop_size
        size = math.ceil(crop / backbone.output_stride)
        inputs = torch.randn(batch, backbone.out_channels, size, size)
    labels = torch.randint(0, 9, (batch, crop, crop))
    optimizers = build_optimizers(model, config.train)
    replicas = Replicas(model, model.encoder, model.generator, model.heads)
    model.train()
    training_step(replicas, optimizers, inputs, labels, config.loss)  # warm-up
    start = time.process_time()
    for _ in range(steps):
        training_step(
            replicas,
            optimizers,
            inputs,
            labels,
            config.loss,
            detach_generator_input=config.model.detach_generator_input,
        )
    return (time.process_time() - start) / steps


def command_cost(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    result = {"features": feature_cost(args.images), "steps": {}, "images": args.images}
    for variant in ("old", "hc", "hc-linear", "hc-aspp"):
        result["steps"][variant] = step_cost(variant, args.steps)
    result["steps"][f"end-to-end old, crop {args.e2e_crop}"] = step_cost(
        "old", max(2, args.steps // 5), args.e2e_crop
    )
    result["steps"][f"end-to-end hc-linear, crop {args.e2e_crop}"] = step_cost(
        "hc-linear", max(2, args.steps // 5), args.e2e_crop
    )
    result.update(date=today(), code=commit(), machine=machine(), command=shlex.join(sys.argv))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "cost.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


def command_runs(args: argparse.Namespace) -> None:
    args.output.mkdir(parents=True, exist_ok=True)
    for variant in args.variants.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            run_dir = args.output / f"{variant}-seed{seed}"
            if (run_dir / "metrics.json").exists():
                continue
            extra = args.set or []
            overrides = [*COMMON, *VARIANTS[variant], *extra, f"seed={seed}"]
            command = [sys.executable, "-m", "cagnet.cli", "train", CONFIG, "--quiet"]
            command += [w for o in overrides for w in ("--set", o)] + ["--run-dir", str(run_dir)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.time()
            code = subprocess.run(command).returncode
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            timing = {
                "variant": variant,
                "seed": seed,
                "extra": extra,
                "returncode": code,
                "wall_s": time.time() - start,
                "cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
                "command": shlex.join(command),
                "date": today(),
                "code": commit(),
            }
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "timing.json").write_text(json.dumps(timing, indent=1))
            print(variant, seed, timing["wall_s"], flush=True)


def _nonfinite(run_dir: Path) -> str:
    """The first logged iteration with a non-finite loss, or ''."""
    path = run_dir / "losses.csv"
    if not path.exists():
        return ""
    with path.open() as stream:
        for row in csv.DictReader(stream):
            for key, value in row.items():
                if key.startswith("loss_") and value and not math.isfinite(float(value)):
                    return row.get("iteration", "?")
    return ""


def command_table(args: argparse.Namespace) -> None:
    lines = [f"- machine: {machine()}; shared with other jobs (load ~4-8 on 2 cores)"]
    cost_file = args.output / "cost.json"
    if cost_file.exists():
        cost = json.loads(cost_file.read_text())
        lines += [
            "",
            f"Cost (`{cost['command']}`, {cost['date']}, code {cost['code']}), CPU seconds:",
            "",
            "| what | CPU-s |",
            "|---|---|",
        ]
        for name, value in cost["features"].items():
            lines.append(f"| F per 480x360 image, {name} | {value:.3f} |")
        for name, value in cost["steps"].items():
            lines.append(f"| one CaGNet training step, {name} | {value:.3f} |")
    rows, used = [], set()
    for timing_file in sorted(args.output.glob("*/timing.json")):
        timing = json.loads(timing_file.read_text())
        run_dir = timing_file.parent
        used.add(timing["variant"])
        metrics_file = run_dir / "metrics.json"
        metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
        scores = {"hiou": metrics.get("hiou")}
        for part in ("seen", "unseen"):
            scores[f"{part}_miou"] = metrics.get(part, {}).get("miou")
        config = load(VARIANTS[timing["variant"]] + timing["extra"])
        iterations = config.train.iterations
        rows.append(
            f"| {timing['variant']} {' '.join(timing['extra'])} | {timing['seed']} | "
            + " | ".join(
                f"{scores[k]:.4f}" if isinstance(scores.get(k), float) else "-"
                for k in ("hiou", "seen_miou", "unseen_miou")
            )
            + f" | {timing['wall_s']:.0f} | {timing['cpu_s']:.0f} | "
            + f"{timing['cpu_s'] / iterations:.3f} | "
            + f"{_nonfinite(run_dir) or 'no'} |"
        )
    if rows:
        lines += [
            "",
            f"Runs (`python benchmarks/issue9_features.py runs ...`, code and command per run "
            f"in `{args.output}/*/timing.json`; CamVid val, 101 images, unseen car and "
            "pedestrian; CPU-s per iteration includes the cache read, statistics and the "
            "final evaluation):",
            "",
            "| variant | seed | hIoU | seen mIoU | unseen mIoU | wall s | CPU-s | CPU-s / it "
            "| NaN at |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Variants (overrides of `configs/camvid.yaml`, besides dataset.root and "
            "feature_cache.folder):",
            "",
            *(f"- {name}: `{' '.join(VARIANTS[name]) or '(none)'}`" for name in sorted(used)),
        ]
    update_section(
        SECTION,
        "\n".join(lines) + "\n\n" + args.notes.read_text() if args.notes else "\n".join(lines),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cost = sub.add_parser("cost")
    cost.add_argument("--images", type=int, default=10)
    cost.add_argument("--steps", type=int, default=10)
    cost.add_argument("--e2e-crop", type=int, default=160)
    runs = sub.add_parser("runs")
    runs.add_argument("--variants", default="old,hc-linear")
    runs.add_argument("--seeds", default="0")
    runs.add_argument("--set", action="append", help="extra override for every run")
    table = sub.add_parser("table")
    table.add_argument("--notes", type=Path, help="markdown appended to the section")
    for sub_parser in (cost, runs, table):
        sub_parser.add_argument("--output", type=Path, default=Path("/work/runs/i9a/bench"))
    args = parser.parse_args()
    {"cost": command_cost, "runs": command_runs, "table": command_table}[args.command](args)


if __name__ == "__main__":
    main()
