"""Build the data, the zero-shot split and the class embeddings from a config.

Models are built by their method (``cagnet.methods``)."""

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from cagnet.config import Config
from cagnet.data.protocols import BACKGROUND
from cagnet.data.readers import (
    DatasetConfig,
    RemappedReader,
    build_reader,
    context_classes,
    official_dataset,
    unseen_names,
)
from cagnet.data.readers.class_names import (
    COCO_STUFF_CLASSES,
    CONTEXT_33_CLASSES,
    CONTEXT_59_CLASSES,
    VOC_CLASSES,
)
from cagnet.data.split import ZeroShotSplit
from cagnet.data.synthetic import SYNTHETIC_CLASSES, generate_synthetic
from cagnet.embeddings import ENCODERS, embed_source
from cagnet.embeddings.files import FILE_SUFFIXES
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
    name = f"{reader.name} (unseen hidden)"
    return RemappedReader(reader, split.hiding_lookup(), reader.class_names, name=name)


def prepare_dataset(config: Config, progress: bool = True) -> Config:
    """Generate the embedded benchmark when the config uses it; return the config with its root.

    The synthetic data set is written to ``dataset.root`` (default ``data/synthetic-seed<N>``
    under the current folder) and reused when it is already there with the same settings; the
    config returned holds its absolute path.
    """
    if config.dataset.kind != "synthetic":
        return config
    root = Path(config.dataset.root or f"data/synthetic-seed{config.synthetic.seed}")
    root = root.absolute()  # the run's saved config then works from any folder (cagnet eval)
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


def native_class_names(dataset: DatasetConfig) -> tuple[str, ...] | None:
    """The class list of the data set's own label files, before the protocol's label space.

    Pascal-VOC: 21 (background first); Pascal-Context: background + 33 or 59; COCO-stuff: 182;
    the official release: its data set's list. None for folder and synthetic data.
    """
    if dataset.kind == "voc":
        return VOC_CLASSES
    if dataset.kind == "context":
        names = {33: CONTEXT_33_CLASSES, 59: CONTEXT_59_CLASSES}[context_classes(dataset)]
        return (BACKGROUND, *names)
    if dataset.kind == "cocostuff":
        return COCO_STUFF_CLASSES
    if dataset.kind == "official":
        return {
            "voc12": VOC_CLASSES,
            "context": (BACKGROUND, *CONTEXT_33_CLASSES),
            "cocostuff": COCO_STUFF_CLASSES,
        }[official_dataset(dataset)]
    return None


def _is_matrix_file(source: str) -> bool:
    return source not in ENCODERS and Path(source).suffix.lower() in FILE_SUFFIXES


def source_rows(
    source: str,
    class_names: tuple[str, ...],
    native: tuple[str, ...] | None,
    base_dir: Path | None = None,
) -> np.ndarray:
    """One embedding source's (K, d) unit rows for ``class_names``.

    A matrix file with one row per class of the data set's native list (e.g. the official
    ``word2vec.pkl`` of voc12: 21 rows with background, while the spnet protocol has 20
    classes) gives the rows of ``class_names``, picked by name from ``native``.

    Raises:
        EmbeddingError: when the source has one row neither per class nor per native class.
    """
    try:
        return embed_source(source, class_names, base_dir)
    except EmbeddingError as error:
        if not native or len(native) == len(class_names) or not _is_matrix_file(source):
            raise
        first = error
    missing = [name for name in class_names if name not in native]
    if missing:
        raise EmbeddingError(f"{first}; classes {missing} are not in the data set's list")
    try:
        rows = embed_source(source, native, base_dir)
    except EmbeddingError as error:
        raise EmbeddingError(
            f"{first}; nor does it have one row per class of the data set's own list "
            f"({len(native)} classes, {native[0]!r} first)"
        ) from error
    return rows[[native.index(name) for name in class_names]]


def build_embeddings(
    config: Config, class_names: tuple[str, ...], base_dir: Path | None = None
) -> torch.Tensor:
    """(K, d) class embeddings for the K classes of the protocol's label space.

    Each source of ``embeddings.sources`` gives (K, d_i) unit rows (see ``source_rows``): a
    file may hold one row per class of the label space or of the data set's native list
    (the official CaGNet ``word_vectors/*.pkl``). The blocks are concatenated in the order
    given, e.g. ``[fasttext.pkl, word2vec.pkl]`` gives the paper's 600-d rows. Relative paths
    are resolved against ``base_dir``, by default the working folder (as ``dataset.root``).
    Without sources, the embedded benchmark uses its shipped GloVe rows.
    """
    sources = config.embeddings.sources
    if not sources:
        if tuple(class_names) != tuple(SYNTHETIC_CLASSES):
            raise EmbeddingError(
                "embeddings.sources is empty; give a file with one row per class (.npy/.pkl/.pt), "
                "'glove', 'minilm' or 'vectors:PATH'"
            )
        asset = resources.files("cagnet") / "assets" / SYNTHETIC_EMBEDDINGS
        sources = (str(asset),)
    if isinstance(sources, str):
        sources = (sources,)
    if not class_names:
        raise EmbeddingError("no class names given to embed")
    native = native_class_names(config.dataset)
    blocks = [source_rows(source, tuple(class_names), native, base_dir) for source in sources]
    return torch.from_numpy(np.concatenate(blocks, axis=1).astype(np.float32))
