"""A reader without the images that show an unseen class (ZS3Net's stricter training set)."""

from collections.abc import Sequence

import numpy as np

from cagnet.data.readers.base import Reader, check_index
from cagnet.data.sample import Sample
from cagnet.errors import DataError


class FilterUnseenImages:
    """Keeps only the items of ``reader`` whose label holds none of the ``unseen`` classes.

    Every label is read once when the wrapper is built (labels only, no image decoding).

    Args:
        reader: the reader to filter.
        unseen: class indices in ``reader``'s label space.

    Raises:
        DataError: when every image shows an unseen class.
    """

    def __init__(self, reader: Reader, unseen: Sequence[int]):
        unseen_mask = np.zeros(256, dtype=bool)
        unseen_mask[list(unseen)] = True
        self.reader = reader
        self.unseen = tuple(sorted(unseen))
        self.kept = tuple(
            i for i in range(len(reader)) if not unseen_mask[reader.load_label(i)].any()
        )
        if not self.kept:
            raise DataError(
                f"every image of {reader.name} shows an unseen class {self.unseen}; "
                "turn remove_unseen_images off or choose other unseen classes"
            )
        self.class_names = reader.class_names
        self.valid_classes = reader.valid_classes
        self.name = reader.name

    def __len__(self) -> int:
        return len(self.kept)

    def load_label(self, index: int) -> np.ndarray:
        """(H, W) int64 label of kept item ``index``."""
        return self.reader.load_label(self.kept[check_index(index, len(self))])

    def __getitem__(self, index: int) -> Sample:
        return self.reader[self.kept[check_index(index, len(self))]]

    def __repr__(self) -> str:
        return f"FilterUnseenImages({self.reader!r}, kept {len(self)} of {len(self.reader)})"
