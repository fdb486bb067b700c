"""Measure the floor of tests/test_learning.py: its config on several seeds, and broken.

Usage: python benchmarks/learning_floor.py [--seeds 0,1,2] [--output runs/learning-floor]
    [--only LABEL]   (rerun one run, e.g. --only "generator output zeroed"; the other rows stay)

Trains the learning test's config (``LEARNING_OVERRIDES``) once per seed, then twice on the
first seed with transfer broken on purpose: the unseen classes' embedding rows shuffled among
themselves (each unseen class generated from another's embedding), and the generator's
output zeroed. Rewrites the section "Learning test floor" of benchmarks/RESULTS.md with the
date, machine, command, unseen mIoU, hIoU and time of every run.
"""

import argparse
import contextlib
import resource
import sys
import time
from pathlib import Path
from unittest import mock

import torch
from results_file import RESULTS, commit, machine, today, update_section

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_learning import LEARNING_OVERRIDES, UNSEEN_MIOU_FLOOR, learning_metrics  # noqa: E402

import cagnet.training.loop as loop  # noqa: E402
from cagnet.data.synthetic import SYNTHETIC_CLASSES, SYNTHETIC_UNSEEN  # noqa: E402
from cagnet.models.generator import Generator  # noqa: E402


def shuffled_unseen_rows(*args, **kwargs) -> torch.Tensor:
    """build_embeddings with the unseen rows rolled by one among themselves."""
    rows = build_embeddings(*args, **kwargs).clone()
    unseen = [SYNTHETIC_CLASSES.index(name) for name in SYNTHETIC_UNSEEN]
    rows[unseen] = rows[unseen[1:] + unseen[:1]]
    return rows


def zero_generator(self, *inputs):
    """Generator.forward whose fake features are all zero (the training steps call G itself)."""
    return torch.zeros_like(forward(self, *inputs))


build_embeddings, forward = loop.build_embeddings, Generator.forward
HEADING = "Learning test floor"
BROKEN = {
    "unseen embedding rows shuffled": mock.patch.object(
        loop, "build_embeddings", shuffled_unseen_rows
    ),
    "generator output zeroed": mock.patch.object(Generator, "forward", zero_generator),
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(label: str, folder: Path, seed: int) -> str:
    wall, cpu = time.perf_counter(), cpu_seconds()
    metrics = learning_metrics(folder, seed)
    line = (
        f"| {label} | {seed} | {metrics['unseen']['miou']:.4f} | {metrics['hiou']:.4f} "
        f"| {metrics['seen']['miou']:.4f} | {time.perf_counter() - wall:.0f} "
        f"| {cpu_seconds() - cpu:.0f} |"
    )
    print(line, flush=True)
    return line


def _rows(heading: str) -> dict[tuple[str, str], str]:
    """The table rows already in the section, keyed by (run, seed)."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    marker = f"## {heading}\n"
    if marker not in text:
        return {}
    section = text[text.index(marker) :].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return {tuple(c.strip() for c in row.split("|")[1:3]): row for row in rows[1:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--output", type=Path, default=Path("runs/learning-floor"))
    parser.add_argument("--only", default="", help="rerun only this run (a label of the table)")
    parser.add_argument("--note", default="", help="a line for the section, e.g. why a rerun")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = _rows(HEADING) if args.only else {}
    runs = [("as in the test", s, None) for s in seeds]
    runs += [(f"broken: {label}", seeds[0], patch) for label, patch in BROKEN.items()]
    for label, seed, patch in runs:
        if args.only and args.only not in label:
            continue
        with patch or contextlib.nullcontext():
            folder = args.output / f"{label.split()[-1]}-seed{seed}"
            rows[label, str(seed)] = measured(label, folder, seed)
    note = f"- {args.note}\n" if args.note else ""
    body = (
        f"- date: {today()}; code: {commit()}\n"
        f"- machine: {machine()}; shared with other jobs (load average ~9 on 2 cores), so the\n"
        "  wall times are upper bounds and the CPU times are what one free core would take\n"
        f"- command: `python benchmarks/learning_floor.py --seeds {args.seeds}`\n{note}"
        f"- config: the demo's with `{' '.join(LEARNING_OVERRIDES)}`\n"
        f"- floor in tests/test_learning.py: unseen mIoU >= {UNSEEN_MIOU_FLOOR}\n\n"
        "| run | seed | unseen mIoU | hIoU | seen mIoU | wall (s) | CPU (s) |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows.values())
    )
    update_section(HEADING, body)


if __name__ == "__main__":
    main()
