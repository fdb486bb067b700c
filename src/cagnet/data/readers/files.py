"""Reading one image or one label file, with errors that name the file and say what to do."""

from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from cagnet.data.image_io import read_rgb
from cagnet.data.sample import IGNORE_INDEX
from cagnet.errors import DataError

# PIL raises OSError (UnidentifiedImageError, truncated data), SyntaxError (broken PNG chunks)
# or ValueError for files it cannot decode.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError)
_INDEX_MODES = ("L", "P", "I", "I;16")


def load_image(path: Path) -> np.ndarray:
    """Read an image as RGB with :func:`cagnet.data.image_io.read_rgb` (EXIF orientation applied,
    16-bit scaled, transparency composited on white, palette/CMYK/grey converted).

    Returns:
        uint8 array of shape (H, W, 3).

    Raises:
        DataError: when the file is missing or cannot be decoded; the message names the file.
    """
    return np.asarray(read_rgb(path), dtype=np.uint8).copy()


def load_index_png(path: Path) -> np.ndarray:
    """Read a label PNG whose pixel values are class indices.

    Palette PNGs (mode "P", e.g. Pascal-VOC's ``SegmentationClass``) are read as palette
    indices, never as colours.

    Returns:
        int64 array of shape (H, W).

    Raises:
        DataError: when the file is missing, corrupt or not single-channel.
    """
    try:
        with Image.open(path) as image:
            if image.mode not in _INDEX_MODES:
                raise DataError(
                    f"label file {path} has mode {image.mode!r}; expected a single-channel "
                    "PNG of class indices (mode 'L' or palette 'P'); a colour-coded mask must "
                    "first be converted to class indices"
                )
            return np.asarray(image, dtype=np.int64).copy()
    except FileNotFoundError:
        raise DataError(f"label file {path} does not exist; restore it or remove it") from None
    except _DECODE_ERRORS as error:
        raise DataError(
            f"cannot read label file {path} ({error}); the file is corrupt: re-download it"
        ) from error


def load_sbd_mat(path: Path) -> np.ndarray:
    """Read the class map of an SBD annotation (``cls/*.mat``, struct ``GTcls.Segmentation``).

    Returns:
        int64 array of shape (H, W).

    Raises:
        DataError: when the file is missing, unreadable or lacks ``GTcls.Segmentation``.
    """
    if not path.is_file():
        raise DataError(f"SBD annotation {path} does not exist; restore it or remove it")
    try:
        content = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except (OSError, ValueError, NotImplementedError, scipy.io.matlab.MatReadError) as error:
        raise DataError(
            f"cannot read SBD annotation {path} ({error}); re-download benchmark_RELEASE"
        ) from error
    segmentation = getattr(content.get("GTcls"), "Segmentation", None)
    if segmentation is None:
        raise DataError(
            f"SBD annotation {path} has no field GTcls.Segmentation (keys: "
            f"{sorted(k for k in content if not k.startswith('__'))}); expected a class "
            "annotation from benchmark_RELEASE/dataset/cls"
        )
    return np.asarray(segmentation, dtype=np.int64)


def load_label(path: Path) -> np.ndarray:
    """Read a label file by its suffix: ``.png`` class indices or ``.mat`` SBD annotation."""
    if path.suffix.lower() == ".mat":
        return load_sbd_mat(path)
    return load_index_png(path)


def check_label_values(label: np.ndarray, num_classes: int, path: Path) -> None:
    """Raise DataError when a label value is neither a class index nor ``IGNORE_INDEX``."""
    values = np.unique(label)
    bad = values[((values < 0) | (values >= num_classes)) & (values != IGNORE_INDEX)]
    if bad.size:
        raise DataError(
            f"label file {path} holds value(s) {bad.tolist()}, but the data set has "
            f"{num_classes} classes (valid values: 0..{num_classes - 1} and {IGNORE_INDEX} = "
            "ignore); fix the file or the class list"
        )


def check_same_size(
    image: np.ndarray, label: np.ndarray, image_path: Path, label_path: Path
) -> None:
    """Raise DataError when image and label differ in size, giving both sizes as W x H."""
    if image.shape[:2] != label.shape:
        (ih, iw), (lh, lw) = image.shape[:2], label.shape
        raise DataError(
            f"image {image_path} is {iw}x{ih} but its label {label_path} is {lw}x{lh} "
            "(width x height); they must have the same size: re-export one of them"
        )
