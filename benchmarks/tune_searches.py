"""What the issue 9 scripts share about ``cagnet tune`` searches: reading their tune.json files
by method, naming the pseudo-unseen classes, and writing the section and the choices."""

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


def pseudo_unseen_text(searches: dict[str, list[dict]]) -> str:
    """The first search's pseudo-unseen classes, e.g. "seed 0: sign, bicyclist; seed 1: ..."."""
    pseudo = next(iter(searches.values()))[0]["pseudo_unseen"]
    return "; ".join(f"seed {seed}: {', '.join(names)}" for seed, names in pseudo.items())


def publish(heading: str, body: str, choices: dict, path: Path | None) -> None:
    """Write ``body`` as RESULTS.md's section ``heading``, the choices (JSON) to ``path`` if
    given, atomically, and print them."""
    update_section(heading, body)
    text = json.dumps(choices, indent=1)
    if path:
        atomic_write_text(path, text)
    print(text)
