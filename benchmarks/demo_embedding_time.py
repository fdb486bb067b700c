"""Issue 9: what the demo's class embeddings cost, as seconds per training iteration of a
shortened `cagnet demo`, one torch thread, GloVe-50 alone against GloVe-50 + MiniLM-384, read
by G at full width or in coordinates of the class rows' span (``model.generator_span``).

Usage: python benchmarks/demo_embedding_time.py [--iterations 80] [--repeats 2]
    [--output runs/demo-embedding-time]

The embeddings enter CaGNet's generator (G's first layer takes C + d inputs per pixel: 64 + 50
or 64 + 434; 64 + 16 in span coordinates, one per class of the 16), so a wider embedding
costs every training and finetuning step. Each setting is
timed ``--repeats`` times, alternating, on the same generated data (not timed); the fastest
repeat is kept. Writes the section "Issue 9: demo time by class embeddings" of RESULTS.md.
"""

import argparse
from importlib import resources
from pathlib import Path

from demo_threads import seconds_per_iteration, shortened_demo
from results_file import commit, machine, today, update_section

from cagnet.build import SYNTHETIC_EMBEDDINGS, prepare_dataset
from cagnet.cli import demo_config_path
from cagnet.config import load_config

ASSETS = resources.files("cagnet") / "assets"
GLOVE = f"embeddings.sources=[{ASSETS / SYNTHETIC_EMBEDDINGS}]"
SETTINGS = {  # label: overrides of the shortened demo (the config's own sources: GloVe + MiniLM)
    "GloVe-50 (the demo before issue 9)": [GLOVE, "model.generator_span=false"],
    "GloVe-50 + MiniLM-384, full width": ["model.generator_span=false"],
    "GloVe-50 + MiniLM-384, span coordinates": ["model.generator_span=true"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("runs/demo-embedding-time"))
    args = parser.parse_args()
    base = shortened_demo(args.iterations, args.output)
    prepare_dataset(load_config(demo_config_path(), base), progress=False)  # not timed
    times: dict[str, list[float]] = {label: [] for label in SETTINGS}
    for _ in range(args.repeats):
        for label, overrides in SETTINGS.items():
            times[label].append(seconds_per_iteration(base + overrides, threads=1))
    rows = "".join(
        f"| {label} | {' / '.join(f'{t:.3f}' for t in runs)} | {min(runs):.3f} | "
        f"{2000 * min(runs) / 60:.1f} |\n"
        for label, runs in times.items()
    )
    glove, full, span = (min(runs) for runs in times.values())
    body = (
        f"- date: {today()}; code: {commit()}\n"
        f"- machine: {machine()}; 1 torch thread\n"
        f"- command: `python benchmarks/demo_embedding_time.py --iterations {args.iterations} "
        f"--repeats {args.repeats}`: the demo's config shortened to {args.iterations} "
        "iterations (half pure training, then training and finetuning alternating), no "
        "evaluation, each setting timed in turn\n"
        f"- GloVe + MiniLM costs {full / glove:.2f}x GloVe alone per iteration at full width, "
        f"{span / glove:.2f}x in span coordinates\n\n"
        "| class embeddings | s / iteration per repeat | fastest | 2000 iterations (min) |\n"
        "|---|---|---|---|\n" + rows
    )
    update_section("Issue 9: demo time by class embeddings", body)
    print(body)


if __name__ == "__main__":
    main()
