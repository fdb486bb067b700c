"""Issue 4: SPNet, ZS3Net and CaGNet, raw and calibrated, on the embedded benchmark, timed.

Usage (from the repository root; nothing outside the repository is needed)::

    python benchmarks/embedded_compare.py [--output runs/embedded-compare] [--seeds 0,1,2]
        [--workers 2] [--set key=value ...]

The demo's config (src/cagnet/configs/demo.yaml: the generated benchmark, a small CNN trained
from scratch, 2000 iterations) for every method: ``cagnet compare --variants
spnet,spnet-c,zs3net,zs3net-c,cagnet,cagnet-c``, split into (method, seed) jobs over two
workers of one torch thread each (see compare_runner.py), then one ``compare`` over all runs
for the reports. A "-c" variant calibrates its method's run of the same seed; gamma is chosen
on pseudo-unseen classes of held-out training images (a proxy model is trained for it), never
on val. Rewrites the section
"Embedded benchmark comparison (issue 4)" of benchmarks/RESULTS.md with the date, machine,
command, wall time and the mean ± std table.
"""

from compare_runner import markdown_table, parse_arguments, section_body, timed
from results_file import update_section

from cagnet.cli import demo_config_path

HEADING = "Embedded benchmark comparison (issue 4)"
# Seconds per job with one torch thread (measured 2026-11-25): a CaGNet run ~430 s and its
# calibration as much (a proxy CaGNet); SPNet ~60 s + ~55 s; ZS3Net ~100 s + ~100 s.
# In the order of the report's rows.
JOB_COSTS = {("spnet", "spnet-c"): 115.0, ("zs3net", "zs3net-c"): 200.0}
JOB_COSTS[("cagnet", "cagnet-c")] = 860.0

# CaGNet knobs tried after the comparison, on the split the table is scored on (val), as the
# CamVid record does. (run, change, hIoU, seen mIoU, unseen mIoU, note)
KNOBS_INTRO = """\
CaGNet knobs (and one of ZS3Net) tried after the comparison (2026-11-25), each a `cagnet
compare --variants cagnet` (`zs3net`) run with one `--set` on the demo's config, scored on
**val** like the table above (so the rows are not a held-out test). Reference, the config's own
runs, seeds 0 / 1 / 2: hIoU 0.213 / 0.172 / 0.146, seen mIoU 0.458 / 0.375 / 0.378, unseen mIoU
0.139 / 0.111 / 0.091. Seeds not listed were stopped once the first ones were clearly on one
side."""
KNOB_RUNS = (
    (
        "R1",
        "train.unseen_ratio=classes (r = 13:3, Table 5 row 1)",
        "0.007 / 0.064",
        "0.489 / 0.483",
        "0.004 / 0.034",
        "far fewer unseen predictions",
    ),
    ("R2", "train.unseen_ratio=2:1", "0.143", "0.489", "0.083", ""),
    ("R3", "train.unseen_ratio=3:2", "0.193", "0.480", "0.121", ""),
    ("R4", "train.unseen_ratio=1:2", "0.190", "0.412", "0.124", ""),
    (
        "R5",
        "train.unseen_ratio=1:3 (about the official code's gen_unseen_rate 9 here)",
        "0.181",
        "0.397",
        "0.117",
        "r = 1:1 (0.213) is the peak on seed 0, as the paper's Table 5",
    ),
    (
        "A1",
        "train.alternation_lr_factor=0.25 (G and heads at 1/4 once the phases alternate)",
        "0.050 / 0.067",
        "0.491 / 0.484",
        "0.026 / 0.036",
        "worse",
    ),
    (
        "A2",
        "A1 + train.alternation_backbone_lr_factor=0 (the official second run: E, CM frozen)",
        "0.045 / 0.076",
        "0.477 / 0.488",
        "0.024 / 0.041",
        "worse",
    ),
    (
        "G",
        "calibration.gamma=-0.5 / -1.0 on seed 0's model (favour seen; swept on val itself)",
        "0.186 / 0.102",
        "0.486 / 0.505",
        "0.115 / 0.057",
        "a diagnosis: shifting scores toward seen lowers hIoU",
    ),
    (
        "L",
        "train.iterations=4000, pretrain_iterations=2000 (2x longer), CaGNet; SPNet-c alike "
        "(its SPNet and proxy 2x longer too)",
        "CaGNet 0.174 / 0.207 / 0.212; SPNet-c 0.147 / 0.259 / 0.124",
        "CaGNet 0.484 / 0.452 / 0.442; SPNet-c 0.565 / 0.506 / 0.563",
        "CaGNet 0.106 / 0.134 / 0.140; SPNet-c 0.085 / 0.174 / 0.070",
        "means 0.198 vs 0.177: CaGNet above on 2 of 3 seeds; past the 20-min budget",
    ),
    (
        "Z",
        "ZS3Net, zs3net.unseen_class_weight=100 (the official weight), seeds 0 / 1 / 2",
        "0.052 / 0.024 / 0.038",
        "0.384 / 0.305 / 0.339",
        "0.028 / 0.012 / 0.020",
        "no better than weight 1 (0.021 / 0.025 / 0.059); still far below CaGNet",
    ),
)

