"""Issue 9, item 3 on CamVid: MiniLM on one-line class descriptions against each method's chosen
class embeddings, by ``cagnet tune`` on two pseudo-unseen pairs, into RESULTS.md (section
"Issue 9: class descriptions chosen by cagnet tune").

Usage (from the repository root; each TUNE_DIR is the ``--output`` of one ``cagnet tune``)::

    python benchmarks/issue9_descriptions.py --previous runs/s/choices.json \\
        --tune cagnet=runs/d/cagnet --tune spnet-c=runs/d/spnet-c ... \\
        --choices runs/d/choices.json [--note TEXT]

Each method starts from its choice in ``--previous`` (the ``--choices`` of issue9_schedule.py)
and gets the same 2 new configurations of ``embeddings.sources``, each trained with seeds 0 and
1 as in the schedule search, so that their mean pseudo-unseen hIoU is comparable with the
previous choice's (same seeds, same held-out images; runs are deterministic). The previous
choice stays unless a new configuration scores higher; ``--choices`` writes every method's
choice, fully stated, for ``issue9_compare.py --settings``. Val is not read.
"""

import argparse
import json
from pathlib import Path

from compare_runner import markdown_table
from results_file import machine, today
from tune_searches import hiou_of, key_of, mean_score, pseudo_unseen_text, publish, read_searches

HEADING = "Issue 9: class descriptions chosen by cagnet tune"
KEY = "embeddings.sources"


def value_of(overrides: list[str], key: str) -> str:
    """The last value that ``overrides`` gives ``key`` (the one a run uses)."""
    values = [o.partition("=")[2] for o in overrides if o.partition("=")[0] == key]
    if not values:
        raise SystemExit(f"the previous choice states no {key}: rerun issue9_schedule.py")
    return values[-1]


def method_rows(method: str, previous: dict, payloads: list[dict]) -> tuple[list, dict]:
    """The previous choice's row, then one row per new configuration, and the best one."""
    key = key_of(method)
    rows = [[method, f"`{value_of(previous['overrides'], KEY)}` (previous choice)", "",
             f"{previous['score']:.4f}", "", ""]]  # fmt: skip
    best_score, best_value, best_row = previous["score"], None, 0
    for payload in payloads:
        for row in payload["configurations"]:
            score = mean_score(row, key)
            value = value_of(row["overrides"], KEY)
            per_seed = " / ".join(f"{hiou_of(run, key):.3f}" for run in row["runs"])
            rows.append([method, f"`{value}`", per_seed, f"{score:.4f}",
                         f"{row['seconds']:.0f}", ""])  # fmt: skip
            if score > best_score:
                best_score, best_value, best_row = score, value, len(rows) - 1
    rows[best_row][-1] = "yes"
    if best_value is None:
        return rows, previous
    kept = [o for o in previous["overrides"] if o.partition("=")[0] != KEY]
    grid = [*previous["grid"], f"{KEY}={best_value}"]
    return rows, {"overrides": [*kept, f"{KEY}={best_value}"], "score": best_score, "grid": grid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", type=Path, required=True, help="issue9_schedule choices")
    parser.add_argument("--tune", action="append", required=True, help="method=TUNE_DIR")
    parser.add_argument("--note", default="", help="Markdown appended to the section")
    parser.add_argument("--choices", type=Path, help="write each method's choice here (JSON)")
    args = parser.parse_args()
    previous = json.loads(args.previous.read_text())
    searches = read_searches(args.tune)
    missing = [method for method in searches if method not in previous]
    if missing:
        raise SystemExit(f"{args.previous} has no choice for {missing}: run issue9_schedule.py")
    choices = dict(previous)
    rows = []
    for method, payloads in searches.items():
        table, choices[method] = method_rows(method, previous[method], payloads)
        rows += table
    header = ["method", "embeddings.sources", "hIoU per seed", "mean hIoU", "time (s)", "chosen"]
    body = (
        f"- date: {today()}; machine: {machine()}, one torch thread per run, 2 runs at a time\n"
        "- protocol: `cagnet tune --seeds 0,1` from each method's choice of the schedule "
        f"search above, the same two pseudo-unseen pairs ({pseudo_unseen_text(searches)}) on "
        "80 % of the training images, scored by hIoU on the other 20 % (calibrated for "
        "SPNet-c and CaGNet-c, raw otherwise). The previous choice's score is that search's. "
        "Val is not read.\n"
        "- the same effort for every method: 2 new configurations x 2 seeds, the class "
        "descriptions of `configs/descriptions/camvid.yaml` (written once, before any run "
        "used them) embedded by MiniLM, alone or concatenated with GloVe-50\n\n"
        + markdown_table(header, rows)
    )
    chosen = [
        f"{m}: `{value_of(c['overrides'], KEY)}` (mean pseudo-unseen hIoU {c['score']:.4f})"
        for m, c in choices.items()
    ]
    publish(HEADING, body, choices, args.choices, chosen, args.note)


if __name__ == "__main__":
    main()
