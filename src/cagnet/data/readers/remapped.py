"""A reader seen through a label lookup table, e.g. to drop the background class."""

from collections.abc import Sequence

import numpy as np

from cagnet.data.readers.base import Reader
from cagnet.data.sample import IGNORE_INDEX, Sample
from cagnet.errors import ConfigError


class RemappedReader:
    """Applies ``lookup`` to every label of ``reader``: new label = ``lookup[old label]``.

    Args:
        reader: the reader to wrap; its labels are 0..K-1 or 255.
        lookup: 256 integers, each a new class index (< ``len(class_names)``) or 255.
        class_names: the new label space.
        name: defaults to the wrapped reader's name.

    Raises:
        ConfigError: when ``lookup`` has not 256 entries or maps to a value outside the new space.
    """

    def __init__(
        self,
        reader: Reader,
        lookup: Sequence[int] | np.ndarray,
        class_names: Sequence[str],
        name: str | None = None,
    ):
        lookup = np.asarray(lookup, dtype=np.int64)
        self.class_names = tuple(class_names)
        num_classes = len(self.class_names)
        if lookup.shape != (256,):
            raise ConfigError(f"a label lookup needs 256 entries, got shape {lookup.shape}")
        outside = (lookup != IGNORE_INDEX) & ((lookup < 0) | (lookup >= num_classes))
        if outside.any():
            raise ConfigError(
                f"label lookup maps to {np.unique(lookup[outside]).tolist()}, outside the "
                f"{num_classes} new classes (allowed: 0..{num_classes - 1} and {IGNORE_INDEX})"
            )
        self.reader = reader
        self.lookup = lookup
        self.name = reader.name if name is None else name
        # A new class is valid when a valid old class maps to it.
        old = np.arange(len(reader.class_names))
        sources = old[np.asarray(reader.valid_classes, dtype=bool) & (lookup[old] != IGNORE_INDEX)]
        self.valid_classes = np.zeros(len(self.class_names), dtype=bool)
        self.valid_classes[lookup[sources]] = True

    def __len__(self) -> int:
        return len(self.reader)

    def load_label(self, index: int) -> np.ndarray:
        """(H, W) int64 remapped label of item ``index``."""
        return self.lookup[self.reader.load_label(index)]

    def __getitem__(self, index: int) -> Sample:
        sample = self.reader[index]
        return Sample(image=sample.image, label=self.lookup[sample.label], name=sample.name)

    def __repr__(self) -> str:
        return f"RemappedReader({self.reader!r}, {len(self.class_names)} classes)"