# Written after looking at the recorded runs (2026-11-25).
ANALYSIS = """\
What the numbers say (2026-11-25, seeds 0-2 above; seeds 3 and 4 added after):

- Time: the 18 runs took 25.3 min on the 2 cores. The issue's comparison (SPNet, SPNet-c,
  ZS3Net, CaGNet x 3 seeds) is a subset: its runs sum to 1799 s of one core (CaGNet ~405 s,
  SPNet 57 s, SPNet-c's calibration 53 s, ZS3Net 84 s per seed), ~16-17 min on 2 workers.
- The paper's ordering holds against ZS3Net (CaGNet above it on 3 of 3 seeds, raw and
  calibrated) and SPNet's unseen mIoU is near zero (0.0007), but it does **NOT** hold against
  SPNet-c: SPNet-c's hIoU 0.209 ± 0.013 is above CaGNet's 0.177 ± 0.034 on 2 of 3 seeds, and
  its unseen mIoU (0.131 vs 0.114) too. Two more seeds confirm it (`cagnet compare
  src/cagnet/configs/demo.yaml --variants spnet,spnet-c,cagnet --seeds 3`, then `4`, into the
  same folder; the 5-seed table is `runs/embedded-5seeds/results.md`): over seeds 0-4 SPNet-c
  0.198 ± 0.031, CaGNet 0.159 ± 0.035 (seeds 3 / 4: 0.146 / 0.217 against 0.136 / 0.127),
  SPNet-c above on 4 of 5 seeds, paired, in hIoU and in unseen mIoU. Raw SPNet is near zero
  on 4 of the 5 seeds; seed 4 found unseen pixels (unseen mIoU 0.099, hIoU 0.168).
- Why, measured (section "Embedded benchmark: where the unseen predictions come from" and
  the knob table below): on this benchmark both methods transfer an unseen class's colour and
  little of its shape. The GloVe rows are dominated by the shape word (an unseen class's
  nearest seen classes are the three of the same shape, cosine 0.92-0.96), while the small
  CNN's pixels separate shapes poorly even among seen classes (SPNet-c labels 32-60 % of a
  seen shape's pixels correctly). CaGNet's generated unseen features then cover whole groups
  of real seen pixels: summed over the 3 seeds, 67 % of yellow-triangle pixels and 42-48 % of
  the red shapes' pixels go to "yellow circle"; a seen shape loses 35-85 % of its pixels to
  the unseen classes (SPNet-c: 16-45 %). CaGNet finds more unseen pixels
  (recall 0.61 / 0.09 / 0.67 for green square / blue triangle / yellow circle against
  SPNet-c's 0.13 / 0.32 / 0.52) but at a lower precision, and its seen mIoU pays (0.404 vs
  0.525).
- It is not a matter of bias that a knob fixes: giving unseen classes fewer generated pixels
  (r = 3:2, 2:1, 13:3) or more (1:2, 1:3), or slowing G and the heads once the phases
  alternate (the official second run's rates), all scored below r = 1:1 on the same seed, and
  shifting the trained model's scores toward seen classes (negative gamma, swept on val) lowers
  hIoU too (0.213 -> 0.186 -> 0.102). What CaGNet would need are generated features that
  separate an unseen shape from the seen shapes of its colour, which these embeddings and this
  CNN do not give. SPNet-c's linear projection, whose gamma is bounded to keep 90 % of the seen
  mIoU on held-out training images, keeps more seen pixels and wins on hIoU.
- The training budget matters more than any knob: with twice the iterations (4000, 2000 of
  them pure training; row L), CaGNet's seen mIoU rises to 0.44-0.48 while its unseen mIoU
  holds (0.127 on the mean), and it scores hIoU 0.198 ± 0.021 against SPNet-c's 0.177 ±
  0.072 (likewise trained twice as long), above it on 2 of 3 seeds (unseen mIoU too). The
  ordering of the paper then holds on the means, with SPNet-c's spread too wide to call it.
  That schedule doubles the time (a CaGNet run ~810 s; the issue's comparison ~32 min, est.), past
  the issue's 20 minutes and the demo's 10, so the configs keep 2000.
- ZS3Net is weak here (0.035), and not because of its GMMN kernels: the official variances
  (2..80) suit these features. Squared distances between the 64-d pixel features of seed 0's
  model (3000 val pixels, `python benchmarks/feature_distances.py
  runs/embedded-compare-2/runs/zs3net/seed0`) have a median of 283 and 5-95 % quantiles of
  2-437, so the widest kernel still gives exp(-283 / 160) = 0.17 at the median (on CamVid,
  with d^2 of 1000-6400, they were flat and had to be widened). Its classifier stage gives an unseen
  class as many generated pixels as an average seen class gets real ones, and it predicts few
  unseen pixels (unseen pixel accuracy 0.04); the official 100x cross-entropy weight on the
  unseen classes (row Z) finds more of them (0.08-0.16) but costs seen mIoU, hIoU 0.038 on
  the mean: the ordering against ZS3Net does not hang on that choice.
- Not tried: a final classifier stage on real seen plus generated unseen features (ZS3Net's
  recipe, not the paper's CaGNet); more than 2x training; 5 seeds of the 2x schedule."""


def knob_notes() -> str:
    """The record of the CaGNet knobs tried, as Markdown."""
    header = ("run", "change", "hIoU", "seen mIoU", "unseen mIoU", "note")
    return f"{KNOBS_INTRO}\n\n{markdown_table(header, KNOB_RUNS)}\n"


def main() -> None:
    args = parse_arguments(__doc__.split("\n")[0], "embedded-compare")
    measured = timed(str(demo_config_path()), JOB_COSTS, args, build_cache=False)
    data = (
        "the embedded benchmark (generated from its seed: 16 classes, unseen green square, blue "
        "triangle, yellow circle), its train split for training and all of val for evaluation; "
        "cells are mean ± sample std over the seeds"
    )
    body = section_body(
        "embedded_compare.py", args, measured, JOB_COSTS, "", data, ANALYSIS, knob_notes()
    )
    update_section(HEADING, body)
    print(body)


if __name__ == "__main__":
    main()
