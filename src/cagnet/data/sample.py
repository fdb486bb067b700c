"""The one record every data set reader returns."""

from dataclasses import dataclass

import numpy as np

IGNORE_INDEX = 255


@dataclass
class Sample:
    """One image and its label map.

    Attributes:
        image: uint8 array of shape (H, W, 3), RGB.
        label: int64 array of shape (H, W); values are class indices into the reader's
            ``class_names`` or ``IGNORE_INDEX`` (255).
        name: a stable identifier (file stem), used for overlays and error messages.
    """

    image: np.ndarray
    label: np.ndarray
    name: str
