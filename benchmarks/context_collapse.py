"""Issue 9 diagnosis: does a CaGNet run's contextual latent code stay alive, and do the runs
whose code collapsed score differently?

Usage (from the repository root; each FOLDER is the ``--output`` of a finished ``cagnet
compare`` with CaGNet runs)::

    python benchmarks/context_collapse.py --compare LABEL=FOLDER [--compare ...] \\
        [--heading TEXT]

For every CaGNet run (the ``cagnet`` rows of results.csv), reads its losses.csv: ``mu_spread``
is the spread of the CM's mu over pixels, logged every ``train.log_every`` iterations of the
training step (the trainer warns when it collapses). A run counts as collapsed when most of its
logged values are below ``COLLAPSED`` (the code is then nearly the same for every pixel). One
row per run, next to its val scores, into the RESULTS.md section ``--heading``.
"""

import argparse
import csv
from pathlib import Path

from compare_runner import markdown_table
from results_file import today, update_section

HEADING = "Issue 9: CaGNet's contextual code by seed"
COLLAPSED = 0.01  # mu spread below this: z is nearly the same for every pixel


def mu_spreads(losses: Path) -> list[float]:
    """The logged mu_spread values of a run (rows without one, e.g. finetuning, skipped)."""
    with losses.open() as stream:
        return [float(row["mu_spread"]) for row in csv.DictReader(stream) if row["mu_spread"]]


def rows_of(label: str, folder: Path) -> list[list[str]]:
    """One table row per CaGNet run of a comparison folder."""
    rows = []
    with (folder / "results.csv").open() as stream:
        for run in csv.DictReader(stream):
            if run["variant"] != "cagnet":
                continue
            losses = Path(run["run_dir"]) / "losses.csv"
            spreads = mu_spreads(losses) if losses.is_file() else []
            if not spreads:
                raise SystemExit(f"{losses}: missing or without mu_spread values; is it a "
                                 "finished CaGNet run with its losses log?")  # fmt: skip
            low = sum(value < COLLAPSED for value in spreads)
            rows.append([
                label, run["seed"], f"{sum(spreads) / len(spreads):.3f}", f"{low}/{len(spreads)}",
                "yes" if low > len(spreads) / 2 else "no", f"{float(run['hiou']):.3f}",
                f"{float(run['seen_miou']):.3f}", f"{float(run['unseen_miou']):.3f}",
            ])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="append", required=True, help="LABEL=FOLDER")
    parser.add_argument("--heading", default=HEADING)
    args = parser.parse_args()
    rows = []
    for item in args.compare:
        label, _, folder = item.partition("=")
        if not (Path(folder) / "results.csv").is_file():
            raise SystemExit(f"--compare {item}: {folder}/results.csv is missing; give the "
                             "--output folder of a finished cagnet compare")  # fmt: skip
        rows += rows_of(label, Path(folder))
    header = ["runs", "seed", "mean mu spread", f"logged < {COLLAPSED}", "collapsed", "hIoU",
              "seen mIoU", "unseen mIoU"]  # fmt: skip
    command = "python benchmarks/context_collapse.py " + " ".join(
        f"--compare {item}" for item in args.compare
    )
    body = f"- date: {today()}\n- command: `{command}`\n\n" + markdown_table(header, rows)
    update_section(args.heading, body)
    print(body)


if __name__ == "__main__":
    main()
