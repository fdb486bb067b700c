"""The experiment config: frozen, typed dataclasses.

The method's defaults are the paper's (lambda1 = 10, lambda2 = 100, r = 1:1, SGD at 2.5e-4 with
poly decay, LSGAN, L_REC); the data and model defaults are small (the embedded benchmark and the
small CNN) so that a config only states what differs. A YAML file under ``configs/`` overrides a
few fields, ``--set a.b=value`` overrides more; the resolved config is written into the run
folder (``config.yaml``) and a run is reproducible from it. The demo is
``src/cagnet/configs/demo.yaml``.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cagnet.config_io import from_dict, merge, parse_overrides, read_config_file
from cagnet.config_paths import resolve_config_paths
from cagnet.data.readers import DatasetConfig
from cagnet.data.synthetic import SyntheticConfig
from cagnet.errors import ConfigError
from cagnet.models.backbones import BackboneConfig
from cagnet.models.contextual_module import ContextualModuleConfig
from cagnet.models.neck import NeckConfig


@dataclass(frozen=True)
class EmbeddingConfig:
    """Class embeddings. Each source is "glove", "minilm", "vectors:PATH" (a word2vec .bin or
    fastText .vec file) or a PATH to a .npy/.pkl/.pt array with one row per class; the sources'
    rows are L2-normalised and concatenated. Empty: the embedded benchmark's shipped GloVe rows.
    """

    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time augmentation; evaluation sees whole images."""

    crop_size: int = 96
    scale_range: tuple[float, float] = (0.75, 1.25)
    flip: bool = True


@dataclass(frozen=True)
class ModelConfig:
    """Which parts exist and how big they are (section 4.2)."""

    method: str = "cagnet"
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    neck: NeckConfig = field(default_factory=NeckConfig)  # standardise / project F, trainable
    contextual: ContextualModuleConfig = field(default_factory=ContextualModuleConfig)
    use_contextual_module: bool = True
    use_generator: bool = True
    use_discriminator: bool = True
    residual: bool = True
    generator_hidden: tuple[int, ...] = (512,)
    generator_dropout: float = 0.2
    # G reads w as its coordinates in an orthonormal basis of the K class rows' span (stored in
    # G): the same inner products, K inputs instead of d; cheaper when d >> K (models/generator)
    generator_span: bool = False
    heads_hidden: int = 256
    heads_dropout: float = 0.1
    # The official code feeds G a detached z, so L_REC cannot shape the CM; by default the
    # gradient of L_REC flows through z into the CM, as the paper intends.
    detach_generator_input: bool = False


@dataclass(frozen=True)
class LossConfig:
    """Loss weights (a weight of 0 skips the term) and variants, see ``cagnet.losses``."""

    classification_weight: float = 1.0
    adversarial_weight: float = 1.0
    reconstruction_weight: float = 10.0  # lambda1
    kl_weight: float = 100.0  # lambda2
    adversarial: str = "lsgan"  # lsgan | l1
    # l2: the paper's L_REC; l2-balanced: L_REC averaged per class; mmd: the official code's
    content: str = "l2"
    mmd_bandwidths: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0, 60.0)
    generated_classification_weight: float = 1.0  # C on G's features in the training step
    # L_REC's target x (E's feature) is detached, so L_REC trains G only; false: it also
    # pulls E's features towards G's, as eq. 1 read literally would.
    detach_reconstruction_target: bool = True
    # > 0: in the finetuning step C also classifies real seen features of a training batch (E
    # and CM run frozen, in eval mode), weighted by this; 0 = the paper (generated features only)
    finetune_real_seen_weight: float = 0.0

    def __post_init__(self) -> None:
        if not self.finetune_real_seen_weight >= 0:  # also refuses NaN
            raise ConfigError(
                f"loss.finetune_real_seen_weight={self.finetune_real_seen_weight}; give a "
                "weight >= 0 (0: finetuning on generated features only, as the paper)"
            )


