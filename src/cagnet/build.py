"""Build the data, the zero-shot split and the class embeddings from a config.

Models are built by their method (``cagnet.methods``)."""

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from cagnet.config import Config
from cagnet.data.readers import RemappedReader, build_reader, unseen_names
from cagnet.data.sample import IGNORE_INDEX
from cagnet.data.split import ZeroShotSplit
from cagnet.data.synthetic import SYNTHETIC_CLASSES, generate_synthetic
from cagnet.embeddings import class_embeddings
from cagnet.errors import EmbeddingError

SYNTHETIC_EMBEDDINGS = "synthetic_glove50.npy"
DEFAULT_SYNTHETIC_ROOT = Path("data") / "synthetic"


@dataclass(frozen=True)
class Data:
    """The readers of a config's data set and its zero-shot split.

    Attributes:
        train: the training split with every unseen-class pixel already set to 255.
        val: the evaluation split with all labels.
        split: which classes are seen and unseen.
    """

    train: object
    val: object
    split: ZeroShotSplit


def hide_unseen(reader, split: ZeroShotSplit):
    """``reader`` with unseen-class labels replaced by 255: training never sees them."""
    lookup = np.full(256, IGNORE_INDEX)
    lookup[: split.num_classes] = np.arange(split.num_classes)
    lookup[list(split.unseen)] = IGNORE_INDEX
    return RemappedReader(reader, lookup, reader.class_names, name=f"{reader.name} (unseen hidden)")


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
    return Data(train=hide_unseen(train, split), val=val, split=split)


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
