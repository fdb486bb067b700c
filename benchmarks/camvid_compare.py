"""Issue 4: SPNet, ZS3Net and CaGNet, raw and calibrated, on CamVid over seeds, into RESULTS.md.

Usage (from the repository root, with the CamVid copy at ../shared/datasets/camvid)::

    python benchmarks/camvid_compare.py [--output runs/camvid-compare] [--seeds 0,1,2]
        [--workers 2] [--set key=value ...]

What it runs, all timed together as the comparison's wall time:

1. ``cagnet cache configs/camvid.yaml``: the frozen EfficientNet-Lite0 features of every train
   and val image (seconds when ``data/feature_cache`` is already built; ~7 CPU-min otherwise).
2. With ``--workers 2``: two workers at once, one per core of the 2-core machine, each a
   chain of ``cagnet compare`` calls with one torch thread (``OMP_NUM_THREADS=1``) on its own
   (method and its calibrated variant, seed) jobs (``shards``), all writing their runs into the
   same ``--output``. A calibrated variant ("-c") calibrates its method's run of the same seed:
   gamma is chosen on pseudo-unseen classes of held-out training images (a proxy model is
   trained for that), never on val.
3. ``cagnet compare configs/camvid.yaml --variants spnet,spnet-c,zs3net,zs3net-c,cagnet,cagnet-c
   --seeds ...``,
   the whole comparison: it finds every run finished by the shards, skips it and writes
   results.csv/.md/.png over all of them. With ``--workers 1`` this step does all the work.

Then the section "CamVid comparison (issue 4)" of benchmarks/RESULTS.md is rewritten with the
date, machine, code commit, command, wall time, the mean ± std table and whether the paper's
ordering holds. Re-running with the same ``--output`` reuses finished runs (the recorded time is
then that of the re-run: use a fresh ``--output`` for a timing).
"""

from compare_runner import markdown_table, parse_arguments, section_body, timed
from results_file import update_section

HEADING = "CamVid comparison (issue 4)"
CONFIG = "configs/camvid_issue4.yaml"
# One job per group and seed; a "-c" variant calibrates its method's run of the same seed.
# Measured seconds per job with one torch thread (2026-11-25): a CaGNet run ~200 s (its CM on
# 320-d features) and its calibration as much again (a proxy CaGNet is trained); SPNet with
# SPNet-c ~30 s; ZS3Net with ZS3Net-c ~45 s.
# In the order of the report's rows.
JOB_COSTS = {("spnet", "spnet-c"): 30.0, ("zs3net", "zs3net-c"): 45.0}
JOB_COSTS[("cagnet", "cagnet-c")] = 400.0

# What was tried before this config was fixed, and on which split (the issue allows train and
# val; every choice below looked at val numbers, so the table is not a held-out test).
TUNING_INTRO = """\
How configs/camvid.yaml was chosen (2026-11-25). Every number below is one run of CaGNet,
seed 0, unless the row says otherwise, scored on CamVid **val**: the choices were made by
looking at val (which the issue allows; no other split was used), so the table above is not a
held-out test. With a seed-to-seed spread of
about ±0.05 hIoU, single-seed differences below ~0.05 are noise."""
# (run, change from the row above unless said, hIoU, unseen mIoU (car / pedestrian), note)
TUNING_RUNS = (
    (
        "0",
        "the feature-cache engineer's config: L2 content, batch 8, 300 it.",
        "0.011",
        "0.006 (0.000 / 0.011)",
        "car predicted as road",
    ),
    (
        "1",
        "loss.content=mmd, reconstruction_weight=50 (official)",
        "0.023",
        "0.012 (0.000 / 0.023)",
        "mu_spread swung 0 to 8.5; C on G's fakes at chance (loss 2.0)",
    ),
    ("2", "+ MMD sigmas 5..160, to match the features' scale", "NaN", "-", "diverged at ~100 it."),
    (
        "3",
        "run 2 + Adam for the CM (lr 1e-3), G and heads lr 2e-3",
        "-",
        "-",
        "KL exploded (2.7e4), mu collapsed; stopped",
    ),
    ("4", "run 1 + embeddings [glove, minilm]", "NaN", "-", "diverged at ~160 it."),
    (
        "5",
        "run 4 + model.detach_generator_input=true (official), lr_generator 1e-3",
        "0.027",
        "0.014 (0.010 / 0.018)",
        "stable; C on G's fakes 0.13",
    ),
    ("6", "run 5 with GloVe only", "0.039", "0.021 (0.012 / 0.029)", "kept: no extra dependency"),
    ("7", "run 5 + train.unseen_ratio=1:4", "0.039", "0.020 (0.011 / 0.030)", "no gain; kept 1:1"),
    (
        "8",
        "run 6 + batch 4 (3.5x faster per iteration on this CPU)",
        "0.054",
        "0.029 (0.038 / 0.021)",
        "",
    ),
    (
        "9",
        "run 8 + 450 iterations (226 pretraining)",
        "0.134",
        "0.080 (0.097 / 0.063)",
        "the config above",
    ),
    ("10", "run 9, seed 1", "0.060", "0.032 (0.056 / 0.008)", "the seed spread"),
    (
        "11",
        "run 8 + 600 iterations (300 pretraining)",
        "0.081",
        "0.045 (0.067 / 0.023)",
        "no better than run 9/10: kept the cheaper 450",
    ),
    (
        "Z",
        "ZS3Net, official kernel variances 2..80, seeds 0/1/2",
        "0.003 / 0.000 / 0.000",
        "0.002 / 0.000 / 0.000",
        "first full comparison (9.3 min)",
    ),
    (
        "Z'",
        "ZS3Net, kernel variances 200..8000, seeds 0/1",
        "0.053 / 0.026",
        "0.029 / 0.014",
        "kept for ZS3Net",
    ),
)

