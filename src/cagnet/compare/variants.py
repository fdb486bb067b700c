"""Every method and ablation of the paper as a named set of config overrides.

``VARIANTS`` maps a name to a ``Variant``: the ``--set`` overrides that make it, the paper's table
row it reproduces and the post-processing it needs after training ("calibrate" for the "-c"
rows, "self_train" for the +ST rows). A post-processed variant names the variant whose trained
run it starts from (``shares``): SPNet-c calibrates the SPNet run of the same seed instead of
training a copy of it, so raw and calibrated numbers come from one model. Table numbers refer
to the main paper, "supp." to its supplementary material. Overrides apply after the config
file and the user's ``--set``, so a variant always is what its name says.

Ratios are quoted ('1:1'): YAML 1.1 reads an unquoted 1:1 as the base-60 integer 61.
"""

import fnmatch
from collections.abc import Sequence
from typing import NamedTuple

from cagnet.errors import ConfigError

CALIBRATE = "calibrate"
SELF_TRAIN = "self_train"
POST_STEPS = ("", CALIBRATE, SELF_TRAIN)


class Variant(NamedTuple):
    """One row of a comparison.

    Attributes:
        overrides: ``--set`` strings applied on top of the user's config.
        row: the paper's table row this variant reproduces.
        post: "" (train and evaluate), "calibrate" or "self_train" after training.
        shares: the variant whose training run (config and folder) this one post-processes;
            "" trains a run of its own.
    """

    overrides: tuple[str, ...]
    row: str
    post: str = ""
    shares: str = ""


# Table 3's CM rows differ only in ``model.contextual``; each states every switch it relies on.
_NO_SELECTOR = ("model.contextual.selector=none",)
_SINGLE_SCALE = ("model.contextual.multi_scale=false", *_NO_SELECTOR)

VARIANTS: dict[str, Variant] = {
    # Table 1: the methods compared.
    "spnet": Variant(("model.method=spnet",), "Table 1: SPNet"),
    "spnet-c": Variant(
        ("model.method=spnet",), "Table 1: SPNet-c (SPNet + calibration)", CALIBRATE, "spnet"
    ),
    "zs3net": Variant(("model.method=zs3net",), "Table 1: ZS3Net"),
    "cagnet": Variant((), "Table 1: CaGNet"),
    # Calibration applies to every method (not a row of the paper's Table 1).
    "zs3net-c": Variant(
        ("model.method=zs3net",), "beyond the paper: ZS3Net + calibration", CALIBRATE, "zs3net"
    ),
    "cagnet-c": Variant((), "beyond the paper: CaGNet + calibration", CALIBRATE, "cagnet"),
    "zs3net+st": Variant(("model.method=zs3net",), "Table 1: ZS3Net+ST", SELF_TRAIN, "zs3net"),
    "cagnet+st": Variant((), "Table 1: CaGNet+ST", SELF_TRAIN, "cagnet"),
    # Table 2: network modules. Without CM, G reads z ~ N(0, 1) (cagnet.training.steps).
    "table2/ec": Variant(
        (
            "model.use_contextual_module=false",
            "model.use_generator=false",
            "model.use_discriminator=false",
        ),
        "Table 2 row 1: E & C",
    ),
    "table2/ec+cm": Variant(
        ("model.use_generator=false", "model.use_discriminator=false"),
        "Table 2 row 2: E & C + CM",
    ),
    "table2/ec+g": Variant(
        ("model.use_contextual_module=false", "model.use_discriminator=false"),
        "Table 2 row 3: E & C + G (z ~ N(0, 1))",
    ),
    "table2/ec+g+d": Variant(
        ("model.use_contextual_module=false",),
        "Table 2 row 4: E & C + G + D (z ~ N(0, 1))",
    ),
    "table2/full": Variant((), "Table 2 row 5: E & C + G + D + CM (CaGNet)"),
    # Table 3: variants of the CM before mu and sigma are predicted.
    "table3/conv1x1": Variant(
        ("model.contextual.layer=pointwise", "model.contextual.num_layers=2", *_SINGLE_SCALE),
        "Table 3 row 1: conv (1x1), two 1x1 conv layers",
    ),
    "table3/conv": Variant(
        ("model.contextual.layer=plain", "model.contextual.num_layers=5", *_SINGLE_SCALE),
        "Table 3 row 2: conv, five standard 3x3 conv layers",
    ),
    "table3/dilated": Variant(
        ("model.contextual.layer=dilated", "model.contextual.num_layers=5", *_SINGLE_SCALE),
        "Table 3 row 3: conv + dilated (row 2 with its first three convs dilated 1, 2, 5)",
    ),
    "table3/dilated+ms": Variant(
        ("model.contextual.layer=dilated", "model.contextual.num_layers=3", *_NO_SELECTOR),
        "Table 3 row 4: conv + dilated + MS (three context maps concatenated, no selector)",
    ),
    "table3/mask": Variant(
        ("model.contextual.mask_center=true",),
        "Table 3 row 5: conv (mask) + dilated + MS + CS (first conv's centre taps fixed at 0)",
    ),
    "table3/global-selector": Variant(
        ("model.contextual.selector=global",),
        "Table 3 row 6: conv + dilated + MS + global CS (one weight per scale)",
    ),
    "table3/full": Variant((), "Table 3 row 7: conv + dilated + MS + CS (CaGNet's CM)"),
    # Supplementary Table 2: special cases of the CM.
    "supp/wo-residual": Variant(
        ("model.residual=false",), "supp. Table 2 row 1: w/o residual (F is target and input)"
    ),
    "supp/parallel": Variant(
        ("model.contextual.parallel=true",), "supp. Table 2 row 2: Parallel dilated convs"
    ),
    # Table 4: loss terms (a weight of 0 skips the term).
    "table4/wo-kl": Variant(("loss.kl_weight=0",), "Table 4 row 1: w/o L_KL"),
    "table4/wo-adv": Variant(("loss.adversarial_weight=0",), "Table 4 row 2: w/o L_GAN"),
    "table4/wo-rec": Variant(("loss.reconstruction_weight=0",), "Table 4 row 3: w/o L_REC"),
    # Table 5: the seen:unseen ratio r of generated pixels in the finetuning step.
    "table5/classes": Variant(("train.unseen_ratio=classes",), "Table 5 row 1: r = |Cs| : |Cu|"),
    "table5/1:1": Variant(("train.unseen_ratio='1:1'",), "Table 5 row 2: r = 1 : 1"),
    "table5/1:10": Variant(("train.unseen_ratio='1:10'",), "Table 5 row 3: r = 1 : 10"),
    "table5/0:1": Variant(("train.unseen_ratio='0:1'",), "Table 5 row 4: r = 0 : 1"),
}

