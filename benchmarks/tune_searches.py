"""What the issue 9 scripts share about ``cagnet tune`` searches: reading their tune.json files
by method, scoring a configuration as its method ranks it, naming the pseudo-unseen classes,
and writing the section and the choices."""

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from results_file import update_section

from cagnet.atomic import atomic_write_text

# Overrides that only say where things are read and written, not what is trained.
PLACES = ("dataset.root=", "feature_cache.folder=", "train.log_every=", "train.checkpoint_every=",
          "eval.num_overlays=")  # fmt: skip


def read_searches(items: Sequence[str]) -> dict[str, list[dict]]:
    """``{method: [tune.json payload, ...]}`` from ``--tune METHOD=TUNE_DIR`` items, in order."""
    searches: dict[str, list[dict]] = defaultdict(list)
    for item in items:
        method, _, folder = item.partition("=")
        searches[method].append(json.loads((Path(folder) / "tune.json").read_text()))
    return searches


def key_of(method: str) -> str:
    """The run's score that ranks ``method``: calibrated for a "-c" method, else the raw one
    (``raw_hiou`` where the search calibrated, ``hiou`` where it did not)."""
    return "hiou" if method.endswith("-c") else "raw_hiou"


def hiou_of(run: dict, key: str) -> float:
    return run.get(key, run["hiou"])


def mean_score(row: dict, key: str) -> float:
    """A configuration's (a tune.json ``configurations`` row's) mean score over its seeds."""
    return sum(hiou_of(run, key) for run in row["runs"]) / len(row["runs"])


def pseudo_unseen_text(searches: dict[str, list[dict]]) -> str:
    """The first search's pseudo-unseen classes, e.g. "seed 0: sign, bicyclist; seed 1: ..."."""
    pseudo = next(iter(searches.values()))[0]["pseudo_unseen"]
    return "; ".join(f"seed {seed}: {', '.join(names)}" for seed, names in pseudo.items())


def publish(
    heading: str,
    body: str,
    choices: dict,
    path: Path | None,
    chosen: Sequence[str],
    note: str = "",
) -> None:
    """Write RESULTS.md's section ``heading``: ``body``, a "Chosen:" list of the ``chosen``
    lines (one per method), then ``note``; the choices (JSON) to ``path`` if given, atomically;
    and print them."""
    tail = "\n\nChosen:\n\n" + "\n".join(f"- {line}" for line in chosen)
    update_section(heading, body + tail + (f"\n\n{note}" if note else ""))
    text = json.dumps(choices, indent=1)
    if path:
        atomic_write_text(path, text)
    print(text)
