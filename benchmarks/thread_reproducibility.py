"""Does the number of torch threads change the demo's numbers for the same seed?

Usage: python benchmarks/thread_reproducibility.py [--iterations 300] [--output DIR]

Trains the demo's config (shortened, evaluated on the first val images) with seed 0: twice
with 1 thread, twice with 2 threads, and with 2 threads and
``torch.use_deterministic_algorithms(True)``. Compares each run with the first (the logged
losses, the trained weights, hIoU) and writes the section "Same seed, other thread count
(issue 12)".
"""

import argparse
import csv
import json
from pathlib import Path

import torch
from results_file import commit, machine, today, update_section

from cagnet.cli import demo_config_path
from cagnet.config import load_config
from cagnet.training.checkpoint import CHECKPOINT_NAME
from cagnet.training.loop import train

SETTINGS = (
    ("1 thread", 1, False),
    ("1 thread, again", 1, False),
    ("2 threads", 2, False),
    ("2 threads, again", 2, False),
    ("2 threads, deterministic algorithms", 2, True),
)


def run(iterations: int, output: Path, threads: int, deterministic: bool) -> Path:
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
    overrides = [
        f"train.iterations={iterations}",
        f"train.pretrain_iterations={iterations // 2}",
        f"train.alternate_every={max(1, iterations // 6)}",
        "train.log_every=1",
        "eval.max_images=30",
        "eval.num_overlays=0",
        f"output_dir={output}",
    ]
    try:
        return train(load_config(demo_config_path(), overrides), progress=False).run_dir
    finally:
        torch.use_deterministic_algorithms(False)


def losses(folder: Path) -> list[dict[str, str]]:
    with (folder / "losses.csv").open() as stream:
        return list(csv.DictReader(stream))


def compare(first: Path, second: Path) -> tuple[int | None, float, float]:
    """First iteration whose logged losses differ, largest weight difference, hIoU difference."""
    differing = None
    for row_a, row_b in zip(losses(first), losses(second), strict=True):
        keys = [k for k in row_a if k.startswith(("loss_", "ft_loss_")) and row_a[k]]
        if any(row_a[k] != row_b[k] for k in keys):
            differing = int(row_a["iteration"])
            break
    weights_a = torch.load(first / CHECKPOINT_NAME, weights_only=False)["model"]
    weights_b = torch.load(second / CHECKPOINT_NAME, weights_only=False)["model"]
    largest = max(
        float((weights_a[k].float() - weights_b[k].float()).abs().max()) for k in weights_a
    )
    hiou = [json.loads((f / "metrics.json").read_text())["hiou"] for f in (first, second)]
    return differing, largest, abs(hiou[0] - hiou[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--output", type=Path, default=Path("runs/thread-reproducibility"))
    args = parser.parse_args()
    folders = {label: run(args.iterations, args.output, t, d) for label, t, d in SETTINGS}
    hious = {k: json.loads((f / "metrics.json").read_text())["hiou"] for k, f in folders.items()}
    reference = folders["1 thread"]
    table = (
        "| run | hIoU | first iteration whose losses differ from 1 thread | largest weight "
        "difference | hIoU difference |\n|---|---|---|---|---|\n"
    )
    for label, folder in folders.items():
        differing, largest, hiou_gap = compare(reference, folder)
        first = "none" if differing is None else str(differing)
        table += f"| {label} | {hious[label]:.4f} | {first} | {largest:.3g} | {hiou_gap:.4f} |\n"
    body = (
        f"- date: {today()}; code: {commit()}\n"
        f"- machine: {machine()}; shared VM\n"
        f"- command: `python benchmarks/thread_reproducibility.py --iterations "
        f"{args.iterations}`: the demo's config, seed 0, shortened to {args.iterations} "
        f"iterations (both phases), losses logged every iteration, evaluated on the first 30 val "
        f"images; once per row\n\n" + table
    )
    update_section("Same seed, other thread count (issue 12)", body)
    print(body)


if __name__ == "__main__":
    main()
