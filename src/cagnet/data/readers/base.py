"""What every data set reader offers, and the reader over a list of image/label file pairs."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from cagnet.data.readers.files import check_label_values, check_same_size, load_image, load_label
from cagnet.data.sample import Sample
from cagnet.errors import DataError


class Reader(Protocol):
    """A data set split: a sequence of ``Sample`` whose labels are in ``class_names``' space.

    Attributes:
        name: a short description such as ``"voc2012/val"``.
        class_names: class i is ``class_names[i]``; labels hold 0..K-1 or 255 (ignore).
        valid_classes: (K,) bool; False for a class that can never occur in the ground
            truth (e.g. COCO-stuff's never-annotated things). Means over classes should skip
            those.
    """

    name: str
    class_names: tuple[str, ...]
    valid_classes: np.ndarray

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Sample: ...

    def load_label(self, index: int) -> np.ndarray:
        """(H, W) int64 label of item ``index`` without decoding its image."""
        ...


@dataclass(frozen=True)
class FilePair:
    """One item on disk: its name (file stem), its image and its label file."""

    name: str
    image: Path
    label: Path


def check_index(index: int, length: int) -> int:
    """Return ``index`` made non-negative; IndexError when out of range (sequence protocol)."""
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a reader of {length} items")
    return index % length


class FilePairReader:
    """A reader over image/label file pairs; each item is validated when it is read.

    Args:
        pairs: the items, in reading order.
        class_names: the label space; label files hold indices into it or 255.
        name: a short description of the split, e.g. ``"camvid/val"``.
        valid_classes: (K,) bool, default all True.

    Raises:
        DataError: when ``pairs`` is empty.
    """

    def __init__(
        self,
        pairs: Sequence[FilePair],
        class_names: Sequence[str],
        name: str,
        valid_classes: np.ndarray | None = None,
    ):
        if not pairs:
            raise DataError(f"data set {name} has no items; check the root and the split")
        self.pairs = tuple(pairs)
        self.class_names = tuple(class_names)
        self.name = name
        if valid_classes is None:
            valid_classes = np.ones(len(self.class_names), dtype=bool)
        self.valid_classes = np.asarray(valid_classes, dtype=bool)

    def __len__(self) -> int:
        return len(self.pairs)

    def load_label(self, index: int) -> np.ndarray:
        """(H, W) int64 label of item ``index``; DataError on a bad file or value."""
        pair = self.pairs[check_index(index, len(self))]
        label = load_label(pair.label)
        check_label_values(label, len(self.class_names), pair.label)
        return label

    def __getitem__(self, index: int) -> Sample:
        pair = self.pairs[check_index(index, len(self))]
        label = self.load_label(index)
        image = load_image(pair.image)
        check_same_size(image, label, pair.image, pair.label)
        return Sample(image=image, label=label, name=pair.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self)} items)"
