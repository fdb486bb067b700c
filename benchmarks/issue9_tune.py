"""Issue 9, item 6: the settings of every method chosen by ``cagnet tune`` on CamVid, into
RESULTS.md (section "Issue 9: settings chosen by cagnet tune").

Usage (from the repository root; each TUNE_DIR is the ``--output`` of one ``cagnet tune``)::

    python benchmarks/issue9_tune.py --tune cagnet=runs/t/cag-dil --tune cagnet=runs/t/cag-pca \\
        --tune spnet-c=runs/t/spc-dil ... [--note TEXT]

The ``cagnet tune`` commands themselves are listed in the section (``GRID_COMMANDS``): for
every method the same grid, features (the dilated stride-8 EfficientNet-Lite0, or its
hypercolumn, standardised and projected on its 256 leading principal components) x class
embeddings (GloVe-50, or GloVe-50 + MiniLM-384 concatenated), one seed. Several folders of a
method are read as one search; the best pseudo-unseen hIoU over all of them is the choice. The
SPNet row is the same runs as SPNet-c, scored without calibration.
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

from compare_runner import markdown_table
from results_file import machine, today, update_section

HEADING = "Issue 9: settings chosen by cagnet tune"
FEATURES = {
    "efficientnet_lite0_hypercolumn": "hypercolumn 496, standardised, PCA 256",
}
BASE = (
    "--set dataset.root=/work/shared/datasets/camvid --set feature_cache.folder=/work/feature_cache"
    " --set train.log_every=50 --set train.checkpoint_every=100000 --set eval.num_overlays=0"
)
HYPERCOLUMN = (
    "--set model.backbone.name=efficientnet_lite0_hypercolumn --set model.backbone.out_channels=496"
    " --set model.neck.standardize=true --set model.neck.kind=pca"
)
GRID = '--seeds 0 --grid "embeddings.sources=[glove,minilm],[glove]"'


def describe(payload: dict) -> str:
    """The features a search's base overrides select."""
    base = " ".join(payload["base_overrides"])
    for name, text in FEATURES.items():
        if name in base:
            return text
    return "dilated stride 8, 320 (configs/camvid.yaml)"


def rows_of(method: str, payloads: list[dict], raw: bool) -> tuple[list[list[str]], dict]:
    """Table rows of every configuration of ``payloads`` and the best one (by mean hIoU)."""
    entries = []
    for payload in payloads:
        for row in payload["configurations"]:
            runs = row["runs"]
            score = sum(r["raw_hiou" if raw else "hiou"] for r in runs) / len(runs)
            entries.append((score, payload, row))
    best = max(entries, key=lambda entry: entry[0])
    table = []
    for score, payload, row in entries:
        run = row["runs"][0]
        gamma = "" if raw or "gamma" not in run else f"{run['gamma']:.2f}"
        table.append(
            [
                method,
                describe(payload),
                " ".join(row["overrides"]).replace("embeddings.sources=", ""),
                f"{score:.4f}",
                "" if raw else f"{row['mean_seen_miou']:.4f}",
                "" if raw else f"{row['mean_unseen_miou']:.4f}",
                gamma,
                f"{row['seconds']:.0f}",
                "yes" if (payload, row) == (best[1], best[2]) else "",
            ]
        )
    chosen = {
        "features": describe(best[1]),
        "overrides": [*best[1]["base_overrides"], *best[2]["overrides"]],
        "score": best[0],
    }
    return table, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="append", required=True, help="method=TUNE_DIR")
    parser.add_argument("--note", default="", help="Markdown appended to the section")
    args = parser.parse_args()
    searches = defaultdict(list)
    for item in args.tune:
        method, _, folder = item.partition("=")
        searches[method].append(json.loads((Path(folder) / "tune.json").read_text()))
    header = ["method", "features", "embeddings", "hIoU (pseudo-unseen)", "seen mIoU",
              "unseen mIoU", "gamma", "time (s)", "chosen"]  # fmt: skip
    rows, choices = [], {}
    for method, payloads in searches.items():
        table, choices[method] = rows_of(method, payloads, raw=False)
        rows += table
        if method == "spnet-c":  # the same runs, raw scores: SPNet's own choice
            table, choices["spnet"] = rows_of("spnet (raw)", payloads, raw=True)
            rows += table
    pseudo = next(iter(searches.values()))[0]["pseudo_unseen"]
    hidden = ", ".join(f"seed {seed}: {', '.join(names)}" for seed, names in pseudo.items())
    commands = []
    for method, flags in (("cagnet", ""), ("spnet-c", "--set model.method=spnet --calibrate"),
                          ("zs3net", "--set model.method=zs3net")):  # fmt: skip
        for features, extra in (("dil", ""), ("pca", f" {HYPERCOLUMN}")):
            commands.append(
                f"cagnet tune configs/camvid.yaml $BASE{extra} {flags} --threads 1 --quiet "
                f"{GRID} --output runs/t/{method[:3]}-{features}".replace("  ", " ")
            )
    body = (
        f"- date: {today()}; machine: {machine()}\n"
        "- protocol: `cagnet tune` (issue 9, item 6): each configuration is trained with "
        f"pseudo-unseen seen classes hidden ({hidden}) "
        "on 80 % of the training images and scored by hIoU on the other 20 %, seen vs "
        "pseudo-unseen. Val is not read for the choice. One seed per configuration.\n"
        "- the same grid for every method: 2 features x 2 class embeddings = 4 configurations; "
        "schedules are the config's (not searched)\n"
        f"- `$BASE` = `{BASE}`\n\n"
        "```\n"
        + "\n".join(commands)
        + "\n```\n\n"
        + markdown_table(header, rows)
        + "\n\nChosen:\n\n"
        + "\n".join(
            f"- {m}: {c['features']}, `{' '.join(o for o in c['overrides'] if 'embeddings' in o)}`"
            f" (pseudo-unseen hIoU {c['score']:.4f})"
            for m, c in choices.items()
        )
        + (f"\n\n{args.note}" if args.note else "")
    )
    update_section(HEADING, body)
    print(json.dumps(choices, indent=1))


if __name__ == "__main__":
    main()
