"""Issue 9 on the embedded benchmark: the class embeddings of the demo's config chosen by
``cagnet tune`` for CaGNet and SPNet-c, then both (and raw SPNet) over seeds on val, timed,
into RESULTS.md (section "Issue 9: embedded benchmark with GloVe + MiniLM").

Usage (from the repository root; each TUNE_DIR is the ``--output`` of one ``cagnet tune`` on
the demo's config with the same grid of ``embeddings.sources``)::

    python benchmarks/issue9_embedded.py --tune cagnet=runs/e/cagnet \\
        --tune spnet-c=runs/e/spnet-c --output runs/issue9-embedded --seeds 0,1,2,3,4 \\
        [--workers 2] [--report-only] [--note TEXT] [--heading TEXT]
        [--without-calibrated-cagnet] [--method-set spnet=train.lr_heads=0.001 ...]

The comparison runs the demo's config as it is (``src/cagnet/configs/demo.yaml``, which holds
the choice): ``cagnet compare --variants cagnet,cagnet-c,spnet,spnet-c`` split into
(method, seed) jobs over the workers, one torch thread each (compare_runner.py). The gamma of
SPNet-c and of calibrated CaGNet is chosen on pseudo-unseen classes of held-out training
images, never on val; calibrated CaGNet calibrates the CaGNet run of the same seed (one model,
raw and calibrated).

``--method-set METHOD=KEY=VALUE`` (METHOD cagnet or spnet; repeatable) gives one method its own
settings on top of the demo's config, for a comparison in which each method keeps what its own
``cagnet tune`` chose. The method's group (with its calibrated variant, which calibrates the
same run) then trains in a folder of its own, ``OUTPUT/<method>``, one after the other.
"""

import argparse
import copy
from collections import defaultdict

from compare_runner import (
    argument_parser,
    markdown_table,
    paired_wins,
    read_results,
    results_table,
    timed,
    variant_names,
)
from results_file import update_section
from tune_searches import key_of, mean_score, pseudo_unseen_text, read_searches

from cagnet.cli import demo_config_path

HEADING = "Issue 9: embedded benchmark with GloVe + MiniLM"
# Seconds per job with one torch thread: a CaGNet run ~430 s, its calibration (a proxy run on
# pseudo-unseen classes) as much again; SPNet ~60 s + its calibration.
CAGNET_S, SPNET_S = 430.0, 115.0
JOB_COSTS = {("cagnet", "cagnet-c"): 2 * CAGNET_S, ("spnet", "spnet-c"): SPNET_S}
WITHOUT_CALIBRATED_CAGNET = {("cagnet",): CAGNET_S, ("spnet", "spnet-c"): SPNET_S}


def tune_table(searches: dict[str, list[dict]]) -> str:
    """One row per (method, configuration) of the tune folders, scored as the method ranks
    them (calibrated for SPNet-c, raw for CaGNet), mean over the tune's seeds."""
    rows = []
    for method, payloads in searches.items():
        key = key_of(method)
        for payload in payloads:
            scored = [(mean_score(row, key), row) for row in payload["configurations"]]
            best = max(scored, key=lambda pair: pair[0])[1]
            for score, row in scored:
                rows.append([method, f"`{' '.join(row['overrides'])}`", f"{score:.4f}",
                             f"{row['mean_seen_miou']:.3f}", f"{row['mean_unseen_miou']:.3f}",
                             f"{row['seconds']:.0f}", "yes" if row is best else ""])  # fmt: skip
    header = ["method", "configuration", "hIoU", "seen mIoU", "unseen mIoU", "time (s)", "chosen"]
    return markdown_table(header, rows)


def method_settings(pairs: list[str], job_costs: dict) -> dict[str, list[str]]:
    """{method: its own KEY=VALUE overrides} from ``--method-set METHOD=KEY=VALUE`` words."""
    groups = {group[0] for group in job_costs}
    settings = defaultdict(list)
    for pair in pairs:
        method, _, override = pair.partition("=")
        if method not in groups or "=" not in override:
            raise SystemExit(
                f"--method-set {pair!r}: give METHOD=KEY=VALUE with METHOD one of {sorted(groups)}"
            )
        settings[method].append(override)
    return dict(settings)


