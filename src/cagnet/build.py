"""Build the data, the zero-shot split, the class embeddings and the model from a config."""

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import torch

from cagnet.config import Config
from cagnet.data.readers import build_reader, unseen_names
from cagnet.data.split import ZeroShotSplit
from cagnet.data.synthetic import SYNTHETIC_CLASSES, generate_synthetic
from cagnet.embeddings import class_embeddings
from cagnet.errors import ConfigError, EmbeddingError
from cagnet.models.backbones import build_backbone
from cagnet.models.cagnet import CaGNet, ContextEncoder
from cagnet.models.contextual_module import ContextualModule
from cagnet.models.generator import Generator
from cagnet.models.heads import SharedHeads

SYNTHETIC_EMBEDDINGS = "synthetic_glove50.npy"
DEFAULT_SYNTHETIC_ROOT = Path("data") / "synthetic"


@dataclass(frozen=True)
class Data:
    """The readers of a config's data set and its zero-shot split."""

    train: object
    val: object
    split: ZeroShotSplit


def prepare_dataset(config: Config, progress: bool = True) -> Config:
    """Generate the embedded benchmark when the config uses it; return the config with its root.

    The synthetic data set is written to ``dataset.root`` (default ``data/synthetic-seed<N>``)
    and reused when it is already there with the same settings.
    """
    if config.dataset.kind != "synthetic":
        return config
    root = Path(config.dataset.root or f"data/synthetic-seed{config.synthetic.seed}")
    generate_synthetic(root, config.synthetic, progress=progress)
    return replace(config, dataset=replace(config.dataset, root=str(root)))


def build_data(config: Config) -> Data:
    """Readers for the train and val splits and the zero-shot split of the config's data set."""
    train = build_reader(config.dataset, config.dataset.train_split)
    val = build_reader(config.dataset, config.dataset.val_split)
    names = tuple(train.class_names)
    split = ZeroShotSplit.from_names(
        names, unseen_names(config.dataset, names), source="dataset.unseen"
    )
    return Data(train=train, val=val, split=split)


def build_embeddings(config: Config, class_names: tuple[str, ...], base_dir: Path | None = None):
    """(K, d) class embeddings; the embedded benchmark defaults to its shipped GloVe rows."""
    sources = config.embeddings.sources
    if not sources:
        if tuple(class_names) != tuple(SYNTHETIC_CLASSES):
            raise EmbeddingError(
                "embeddings.sources is empty; give a file with one row per class (.npy/.pkl/.pt), "
                "'glove', 'minilm' or 'vectors:PATH'"
            )
        asset = resources.files("cagnet") / "assets" / SYNTHETIC_EMBEDDINGS
        sources = (str(asset),)
    return class_embeddings(sources, class_names, base_dir=base_dir)


def build_model(config: Config, embeddings: torch.Tensor) -> CaGNet:
    """CaGNet with its parts switched on or off by ``config.model``."""
    model_config = config.model
    if model_config.method != "cagnet":
        raise ConfigError(f"model.method={model_config.method!r}; this build knows 'cagnet'")
    backbone = build_backbone(model_config.backbone)
    channels = backbone.out_channels
    contextual = (
        ContextualModule(channels, model_config.contextual)
        if model_config.use_contextual_module
        else None
    )
    encoder = ContextEncoder(backbone, contextual, residual=model_config.residual)
    generator = (
        Generator(
            latent_dim=channels,
            embedding_dim=embeddings.shape[1],
            feature_dim=channels,
            hidden=model_config.generator_hidden,
            dropout=model_config.generator_dropout,
        )
        if model_config.use_generator
        else None
    )
    heads = SharedHeads(
        channels, embeddings.shape[0], model_config.heads_hidden, model_config.heads_dropout
    )
    return CaGNet(encoder, generator, heads, embeddings)