CONTROLS_INTRO = """\
Controls and single knobs after the config was fixed (2026-11-25, later): CaGNet, seeds 0 / 1 /
2, scored on val like the rows above. Reference, the config's own runs: hIoU 0.134 / 0.060 /
0.052 (car IoU 0.097 / 0.056 / 0.036, pedestrian 0.063 / 0.008 / 0.020)."""
CONTROL_RUNS = (
    (
        "S",
        "car and pedestrian GloVe rows swapped (camvid_embedding_probe.py --write-swapped)",
        "0.025 / 0.012 / 0.032",
        "car 0.023 / 0.010 / 0.029, ped. 0.003 / 0.002 / 0.005",
        "every seed far lower: the true class embeddings matter to CaGNet here",
    ),
    (
        "C",
        "cagnet calibrate on the config's runs (pseudo-unseen gamma 1.93 / 2.83), seeds 0 / 1",
        "0.097 / 0.045",
        "unseen mIoU 0.055 / 0.024 (raw 0.080 / 0.032)",
        "more unseen pixels found (unseen pixel acc. 0.31 / 0.27), at a loss of precision",
    ),
    (
        "K1",
        "train.unseen_ratio=classes (r = 9:2, Table 5 row 1)",
        "0.143 / 0.023 / 0.047",
        "car 0.098 / 0.022 / 0.027, ped. 0.075 / 0.001 / 0.022",
        "mean 0.071: no gain",
    ),
    (
        "K2",
        "train.finetune_pixels=6400 (4x the generated pixels per finetuning step)",
        "0.127 / 0.053 / 0.062",
        "car 0.092 / 0.051 / 0.045, ped. 0.058 / 0.005 / 0.022",
        "mean 0.081: no gain",
    ),
    (
        "K3",
        "loss.kl_weight=10 (lambda2 / 10)",
        "0.143 / 0.054 / 0.052",
        "car 0.097 / 0.051 / 0.034, ped. 0.075 / 0.006 / 0.021",
        "mean 0.083: no gain",
    ),
    (
        "K4",
        "embeddings.sources=[minilm] (the prototype's embeddings)",
        "0.039 / 0.034 / -",
        "car 0.007 / 0.001, ped. 0.034 / 0.035",
        "worse on both seeds; seed 2 stopped to save time",
    ),
    (
        "K5",
        "train.iterations=1800, pretrain_iterations=900 (4x longer)",
        "0.009 / 0.003 / -",
        "car 0.000 / 0.000, ped. 0.009 / 0.003",
        "seen mIoU up (0.484 / 0.485) but the unseen classes vanish; seed 2 stopped",
    ),
    (
        "V",
        "gamma swept on val itself, unbounded (`cagnet calibrate RUN/config.yaml --checkpoint "
        "RUN/checkpoint.pt --set calibration.labels=val --set calibration.max_seen_drop=1.0 "
        "--output X` on the 5 seeds' runs): an optimistic bound, tuned on the test labels",
        "SPNet 0.061 ± 0.035, ZS3Net 0.062 ± 0.020, CaGNet 0.074 ± 0.034",
        "unseen mIoU 0.034 / 0.034 / 0.041",
        "even with test-label tuning every method stays far below the prototype's 0.14-0.18",
    ),
)