def run_groups(
    job_costs: dict, settings: dict[str, list[str]], args: argparse.Namespace
) -> tuple[dict, dict]:
    """Time the comparison and read its results: one folder for every group without settings
    of its own (``args.output``), one more per method with them (``args.output/<method>``).
    Returns the timing (wall time summed over the folders) and {variant: runs per seed}."""
    folders = [(args.output, {g: c for g, c in job_costs.items() if g[0] not in settings}, [])]
    folders += [
        (args.output / method, {g: c for g, c in job_costs.items() if g[0] == method}, extra)
        for method, extra in settings.items()
    ]
    measured, runs = {}, {}
    for output, costs, extra in folders:
        if not costs:
            continue
        folder_args = copy.copy(args)
        folder_args.output, folder_args.overrides = output, [*args.overrides, *extra]
        timing = timed(str(demo_config_path()), costs, folder_args, build_cache=False)
        measured = {**timing, "wall_s": measured.get("wall_s", 0.0) + timing["wall_s"]}
        runs.update(read_results(output / "results.csv"))
    return measured, runs


def main() -> None:
    parser = argument_parser(__doc__.splitlines()[0], "issue9-embedded")
    parser.add_argument("--tune", action="append", required=True, help="method=TUNE_DIR")
    parser.add_argument("--note", default="", help="Markdown appended to the section")
    parser.add_argument("--heading", default=HEADING, help="the RESULTS.md section to write")
    parser.add_argument(
        "--without-calibrated-cagnet",
        action="store_true",
        help="leave calibrated CaGNet out (it trains one more CaGNet run per seed)",
    )
    parser.add_argument(
        "--method-set",
        action="append",
        default=[],
        metavar="METHOD=KEY=VALUE",
        help="a setting for one method only (cagnet or spnet, with its calibrated variant)",
    )
    args = parser.parse_args()
    searches = read_searches(args.tune)
    job_costs = WITHOUT_CALIBRATED_CAGNET if args.without_calibrated_cagnet else JOB_COSTS
    settings = method_settings(args.method_set, job_costs)
    measured, runs = run_groups(job_costs, settings, args)
    named = (("cagnet", "CaGNet"), ("cagnet-c", "calibrated CaGNet"))
    wins = [
        f"- {name}'s {title} above SPNet-c's on {won} of {shared} seeds, paired by seed"
        for variant, name in named
        if variant in variant_names(job_costs)
        for key, title in (("hiou", "hIoU"), ("unseen_miou", "unseen mIoU"))
        for won, shared in [paired_wins(runs[variant], runs["spnet-c"], key)]
    ]
    seeds = ",".join(str(s) for s in args.seeds)
    variants = ",".join(variant_names(job_costs))
    body = (
        "Choice (`cagnet tune src/cagnet/configs/demo.yaml --seeds 0 --grid "
        '"embeddings.sources=[$G],[$G,$M]"`, SPNet-c with `--set model.method=spnet '
        "--calibrate`; `$G`, `$M` = `src/cagnet/assets/synthetic_glove50.npy`, "
        "`synthetic_minilm384.npy`; pseudo-unseen "
        f"{pseudo_unseen_text(searches)} on 80 % of the training images, scored on the other "
        "20 %; val not read; the same 2 configurations for both methods):\n\n"
        + tune_table(searches)
        + "\n\nOn val, the demo's config as it is now (it holds the choice)"
        + "".join(
            f"; {method} with its own `{' '.join(extra)}` (`--method-set`, runs in "
            f"`{args.output / method}`)"
            for method, extra in settings.items()
        )
        + ":\n\n"
        f"- date: {measured['date']}; code: {measured['code']}\n"
        f"- machine: {measured['machine']}; {args.workers} worker process(es) of 1 torch "
        "thread each\n"
        f"- command: `python benchmarks/issue9_embedded.py --output {args.output} --seeds "
        f"{seeds} --workers {args.workers} ...`, i.e. `cagnet compare --variants {variants} "
        f"--seeds {seeds}` on the demo's config, split over the workers\n"
        f"- wall time: {measured['wall_s'] / 60:.1f} min for every method and seed (the "
        "calibrations' proxy trainings included)\n"
        "- data: the embedded benchmark (16 classes, unseen green square, blue triangle, "
        "yellow circle), train for training, all of val for the scores; mean ± sample std\n\n"
        + results_table(runs, variant_names(job_costs))
        + "\n\n"
        + "\n".join(wins)
        + (f"\n\n{args.note}" if args.note else "")
    )
    update_section(args.heading, body)
    print(body)


if __name__ == "__main__":
    main()