# Supplementary Figure 1: lambda1 (reconstruction) and lambda2 (KL) swept over [0.1, 1000].
LAMBDA_VALUES = ("0.1", "1", "10", "100", "1000")
for _value in LAMBDA_VALUES:
    VARIANTS[f"lambda1/{_value}"] = Variant(
        (f"loss.reconstruction_weight={_value}",), f"supp. Figure 1: lambda1 = {_value}"
    )
for _value in LAMBDA_VALUES:
    VARIANTS[f"lambda2/{_value}"] = Variant(
        (f"loss.kl_weight={_value}",), f"supp. Figure 1: lambda2 = {_value}"
    )


def _check_shares() -> None:
    """Every shared run is a plain variant with the same overrides (import-time check)."""
    for name, variant in VARIANTS.items():
        if not variant.shares:
            continue
        base = VARIANTS.get(variant.shares)
        if base is None or base.post or base.overrides != variant.overrides or not variant.post:
            raise AssertionError(f"variant {name!r} cannot share the run of {variant.shares!r}")


_check_shares()


def select_variants(patterns: Sequence[str]) -> list[str]:
    """Variant names for names or shell-style patterns, in the order asked, without repeats.

    ``["cagnet", "table3/*"]`` gives cagnet followed by every Table 3 row.

    Raises:
        ConfigError: for a name or pattern that matches no variant, listing the known ones.
    """
    chosen: list[str] = []
    for pattern in patterns:
        pattern = pattern.strip()
        if not pattern:
            continue
        matches = [name for name in VARIANTS if fnmatch.fnmatchcase(name, pattern)]
        if not matches:
            raise ConfigError(
                f"unknown variant {pattern!r}; known variants: {', '.join(VARIANTS)} "
                "(patterns such as 'table3/*' work too)"
            )
        chosen += [name for name in matches if name not in chosen]
    if not chosen:
        raise ConfigError("no variant given; name one or more, e.g. --variants cagnet,zs3net")
    return chosen
