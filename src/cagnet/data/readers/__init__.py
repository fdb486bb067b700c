"""Data set readers and the config that picks one.

A reader is a sequence of ``Sample``s (see ``base.Reader``) whose labels are class indices
into its ``class_names`` or 255. ``build_reader`` reads a data set in its native label space
and applies the zero-shot protocol's label space on top (``cagnet.data.protocols``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cagnet.data.protocols import (
    BACKGROUND,
    ZS3,
    check_protocol,
    default_unseen,
    protocol_label_space,
)
from cagnet.data.readers.base import FilePair, FilePairReader, Reader
from cagnet.data.readers.cocostuff import CocoStuffReader
from cagnet.data.readers.context import ContextReader
from cagnet.data.readers.filtered import FilterUnseenImages
from cagnet.data.readers.folder import FolderReader
from cagnet.data.readers.official import DATASETS as OFFICIAL_DATASETS
from cagnet.data.readers.official import OfficialReader
from cagnet.data.readers.remapped import RemappedReader
from cagnet.data.readers.voc import VOCReader
from cagnet.errors import ConfigError


@dataclass(frozen=True)
class DatasetConfig:
    """Which data set to read and under which zero-shot protocol.

    Attributes:
        kind: synthetic | folder | voc | context | cocostuff | official.
        root: the data set folder (layouts in each reader's module docstring).
        train_split, val_split: split names, e.g. ``train_aug`` / ``val`` for Pascal-VOC,
            ``train2017`` / ``val2017`` for COCO-stuff.
        protocol: ``""`` (label space as it is), ``spnet`` (background ignored) or ``zs3``
            (background is a seen class).
        num_classes: Pascal-Context's class set, 33 or 59 (0 = 59 under zs3, else 33); for
            other kinds 0 or the size of the final label space (a consistency check).
        unseen: unseen class names; empty = ``root/unseen.txt`` for folder kinds when it
            exists, else the protocol's default list.
        num_unseen: size of a ZS3Net list (2, 4, 6, 8, 10); 0 = the paper's choice.
        remove_unseen_images: drop training images that show an unseen class (ZS3Net).
        dataset: for kind ``official``: voc12 | context | cocostuff; empty = the root
            folder's name (the release unpacks into ``dataset/<name>``).
    """

    kind: str = "synthetic"
    root: str = ""
    train_split: str = "train"
    val_split: str = "val"
    protocol: str = ""
    num_classes: int = 0
    unseen: tuple[str, ...] = ()
    num_unseen: int = 0
    remove_unseen_images: bool = False
    dataset: str = ""


def context_classes(config: DatasetConfig) -> int:
    """Pascal-Context's class set for ``config``: 33 or 59."""
    if config.num_classes not in (0, 33, 59):
        raise ConfigError(
            f"dataset.num_classes={config.num_classes} but Pascal-Context has sets of 33 and "
            "59 classes; set 33, 59 or 0 (59 under zs3, else 33)"
        )
    return config.num_classes or (59 if config.protocol == ZS3 else 33)


def official_dataset(config: DatasetConfig) -> str:
    """The official release's data set name: ``config.dataset`` or the root folder's name."""
    name = config.dataset or Path(config.root).name
    if name not in OFFICIAL_DATASETS:
        raise ConfigError(
            f"cannot tell which official data set {config.root} holds (dataset={name!r}); "
            f"set dataset.dataset to one of {list(OFFICIAL_DATASETS)}"
        )
    return name


def dataset_key(config: DatasetConfig) -> str:
    """The key of the protocols' tables: voc, context33, context59, cocostuff or folder."""
    if config.kind == "context":
        return f"context{context_classes(config)}"
    if config.kind == "official":
        return {"voc12": "voc", "context": "context33"}.get(official_dataset(config), "cocostuff")
    return {"voc": "voc", "cocostuff": "cocostuff"}.get(config.kind, "folder")


_BUILDERS: dict[str, Callable[[DatasetConfig, str], Reader]] = {
    "synthetic": lambda config, split: FolderReader(config.root, split),
    "folder": lambda config, split: FolderReader(config.root, split),
    "voc": lambda config, split: VOCReader(config.root, split),
    "context": lambda config, split: ContextReader(config.root, split, context_classes(config)),
    "cocostuff": lambda config, split: CocoStuffReader(config.root, split),
    "official": lambda config, split: OfficialReader(config.root, split, official_dataset(config)),
}
KINDS = tuple(_BUILDERS)


def check_kind(config: DatasetConfig) -> None:
    """ConfigError listing the kinds when ``config.kind`` is not one of them."""
    if config.kind not in _BUILDERS:
        raise ConfigError(f"unknown dataset.kind {config.kind!r}; choose one of {list(KINDS)}")


def build_reader(config: DatasetConfig, split: str, *, training: bool | None = None) -> Reader:
    """The reader of ``split`` in the label space of ``config.protocol``.

    Args:
        config: the data set config.
        split: a split name of the data set (e.g. ``config.train_split``).
        training: whether this is the training set (for ``remove_unseen_images``);
            default ``split == config.train_split``.

    Raises:
        ConfigError: on an unknown kind or protocol, an empty root or inconsistent settings.
        DataError: when the root does not hold the expected layout.
    """
    check_kind(config)
    if not config.root:
        raise ConfigError(f"dataset.root is empty; set it to the folder of the {config.kind} data")
    check_protocol(config.protocol)
    reader = _BUILDERS[config.kind](config, split)
    space = protocol_label_space(reader.class_names, config.protocol)
    if space.changed:
        name = f"{reader.name} ({config.protocol})"
        reader = RemappedReader(reader, space.lookup, space.class_names, name=name)
    if config.kind != "context" and config.num_classes not in (0, len(reader.class_names)):
        raise ConfigError(
            f"dataset.num_classes={config.num_classes} but {reader.name} has "
            f"{len(reader.class_names)} classes; set it to 0 or {len(reader.class_names)}"
        )
    if training is None:
        training = split == config.train_split
    if config.remove_unseen_images and training:
        names = unseen_names(config, reader.class_names)
        reader = FilterUnseenImages(reader, [reader.class_names.index(n) for n in names])
    return reader


def unseen_names(config: DatasetConfig, class_names: Sequence[str]) -> tuple[str, ...]:
    """The unseen class names of ``config``, checked against ``class_names``.

    In order: ``config.unseen``; for folder kinds ``root/unseen.txt`` when it exists; the
    protocol's default list (``cagnet.data.protocols.default_unseen``).

    Raises:
        ConfigError: when no list applies, or a name is not a class, repeats or is background.
    """
    check_kind(config)
    check_protocol(config.protocol)
    unseen_file = Path(config.root) / "unseen.txt"
    if config.unseen:
        names, source = tuple(config.unseen), "dataset.unseen"
        if config.num_unseen not in (0, len(names)):
            raise ConfigError(
                f"dataset.num_unseen={config.num_unseen} but dataset.unseen names "
                f"{len(names)} classes; set num_unseen to 0 or {len(names)}"
            )
    elif config.kind in ("synthetic", "folder") and config.root and unseen_file.is_file():
        lines = unseen_file.read_text().splitlines()
        names, source = tuple(line.strip() for line in lines if line.strip()), str(unseen_file)
    else:
        names = default_unseen(dataset_key(config), config.protocol, config.num_unseen)
        source = f"the {config.protocol} protocol"
    missing = [name for name in names if name not in class_names]
    if missing:
        raise ConfigError(
            f"unseen class(es) {missing} from {source} are not in the class list "
            f"{list(class_names)}; spell them as the class list does"
        )
    if len(set(names)) != len(names) or BACKGROUND in names:
        raise ConfigError(
            f"unseen classes {list(names)} from {source} repeat a class or include "
            f"{BACKGROUND!r}; list each unseen object class once"
        )
    return names


__all__ = [
    "KINDS",
    "CocoStuffReader",
    "ContextReader",
    "DatasetConfig",
    "FilePair",
    "FilePairReader",
    "FilterUnseenImages",
    "FolderReader",
    "OfficialReader",
    "Reader",
    "RemappedReader",
    "VOCReader",
    "build_reader",
    "dataset_key",
    "unseen_names",
]
