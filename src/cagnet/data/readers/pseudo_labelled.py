"""The training reader with self-training's pseudo-labels filled in where its label is 255.

Pseudo-labels live on disk, one single-channel PNG per training image
(``<folder>/<index:06d>.png``, the image's size, values: a class index or 255 = none), so
that a large training set's pseudo-labels are never all in memory.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from cagnet.atomic import atomic_save_image
from cagnet.data.readers.base import Reader, check_index
from cagnet.data.readers.files import check_label_values, load_index_png
from cagnet.data.sample import IGNORE_INDEX, Sample
from cagnet.errors import DataError


def pseudo_label_path(folder: Path, index: int) -> Path:
    """Where the pseudo-label of training image ``index`` is stored."""
    return Path(folder) / f"{index:06d}.png"


def write_pseudo_label(folder: Path, index: int, label: np.ndarray) -> Path:
    """Write one pseudo-label map atomically (temporary file, then rename).

    Args:
        label: (H, W) integers, each a class index below 255 or 255 (no pseudo-label).

    Returns:
        The path written.
    """
    label = np.asarray(label)
    out_of_range = label.size > 0 and (label.min() < 0 or label.max() > IGNORE_INDEX)
    if label.ndim != 2 or out_of_range:
        raise ValueError(f"a pseudo-label must be (H, W) values in 0..255, got {label.shape}")
    path = pseudo_label_path(folder, index)
    return atomic_save_image(path, Image.fromarray(label.astype(np.uint8)))


class PseudoLabelledReader:
    """``reader`` whose labels take the pseudo-label wherever they are 255.

    Labelled pixels are never changed. Nothing is re-hidden afterwards: a pseudo-label of an
    unseen class reaches the training step as it is (that is what self-training is for).

    Args:
        reader: the training reader (unseen classes already hidden, see ``build.hide_unseen``).
        pseudo_labels: the folder of PNGs written by ``write_pseudo_label``, one per image.

    Raises:
        DataError: when the folder does not exist.
    """

    def __init__(self, reader: Reader, pseudo_labels: Path):
        self.reader = reader
        self.folder = Path(pseudo_labels)
        if not self.folder.is_dir():
            raise DataError(
                f"pseudo-label folder {self.folder} does not exist; run `cagnet self-train` "
                "to create it"
            )
        self.class_names = reader.class_names
        self.valid_classes = reader.valid_classes
        self.name = f"{reader.name} (pseudo-labelled)"

    def __len__(self) -> int:
        return len(self.reader)

    def _fill(self, index: int, label: np.ndarray) -> np.ndarray:
        path = pseudo_label_path(self.folder, index)
        pseudo = load_index_png(path)
        if pseudo.shape != label.shape:
            raise DataError(
                f"pseudo-label {path} is {pseudo.shape[1]}x{pseudo.shape[0]} but training label "
                f"{index} is {label.shape[1]}x{label.shape[0]}; the pseudo-labels belong to "
                "another data set: run `cagnet self-train` again"
            )
        check_label_values(pseudo, len(self.class_names), path)
        return np.where(label == IGNORE_INDEX, pseudo, label)

    def load_label(self, index: int) -> np.ndarray:
        """(H, W) int64 label of item ``index`` with pseudo-labels filled in."""
        index = check_index(index, len(self))
        return self._fill(index, self.reader.load_label(index))

    def __getitem__(self, index: int) -> Sample:
        index = check_index(index, len(self))
        sample = self.reader[index]
        return Sample(image=sample.image, label=self._fill(index, sample.label), name=sample.name)

    def __repr__(self) -> str:
        return f"PseudoLabelledReader({self.reader!r}, {str(self.folder)!r})"