@dataclass(frozen=True)
class TrainConfig:
    """The schedule of section 3.4 and the optimisers."""

    iterations: int = 1200
    pretrain_iterations: int = 600  # pure training steps before the alternation starts
    alternate_every: int = 100  # training and finetuning steps alternate in blocks this long
    # Blocks are counted back from the end so that the run ends with a finetuning block; false:
    # counted from the end of the pure training, finetuning first (may end with training).
    end_with_finetuning: bool = True
    batch_size: int = 8
    lr: float = 2.5e-4  # backbone and CM, SGD with poly decay
    lr_contextual_multiplier: float = 5.0  # the official code's 5x for the CM
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9
    # poly (DeepLab's decay, the official code) | plateau (the paper: the rate divided by 10
    # when the loss stops decreasing, cagnet.training.plateau); both for E and the CM.
    lr_schedule: str = "poly"
    plateau_metric: str = "loss_cls"  # the logged training loss watched
    plateau_window: int = 50  # training iterations averaged into one value
    plateau_patience: int = 2  # windows without a relative fall of plateau_threshold
    plateau_threshold: float = 0.01
    plateau_factor: float = 0.1
    adam_betas: tuple[float, float] = (0.5, 0.999)  # G and the heads (the official code's)
    optimizer: str = "sgd"  # sgd | adam, for backbone and CM
    lr_generator: float = 2e-4  # Adam
    lr_heads: float = 2e-4  # Adam, classifier + discriminator
    unseen_ratio: str = "1:1"  # seen:unseen pixels in finetuning; "a:b" or "classes" (|Cs|:|Cu|)
    finetune_pixels: int = 0  # generated pixels per finetuning step; 0 = a training batch's
    # Once training and finetuning alternate, every rate x these (the official code's second
    # run, configs/*_finetune.yaml: G and D at 5e-5 against 2e-4 / 2.5e-4, E and CM frozen).
    alternation_lr_factor: float = 1.0  # G and the heads (C + D)
    alternation_backbone_lr_factor: float = 1.0  # E and the CM; 0 freezes them
    amp: str = ""  # "" | bf16 | fp16 (GPU only)
    num_workers: int = 0
    log_every: int = 20
    checkpoint_every: int = 200
    keep_checkpoints: int = 2  # newest checkpoint-<iteration>.pt kept; checkpoint.pt -> newest
    # Max total gradient norm per optimiser step (clip_grad_norm_); 0 = off, as in the paper.
    grad_clip: float = 0.0
    eval_every: int = 0  # 0 = evaluate only at the end

    def __post_init__(self) -> None:
        if self.keep_checkpoints < 1:
            raise ConfigError(
                f"train.keep_checkpoints={self.keep_checkpoints}; keep at least 1 checkpoint"
            )
        if not self.grad_clip >= 0:  # also refuses NaN
            raise ConfigError(f"train.grad_clip={self.grad_clip}; give a norm > 0, or 0 for off")


SCALE_REDUCTIONS = ("max", "mean")  # how eval.scale_reduce fuses test-time copies


@dataclass(frozen=True)
class EvalConfig:
    """How predictions are scored."""

    resolution: str = "label"  # label (upsample logits) | feature (official: downsample labels)
    batch_size: int = 4
    num_overlays: int = 4
    max_images: int = 0  # 0 = every image of the split; otherwise stated in the report
    # Test-time options (cagnet.evaluation.test_time); the defaults evaluate each image as is.
    warp_size: int = 0  # > 0: warp every image to warp_size^2 (official: 513), scores back
    scales: tuple[float, ...] = ()  # multi-scale test, e.g. [0.5, 0.75, 1.0]; () = one scale
    flip: bool = False  # also predict on horizontally flipped copies
    scale_reduce: str = "max"  # how copies are fused: max (DeepLab's MSC) | mean

    def __post_init__(self) -> None:
        """The one check of the test-time fields (``cagnet.evaluation.test_time`` trusts it).

        Raises:
            ConfigError: naming the field and the value to use.
        """
        if self.warp_size < 0:
            raise ConfigError(f"eval.warp_size={self.warp_size}: use 0 (no warp) or e.g. 513")
        if any(not scale > 0 for scale in self.scales):
            raise ConfigError(
                f"eval.scales={list(self.scales)}: give positive scales, e.g. [0.75, 1.0]"
            )
        if self.scale_reduce not in SCALE_REDUCTIONS:
            raise ConfigError(
                f"eval.scale_reduce={self.scale_reduce!r}; choose one of {list(SCALE_REDUCTIONS)}"
            )
        if (self.warp_size > 0 or self.scales or self.flip) and self.resolution != "label":
            raise ConfigError(
                f"eval.resolution={self.resolution!r} with test-time options (warp_size, "
                "scales, flip): they return scores at the image's size; set eval.resolution=label"
            )


@dataclass(frozen=True)
class ZS3NetConfig:
    """ZS3Net's stages after the segmentation network is trained (``cagnet.methods.zs3net``).

    ``train.pretrain_iterations`` train E and C, then ``generator_iterations`` train the GMMN G,
    then ``classifier_iterations`` retrain C from a fresh init; ``train.iterations`` must be the
    sum. Defaults follow the official code (valeoai/ZS3) where it states them.
    """

    generator_iterations: int = 300
    classifier_iterations: int = 300
    noise_dim: int = 300
    generator_hidden: tuple[int, ...] = (256,)
    generator_dropout: float = 0.5
    lr_generator: float = 2e-4  # Adam
    # Kernels exp(-d^2 / (2 v)) summed over these v, as the official GMMN loss.
    mmd_kernel_variances: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
    mmd_pixels_per_class: int = 128  # pixels of one class in one MMD term (official: 128)
    # Real seen : generated unseen pixels for C; "classes" = |Cs|:|Cu| (see the method's docs).
    unseen_ratio: str = "classes"
    unseen_class_weight: float = 1.0  # cross-entropy weight of unseen classes (official: 100)
    # Adam rate of C in stage (c), which starts from a fresh init (official: SGD at 10x lr).
    lr_classifier: float = 1e-2


