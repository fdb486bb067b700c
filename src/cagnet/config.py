"""The experiment config: frozen, typed dataclasses with the paper's defaults.

A YAML file under ``configs/`` overrides a few fields, ``--set a.b=value`` overrides more; the
resolved config is written into the run folder (``config.yaml``) and a run is reproducible from
it. Defaults are the embedded benchmark with the small CNN, so ``cagnet demo`` needs no file.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cagnet.config_io import from_dict, merge, parse_overrides, read_yaml
from cagnet.data.readers import DatasetConfig
from cagnet.data.synthetic import SyntheticConfig
from cagnet.models.backbones import BackboneConfig
from cagnet.models.contextual_module import ContextualModuleConfig


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
    contextual: ContextualModuleConfig = field(default_factory=ContextualModuleConfig)
    use_contextual_module: bool = True
    use_generator: bool = True
    use_discriminator: bool = True
    residual: bool = True
    generator_hidden: tuple[int, ...] = (512,)
    generator_dropout: float = 0.2
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
    content: str = "l2"  # l2 (the paper's L_REC) | mmd (the official code's content loss)
    mmd_bandwidths: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0, 40.0, 60.0)
    generated_classification_weight: float = 1.0  # C on G's features in the training step


@dataclass(frozen=True)
class TrainConfig:
    """The schedule of section 3.4 and the optimisers."""

    iterations: int = 1200
    pretrain_iterations: int = 600  # pure training steps before the alternation starts
    alternate_every: int = 100  # training and finetuning steps alternate in blocks this long
    batch_size: int = 8
    lr: float = 2.5e-4  # backbone and CM, SGD with poly decay
    lr_contextual_multiplier: float = 5.0  # the official code's 5x for the CM
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9
    optimizer: str = "sgd"  # sgd | adam, for backbone and CM
    lr_generator: float = 2e-4  # Adam
    lr_heads: float = 2e-4  # Adam, classifier + discriminator
    unseen_ratio: str = "1:1"  # seen:unseen pixels in finetuning; "a:b" or "classes" (|Cs|:|Cu|)
    finetune_pixels: int = 0  # generated pixels per finetuning step; 0 = a training batch's
    amp: str = ""  # "" | bf16 | fp16 (GPU only)
    num_workers: int = 0
    log_every: int = 20
    checkpoint_every: int = 200
    eval_every: int = 0  # 0 = evaluate only at the end


@dataclass(frozen=True)
class EvalConfig:
    """How predictions are scored."""

    resolution: str = "label"  # label (upsample logits) | feature (official: downsample labels)
    batch_size: int = 4
    num_overlays: int = 4
    max_images: int = 0  # 0 = every image of the split; otherwise stated in the report


@dataclass(frozen=True)
class ZS3NetConfig:
    """ZS3Net's stages after the segmentation network is trained (``cagnet.methods.zs3net``)."""

    generator_iterations: int = 200
    classifier_iterations: int = 200
    noise_dim: int = 300


@dataclass(frozen=True)
class CalibrationConfig:
    """SPNet-c's calibration: gamma subtracted from seen-class scores at test time."""

    gamma: float = 0.0


@dataclass(frozen=True)
class SelfTrainingConfig:
    """Self-training (ST): pseudo-label unlabelled training pixels, then train on."""

    enabled: bool = False


@dataclass(frozen=True)
class FeatureCacheConfig:
    """Frozen-backbone mode: backbone outputs computed once and reused."""

    enabled: bool = False


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


def load_config(path: Path | None = None, overrides: Sequence[str] = ()) -> Config:
    """Defaults, then the YAML file at ``path`` (if any), then ``--set`` overrides."""
    values = read_yaml(path) if path is not None else {}
    source = str(path) if path is not None else "the defaults"
    if overrides:
        values = merge(values, parse_overrides(overrides))
        source = f"{source} with --set {' '.join(overrides)}"
    return from_dict(Config, values, source)
