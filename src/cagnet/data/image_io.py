"""Read any user image as 8-bit RGB: JPEG, PNG (8/16-bit, palette, RGBA, grey), WebP, TIFF.

EXIF orientation is applied; 16-bit samples are scaled to 8 bits by 257 (65535 -> 255), not
clipped; transparency is composited on a white background (``BACKGROUND``).
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cagnet.errors import DataError

BACKGROUND = (255, 255, 255)  # what transparent pixels become


def _scale_16bit(image: Image.Image) -> Image.Image:
    """A 16/32-bit integer grey image ("I;16", "I") as 8-bit "L", dividing by 257."""
    values = np.asarray(image, dtype=np.float64)
    return Image.fromarray(np.clip(np.round(values / 257.0), 0, 255).astype(np.uint8), "L")


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL image (already oriented) as RGB, following the rules of this module."""
    if image.mode.startswith("I;16") or image.mode == "I":
        image = _scale_16bit(image)
    if image.mode == "F":
        raise DataError("floating-point images are not supported; save the image as PNG or JPEG")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, BACKGROUND)
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def read_rgb(path: Path) -> Image.Image:
    """Decode the image file at ``path`` as an RGB PIL image.

    Args:
        path: a JPEG, PNG, WebP, BMP or TIFF file.

    Returns:
        An RGB image (H, W) with EXIF orientation applied.

    Raises:
        DataError: naming the file when it is missing or cannot be decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image {path} does not exist")
    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
            return to_rgb(image)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise DataError(
            f"image {path} cannot be decoded ({error}); give a JPEG, PNG or WebP file"
        ) from error