@dataclass(frozen=True)
class CalibrationConfig:
    """Calibrated stacking (SPNet-c) for every method: gamma is subtracted from the seen-class
    scores at test time; ``cagnet calibrate`` chooses it (``cagnet.evaluation.calibration``).

    ``labels`` says which labelled pixels choose gamma and is written beside gamma in reports:
    "pseudo_unseen" (honest, default): a proxy model trained like this one, with
    ``pseudo_unseen`` seen classes hidden too and without ``holdout_fraction`` of the training
    images, is calibrated on those held-out images (one more training run); the gamma is then
    capped so that this model too keeps its seen mIoU on those images within max_seen_drop;
    "split:NAME": another labelled split, disjoint from the reported one;
    "val": the reported split itself, i.e. tuning on the test labels (an optimistic bound);
    "manual": gamma set by hand.
    """

    gamma: float = 0.0  # 0 = raw scores
    labels: str = "pseudo_unseen"
    max_seen_drop: float = 0.1  # keep seen mIoU >= (1 - max_seen_drop) x its raw value
    search_min: float = 0.0
    search_max: float = 0.0  # 0 = the 99th percentile of the seen-minus-unseen score margin
    search_steps: int = 101
    pseudo_unseen: tuple[str, ...] = ()  # () = as many seen classes as unseen, drawn by seed
    holdout_fraction: float = 0.2


@dataclass(frozen=True)
class SelfTrainingConfig:
    """Self-training (ST, section 4.3, after ZS3Net): a trained model pseudo-labels the unlabelled
    pixels of the training images with unseen classes, then training goes on with them
    (``cagnet self-train RUN_DIR``, ``cagnet.training.self_training``).

    Rules: "percent" (ZS3Net) keeps, per unseen class, the ``percent`` % most confident of the
    pixels predicted as that class over the whole training set; "topk" (the official CaGNet
    code, its ``top_p``) labels a pixel with the best-ranked unseen class among its ``top_k``
    best scores. ``threshold`` > 0 also drops pseudo-labels whose softmax score is below it.
    """

    enabled: bool = False  # true in the configs of the runs self-training writes
    rule: str = "percent"  # percent | topk
    percent: float = 75.0  # percent rule: share (%) of each unseen class's predicted pixels kept
    top_k: int = 1  # topk rule: how many of a pixel's best classes may give its unseen label
    threshold: float = 0.0  # minimum softmax score of a pseudo-label, both rules; 0 = none
    rounds: int = 1  # pseudo-label then train, each round with the newest model
    iterations: int = 0  # per round; 0 = max(train.iterations // 4, 2 * train.alternate_every)
    lr_factor: float = 0.2  # every learning rate x this (official ST: 5e-5 vs 2.5e-4)


@dataclass(frozen=True)
class FeatureCacheConfig:
    """Frozen-backbone mode: E's outputs computed once per image and reused by every run
    (``cagnet.data.feature_cache``; ``cagnet cache CONFIG`` builds the cache beforehand).

    Attributes:
        enabled: train and evaluate on cached features of the frozen backbone; needs
            ``model.backbone.freeze=true`` and ``augment.scale_range=[1.0, 1.0]``. Crops are
            taken in feature space, at offsets that are multiples of the output stride.
        folder: where caches live; "" = ``data/feature_cache`` under the working folder.
        flip: with ``augment.flip``: "images" also caches the features of each mirrored image
            (exact; twice the time and space), "features" mirrors the cached maps (free, but
            E is not exactly mirror-symmetric, so it is an approximation).
    """

    enabled: bool = False
    folder: str = ""
    flip: str = "images"


@dataclass(frozen=True)
class Config:
    """A whole experiment."""

    name: str = "demo"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    output_dir: str = "runs"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    embeddings: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    zs3net: ZS3NetConfig = field(default_factory=ZS3NetConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    self_training: SelfTrainingConfig = field(default_factory=SelfTrainingConfig)
    feature_cache: FeatureCacheConfig = field(default_factory=FeatureCacheConfig)


def override_values(overrides: Sequence[str]) -> dict:
    """``--set key=value`` items as a nested mapping, their file paths absolute: relative to the
    current folder, resolved now, so that a run's saved config names the same files when it is
    read again from the run's folder."""
    return resolve_config_paths(parse_overrides(overrides), Path.cwd())


def load_config(path: Path | None = None, overrides: Sequence[str] = ()) -> Config:
    """Defaults, then the YAML file at ``path`` (if any, over its ``base:`` files), then ``--set``
    overrides.

    Relative file paths in a YAML file are relative to that file's own folder (a base file's to
    the base's folder); those given with ``--set`` to the current folder (``cagnet.config_paths``).
    Either way they come out absolute.
    """
    values, source = {}, "the defaults"
    if path is not None:
        values, files = read_config_file(path, Config, per_file=resolve_config_paths)
        source = str(path)
        if len(files) > 1:
            source += f" (over its base {' <- '.join(str(f) for f in files[1:])})"
    if overrides:
        values = merge(values, override_values(overrides))
        source = f"{source} with --set {' '.join(overrides)}"
    return from_dict(Config, values, source)
