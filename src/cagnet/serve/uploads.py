"""Uploaded bytes -> RGB arrays, refusing what is not an image or is too large to segment."""

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cagnet.errors import CagnetError

DEFAULT_MAX_MEGAPIXELS = 20.0


class UploadError(CagnetError):
    """An upload or form field the page cannot segment (its message is shown on the page)."""


def decode_image(data: bytes, name: str, max_megapixels: float) -> np.ndarray:
    """Decodes one uploaded file, checking its size from the header before decoding the pixels.

    Args:
        data: the file's bytes, as uploaded.
        name: the file's name, for the message.
        max_megapixels: the largest width x height accepted, in millions of pixels.

    Returns:
        (H, W, 3) uint8 RGB, turned upright by its EXIF orientation.

    Raises:
        UploadError: the bytes are not an image PIL can read, or it has too many pixels.
    """
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
    except (UnidentifiedImageError, OSError) as error:
        raise UploadError(
            f"{name!r} is not an image (give a JPEG, PNG or similar): {error}"
        ) from None
    megapixels = width * height / 1e6
    if megapixels > max_megapixels:
        raise UploadError(
            f"{name!r} is {width}x{height} = {megapixels:.1f} megapixels, over this server's limit "
            f"of {max_megapixels:g}; scale it down (or start cagnet serve with a larger "
            "--max-megapixels)"
        )
    try:
        image = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UploadError(f"{name!r} could not be decoded: {error}") from None
    return np.asarray(image, dtype=np.uint8)


def parse_class_names(text: str) -> list[str]:
    """``"car, road ,sky"`` -> ``["car", "road", "sky"]``.

    Raises:
        UploadError: no name is given, or a name is given twice.
    """
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UploadError("the class list is empty: type at least one class name, e.g. car, road")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UploadError(f"class names {duplicates} are given more than once; give each once")
    return names


def check_class_count(names: Sequence[str], limit: int = 255) -> None:
    """The label map travels as one byte per pixel, so at most ``limit`` classes fit."""
    if len(names) > limit:
        raise UploadError(f"{len(names)} class names given; the page shows at most {limit}")
