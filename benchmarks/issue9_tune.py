"""Issue 9, item 6: the settings of every method chosen by ``cagnet tune`` on CamVid, into
RESULTS.md (section "Issue 9: settings chosen by cagnet tune").

Usage (from the repository root; each TUNE_DIR is the ``--output`` of one ``cagnet tune``)::

    python benchmarks/issue9_tune.py --tune cagnet=runs/t/cag-dil --tune cagnet=runs/t/cag-pca \\
        --tune spnet-c=runs/t/spc-dil ... [--note TEXT]

The ``cagnet tune`` commands themselves are ``SEARCHES``, listed in the section: for every
method 8 configurations, one seed each: 3 features (the dilated stride-8 EfficientNet-Lite0;
its hypercolumn, standardised, then projected to 256 channels by a frozen PCA or by a trained
1x1 conv) x 2 class embeddings (GloVe-50; GloVe-50 + MiniLM-384 concatenated), and 2 on the
method's own knobs. Several folders of a method are read as one search; the best pseudo-unseen
hIoU over all of them is the choice. The SPNet row is the same runs as SPNet-c, scored without
calibration.
"""

import argparse
from pathlib import Path

import torch
from compare_runner import markdown_table
from results_file import machine, today
from tune_searches import pseudo_unseen_text, publish, read_searches

HEADING = "Issue 9: settings chosen by cagnet tune"
FEATURES = {  # what a search's base overrides select, the first match wins
    "model.neck.kind=pca": "hypercolumn 496, standardised, PCA 256 (frozen)",
    "model.neck.kind=linear": "hypercolumn 496, standardised, 1x1 conv to 256 (trained)",
}
BASE = (
    "--set dataset.root=/work/shared/datasets/camvid --set feature_cache.folder=/work/feature_cache"
    " --set train.log_every=50 --set train.checkpoint_every=100000 --set eval.num_overlays=0"
)
HC = (
    "--set model.backbone.name=efficientnet_lite0_hypercolumn --set model.backbone.out_channels=496"
    " --set model.neck.standardize=true"
)
EMBEDDINGS = '--grid "embeddings.sources=[glove,minilm],[glove]"'
GM = '--set "embeddings.sources=[glove,minilm]"'
SPNET_C = "--set model.method=spnet --calibrate"
ZS3NET = "--set model.method=zs3net"
# Every search run (each: cagnet tune configs/camvid.yaml $BASE ... --threads 1 --quiet
# --seeds 0 --output runs/t/NAME): 8 configurations per method, in 4 searches of 2.
SEARCHES = {
    "cag-dil": EMBEDDINGS,
    "cag-pca": f"$HC --set model.neck.kind=pca {EMBEDDINGS}",
    "cag-hc-short": f"$HC --set model.neck.kind=linear {EMBEDDINGS}",
    "cag-pca-grad": f"$HC --set model.neck.kind=pca {GM} --set model.detach_generator_input=false"
    ' --set train.grad_clip=10 --grid "loss.content&loss.reconstruction_weight=mmd&50,l2&10"',
    "spc-dil": f"{SPNET_C} {EMBEDDINGS}",
    "spc-pca": f"$HC --set model.neck.kind=pca {SPNET_C} {EMBEDDINGS}",
    "spc-lin": f"$HC --set model.neck.kind=linear {SPNET_C} {EMBEDDINGS}",
    # train.lr moves E and the neck only: frozen E and the PCA neck have no parameters, so both
    # runs equal the base rate's to the last digit; the search on the heads' rate replaced it.
    "spc-pca-lr": f'$HC --set model.neck.kind=pca {GM} {SPNET_C} --grid "train.lr=1.25e-4,5.0e-4"',
    "spc-pca-lrh": f"$HC --set model.neck.kind=pca {GM} {SPNET_C} "
    '--grid "train.lr_heads=5.0e-4,2.0e-3"',
    "zs3-dil": f"{ZS3NET} {EMBEDDINGS}",
    "zs3-pca": f"$HC --set model.neck.kind=pca {ZS3NET} {EMBEDDINGS}",
    "zs3-lin": f"$HC --set model.neck.kind=linear {ZS3NET} {EMBEDDINGS}",
    "zs3-pca-var": f"$HC --set model.neck.kind=pca {GM} {ZS3NET} --grid "
    '"zs3net.mmd_kernel_variances=[2,5,10,20,40,80],[20,50,100,200,400,800]"',
}


def describe(payload: dict) -> str:
    """The features a search's base overrides select."""
    base = " ".join(payload["base_overrides"])
    for name, text in FEATURES.items():
        if name in base:
            return text
    return "dilated stride 8, 320 (configs/camvid.yaml)"


def setting_text(payload: dict, row: dict) -> str:
    """The configuration's own overrides plus the search's non-default settings, briefly."""
    skip = ("dataset.", "feature_cache.", "train.log_every", "train.checkpoint_every",
            "eval.", "model.backbone.", "model.neck.", "model.method")  # fmt: skip
    words = [o for o in payload["base_overrides"] if not o.startswith(skip)]
    return " ".join([*words, *row["overrides"]]).replace("embeddings.sources=", "embeddings ")


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
                setting_text(payload, row),
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
    parser.add_argument(
        "--choices",
        type=Path,
        help="write each method's chosen overrides here (JSON), for "
        "benchmarks/issue9_compare.py --settings",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)  # the searches ran with one torch thread (--threads 1)
    searches = read_searches(args.tune)
    header = ["method", "features", "settings", "hIoU (pseudo-unseen)", "seen mIoU",
              "unseen mIoU", "gamma", "time (s)", "chosen"]  # fmt: skip
    rows, choices = [], {}
    for method, payloads in searches.items():
        table, choices[method] = rows_of(method, payloads, raw=False)
        rows += table
        if method == "spnet-c":  # the same runs, raw scores: SPNet's own choice
            table, choices["spnet"] = rows_of("spnet (raw)", payloads, raw=True)
            rows += table
    hidden = pseudo_unseen_text(searches)
    commands = [
        f"cagnet tune configs/camvid.yaml $BASE {flags} --threads 1 --quiet --seeds 0 "
        f"--output runs/t/{name}"
        for name, flags in SEARCHES.items()
    ]
    body = (
        f"- date: {today()}; machine: {machine()}\n"
        "- protocol: `cagnet tune` (issue 9, item 6): each configuration is trained with "
        f"pseudo-unseen seen classes hidden ({hidden}) "
        "on 80 % of the training images and scored by hIoU on the other 20 %, seen vs "
        "pseudo-unseen. Val is not read for the choice. One seed per configuration.\n"
        "- the same effort for every method: 8 configurations, one seed each: 3 features x 2 "
        "class embeddings, then 2 more on the method's own knobs (CaGNet: the paper's gradient "
        "path with MMD or L2 content; SPNet-c: the projection's rate, after 2 runs on E's rate "
        "that could not change anything (E frozen, PCA neck: no parameters; scores identical to "
        "the base rate's); ZS3Net: the GMMN kernel widths). "
        "Schedules (450 iterations, batch 4) are the config's; they were not searched\n"
        f"- `$BASE` = `{BASE}`; `$HC` = `{HC}`\n\n"
        "```\n" + "\n".join(commands) + "\n```\n\n" + markdown_table(header, rows)
    )
    chosen = [
        f"{m}: {c['features']}, `{' '.join(o for o in c['overrides'] if 'embeddings' in o)}`"
        f" (pseudo-unseen hIoU {c['score']:.4f})"
        for m, c in choices.items()
    ]
    publish(HEADING, body, choices, args.choices, chosen, args.note)


if __name__ == "__main__":
    main()
