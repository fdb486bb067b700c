"""Issue 9, item 4: every method's schedule (and its own loss knobs) chosen by ``cagnet tune`` on
two pseudo-unseen pairs, into RESULTS.md (section "Issue 9: schedules chosen by cagnet tune").

Usage (from the repository root; each TUNE_DIR is the ``--output`` of one ``cagnet tune``)::

    python benchmarks/issue9_schedule.py --tune cagnet=runs/s/cag-adv \\
        --tune cagnet=runs/s/cag-sched --tune spnet-c=runs/s/spc-sched ... \\
        --choices runs/s/choices.json [--note TEXT]

Each method starts from its choice of "Issue 9: settings chosen by cagnet tune" (features and
class embeddings: configs/camvid.yaml for CaGNet and SPNet-c, each search's ``--set`` for the
others) and gets 8 configurations, each trained with seeds 0 and 1, which hide two different
pairs of seen classes as pseudo-unseen: a choice must transfer to both. Several folders of a
method are read as one search; the best mean pseudo-unseen hIoU over all of them is the choice,
and ``--choices`` writes its full overrides for ``issue9_compare.py --settings``. A method
whose name ends in "-c" (SPNet-c, CaGNet-c) is ranked by its calibrated scores, any other by its
raw ones, so one calibrated search can serve both, e.g. ``--tune cagnet=D --tune cagnet-c=D``.
"""

import argparse
from pathlib import Path

from compare_runner import markdown_table
from results_file import machine, today
from tune_searches import (
    PLACES,
    hiou_of,
    key_of,
    mean_score,
    pseudo_unseen_text,
    publish,
    read_searches,
)

HEADING = "Issue 9: schedules chosen by cagnet tune"
# What configs/camvid.yaml said when these searches ran (commit 4efb579), for every key a
# search or issue9_compare.py's older defaults touch: written into each choice where the
# choice does not set the key, so that it stays what was tuned whatever the config says later.
SEARCHED_CONFIG = {
    "model.backbone.name": "efficientnet_lite0_hypercolumn",
    "model.backbone.out_channels": "496",
    "model.neck.standardize": "true",
    "model.neck.kind": "linear",
    "embeddings.sources": "[glove,minilm]",
    "model.detach_generator_input": "true",
    "loss.content": "mmd",
    "loss.reconstruction_weight": "50.0",
    "loss.adversarial_weight": "1.0",
    "zs3net.mmd_kernel_variances": "[2,5,10,20,40,80]",
    "train.iterations": "450",
    "train.pretrain_iterations": "226",
    "train.alternate_every": "25",
    "train.batch_size": "4",
    "train.unseen_ratio": "1:1",
    "train.lr_generator": "1.0e-3",
    "train.lr_heads": "1.0e-3",
    "zs3net.generator_iterations": "112",
    "zs3net.classifier_iterations": "112",
}


def table_rows(method: str, payloads: list[dict]) -> tuple[list[list[str]], dict]:
    """One table row per configuration, and the best one's full overrides and score."""
    key = key_of(method)
    entries = [
        (mean_score(row, key), payload, row)
        for payload in payloads
        for row in payload["configurations"]
    ]
    best = max(entries, key=lambda entry: entry[0])
    rows = []
    for score, _, row in entries:
        per_seed = " / ".join(f"{hiou_of(run, key):.3f}" for run in row["runs"])
        calibrated = key == "hiou" and "gamma" in row["runs"][0]
        gammas = " / ".join(f"{run['gamma']:.2f}" for run in row["runs"]) if calibrated else ""
        # A calibrated search stores seen and unseen mIoU at its gamma only.
        raw_of_calibrated = key == "raw_hiou" and "raw_hiou" in row["runs"][0]
        rows.append(
            [
                method,
                f"`{' '.join(row['overrides'])}`",
                per_seed,
                f"{score:.4f}",
                "" if raw_of_calibrated else f"{row['mean_seen_miou']:.3f}",
                "" if raw_of_calibrated else f"{row['mean_unseen_miou']:.3f}",
                gammas,
                f"{row['seconds']:.0f}",
                "yes" if row is best[2] else "",
            ]
        )
    tuned = [*best[1]["base_overrides"], *best[2]["overrides"]]
    keys = {override.partition("=")[0] for override in tuned}
    stated = [f"{k}={v}" for k, v in SEARCHED_CONFIG.items() if k not in keys]
    chosen = {"overrides": [*stated, *tuned], "score": best[0], "grid": best[2]["overrides"]}
    return rows, chosen


def base_of(payload: dict) -> str:
    """A search's own ``--set`` overrides, those that only say where things are left out."""
    kept = [o for o in payload["base_overrides"] if not o.startswith(PLACES)]
    return " ".join(kept) or "(configs/camvid.yaml as is)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="append", required=True, help="method=TUNE_DIR")
    parser.add_argument("--note", default="", help="Markdown appended to the section")
    parser.add_argument("--choices", type=Path, help="write each method's choice here (JSON)")
    args = parser.parse_args()
    searches = read_searches(args.tune)
    header = ["method", "configuration", "hIoU per seed", "mean hIoU", "seen mIoU",
              "unseen mIoU", "gamma per seed", "time (s)", "chosen"]  # fmt: skip
    rows, choices = [], {}
    for method, payloads in searches.items():
        table, choices[method] = table_rows(method, payloads)
        rows += table
    hidden = pseudo_unseen_text(searches)
    bases = {m: " ; ".join(dict.fromkeys(base_of(p) for p in ps)) for m, ps in searches.items()}
    body = (
        f"- date: {today()}; machine: {machine()}, one torch thread per run, 2 runs at a time\n"
        "- protocol: `cagnet tune --seeds 0,1` from each method's features and embeddings of "
        "the search above; every configuration is trained twice, hiding a different pair of "
        f"seen classes as pseudo-unseen ({hidden}) on 80 % of the training images, and scored "
        "by hIoU on the other 20 % (SPNet-c: calibrated, gamma chosen per run on those "
        "images). The choice is the best mean of the two. Val is not read.\n"
        "- the same effort for every method: 8 configurations x 2 seeds\n"
        "- each method's base (`--set` before the grid, one per search folder; dataset and "
        "cache places omitted):\n"
        + "\n".join(f"  - {m}: `{b}`" for m, b in bases.items())
        + "\n\n"
        + markdown_table(header, rows)
    )
    chosen = [
        f"{m}: `{' '.join(c['grid'])}` (mean pseudo-unseen hIoU {c['score']:.4f})"
        for m, c in choices.items()
    ]
    publish(HEADING, body, choices, args.choices, chosen, args.note)


if __name__ == "__main__":
    main()
