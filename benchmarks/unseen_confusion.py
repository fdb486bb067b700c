"""Issue 4 diagnosis: which real pixels does each method send to the unseen classes?

Usage (from the repository root, after a comparison has run)::

    python benchmarks/unseen_confusion.py --output runs/embedded-compare-2 \
        --variants spnet-c,cagnet [--seeds 0,1,2] [--heading "..."]

Reads the confusion matrices that ``cagnet compare`` left in the run folders (``metrics.json``
for a raw variant, the ``calibrated`` entry of ``metrics-calibrated.json`` for a "-c" one),
sums them over the seeds and writes, per ground-truth class, the share of its pixels predicted
as itself and as each unseen class, plus each unseen class's nearest seen classes by the cosine
of their embedding rows (rebuilt from the run's saved config).
Nothing is trained; it runs in seconds. The table goes to the RESULTS.md section named by
``--heading`` with the date, machine and command.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
from results_file import commit, machine, today, update_section

from cagnet.build import build_embeddings
from cagnet.training.loop import read_run_config

DEFAULT_HEADING = "Embedded benchmark: where the unseen predictions come from (issue 4)"


def confusion_of(output: Path, variant: str, seed: int) -> tuple[np.ndarray, dict]:
    """(K, K) confusion (rows: ground truth) of one run and its metrics file's header."""
    method = variant.removesuffix("-c")
    folder = output / "runs" / method / f"seed{seed}"
    if variant.endswith("-c"):
        path = folder / "metrics-calibrated.json"
        metrics = json.loads(path.read_text())
        matrix = metrics["calibrated"]["confusion"]
    else:
        path = folder / "metrics.json"
        metrics = json.loads(path.read_text())
        matrix = metrics["confusion"]
    return np.asarray(matrix, dtype=np.float64), metrics


def embedding_rows(output: Path, variant: str, seed: int, names: list[str]) -> np.ndarray:
    """(K, d) unit-norm class embeddings the run was trained with, rebuilt from its config."""
    method = variant.removesuffix("-c")
    config = read_run_config(output / "runs" / method / f"seed{seed}")
    rows = build_embeddings(config, tuple(names)).numpy().astype(np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def class_table(confusion: np.ndarray, names: list[str], unseen: list[int]) -> str:
    """Markdown: per ground-truth class, the share predicted as itself and as each unseen class."""
    shares = confusion / np.maximum(confusion.sum(1, keepdims=True), 1.0)
    header = "| ground truth | | correct | " + " | ".join(f"-> {names[u]}" for u in unseen) + " |"
    lines = [header, "|---|---|---|" + "---|" * len(unseen)]
    for row, name in enumerate(names):
        marker = "unseen" if row in unseen else "seen"
        cells = " | ".join(f"{shares[row, u]:.2f}" for u in unseen)
        lines.append(f"| {name} | {marker} | {shares[row, row]:.2f} | {cells} |")
    seen = [k for k in range(len(names)) if k not in unseen]
    to_unseen = shares[np.ix_(seen, unseen)].sum(1)
    weights = confusion[seen].sum(1)
    lines.append("")
    lines.append(
        f"Seen pixels predicted as an unseen class: {np.average(to_unseen, weights=weights):.3f} "
        f"of all seen pixels; per seen class, mean {to_unseen.mean():.3f}, "
        f"max {to_unseen.max():.2f} ({names[seen[int(to_unseen.argmax())]]})."
    )
    return "\n".join(lines)


def nearest_seen(rows: np.ndarray, names: list[str], unseen: list[int], count: int = 3) -> str:
    """One line per unseen class: its ``count`` nearest seen classes by embedding cosine."""
    seen = [k for k in range(len(names)) if k not in unseen]
    lines = []
    for u in unseen:
        cosines = rows[seen] @ rows[u]
        order = np.argsort(-cosines)[:count]
        near = ", ".join(f"{names[seen[i]]} {cosines[i]:.2f}" for i in order)
        lines.append(f"- {names[u]}: {near}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="the comparison's folder")
    parser.add_argument("--variants", default="spnet-c,cagnet")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--heading", default=DEFAULT_HEADING)
    args = parser.parse_args()
    variants = args.variants.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    sections, names, unseen = [], None, None
    for variant in variants:
        total = None
        for seed in seeds:
            try:
                confusion, metrics = confusion_of(args.output, variant, seed)
            except FileNotFoundError as error:
                sys.exit(
                    f"{error.filename}: no metrics for {variant} seed {seed}; run the "
                    "comparison first or pass --seeds/--variants that it ran"
                )
            total = confusion if total is None else total + confusion
            names = metrics["class_names"]
            unseen = [names.index(u) for u in metrics["unseen_classes"]]
        title = f"### {variant} (confusions summed over seeds {args.seeds})"
        sections.append(title + "\n\n" + class_table(total, names, unseen) + "\n")
    rows = embedding_rows(args.output, variants[0], seeds[0], names)
    command = "python benchmarks/unseen_confusion.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    body = "\n".join(
        [
            f"- date: {today()}; code: {commit()}",
            f"- machine: {machine()}",
            f"- command: `{command}` (reads the runs of `{args.output}`; nothing trained)",
            "- cells: share of each ground-truth class's val pixels predicted as the column's "
            "class (rows sum to 1 over all classes; only the class itself and the unseen "
            "classes are shown)",
            "",
            "Nearest seen classes of each unseen class (cosine of the class embeddings):",
            "",
            nearest_seen(rows, names, unseen),
            "",
            *sections,
        ]
    )
    update_section(args.heading, body)
    print(body)


if __name__ == "__main__":
    main()