# Why the ordering does or does not hold, written after looking at the recorded runs.
ANALYSIS = """\
What the numbers say (2026-11-25, this config, 5 seeds):

- Time: the 30 runs above took 21.3 min on the 2 cores. The issue's comparison (SPNet, SPNet-c,
  ZS3Net, CaGNet x 3 seeds) is a subset of them: its runs sum to 723 s of one core (CaGNet
  ~180 s, SPNet 16 s, SPNet-c's calibration 23 s, ZS3Net 21 s per seed), ~6 min on 2 workers.
- The paper's ordering **holds**: CaGNet's hIoU and unseen mIoU are above ZS3Net's and
  SPNet-c's on the means and on every one of the 5 seeds (paired by seed; one-sided sign test
  p = 1/32 each). SPNet's unseen mIoU is near zero on the mean (0.017), though 2 of 5 seeds
  find some unseen pixels (0.034, 0.039). Calibrated against calibrated, CaGNet-c is above
  ZS3Net-c and SPNet-c on the means by < 0.006 and on 2-3 of 5 seeds: no difference.
- Calibration (gamma chosen on pseudo-unseen seen classes of held-out training images, then
  capped where the model itself would lose more than 10 % of its seen mIoU on those images;
  the cap lowered 10 of the 15 proxy gammas) helps SPNet (+0.020 hIoU) and ZS3Net (+0.025) and
  hurts CaGNet (0.071 -> 0.057): it finds more unseen pixels (CaGNet's unseen pixel accuracy
  0.10 -> 0.23) but more of them are wrong. Seen mIoU falls by 8 %, 10 % and 11 % on the
  means. Before the cap (same runs, first measurement) CaGNet-c's seen mIoU fell by 17 % on the
  mean and 28 % on seed 2.
- Every method is **far below** the issue's aim (well above the prototype's 0.18): CaGNet
  0.071 ± 0.035, best seed 0.134. What limits it, measured (tables below and the section
  "CamVid: what the class embeddings tell"):
  - CaGNet does use the class embeddings: with the car and pedestrian GloVe rows swapped it
    scored 0.025 / 0.012 / 0.032 on seeds 0-2, against 0.134 / 0.060 / 0.052.
  - But the embeddings predict little of where a class's EfficientNet-Lite0 features lie. A
    ridge map from embedding to class-mean feature, fitted on the other classes, puts the
    true mean of a held-out class at rank 5.0 on average among the 11 class means (0 =
    nearest) for GloVe, 5.1 for MiniLM: what random guessing gives; car's is last (10) with
    both. A linear generative probe on the same features scores hIoU 0.08-0.11 whether the
    unseen rows are true, swapped or random.
  - Single knobs (ratio r = 9:2, 4x generated pixels per finetuning step, lambda2 = 10) stayed
    within the seed spread; MiniLM embeddings (the prototype's) were worse (0.039 / 0.034);
    training 4x longer raised the seen mIoU (0.48) and lost the unseen classes (hIoU 0.009 /
    0.003).
  - Not the calibration protocol: with gamma swept on val itself and no bound on the seen
    loss (row V, an optimistic bound that tunes on the test labels) SPNet-c reaches 0.061,
    ZS3Net-c 0.062 and CaGNet-c 0.074 on the mean of 5 seeds, against the prototype's 0.14 /
    0.16 / 0.18 (one seed each; how it chose gamma and scored is not known).
  Earlier (first table): the official GMMN kernel variances (2..80) are flat at these
  features' distances (33-80 apart), so ZS3Net uses 200..8000; the MMD content loss, the
  detached generator input, batch 4 and 450 iterations were chosen on val (seed 0), where
  single-seed differences below ~0.05 are noise.
- Not tried (time, or no GPU): training the backbone end to end (the paper's setting; every
  run here reads frozen ImageNet features), features whose space is aligned with text, other
  generator/head widths, normalising the 320-d features (norm ~45)."""


def tuning_notes() -> str:
    """The record of what was tried, as Markdown."""
    tuning = ("run", "change", "hIoU", "unseen mIoU (car / pedestrian)", "note")
    controls = ("run", "change", "hIoU", "IoU", "note")
    lines = [TUNING_INTRO, "", markdown_table(tuning, TUNING_RUNS)]
    lines += ["", CONTROLS_INTRO, "", markdown_table(controls, CONTROL_RUNS)]
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_arguments(__doc__.split("\n")[0], "camvid-compare")
    measured = timed(CONFIG, JOB_COSTS, args, build_cache=True)
    data = (
        "CamVid train (367 images) for training, val (101 images) for evaluation; unseen car "
        "and pedestrian; frozen EfficientNet-Lite0 features (stride 8); cells are mean ± sample "
        'std over the seeds; gamma of every "-c" row chosen on pseudo-unseen classes of '
        "held-out training images"
    )
    body = section_body(
        "camvid_compare.py",
        args,
        measured,
        JOB_COSTS,
        f"{CONFIG} ",
        data,
        ANALYSIS,
        tuning_notes(),
    )
    update_section(HEADING, body)
    print(body)


if __name__ == "__main__":
    main()
