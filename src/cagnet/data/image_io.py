"""The one reader of input images: any file Pillow decodes, as 8-bit RGB the way a viewer shows it.

What it does with each kind of file:

* EXIF orientation (phone and camera JPEGs) is applied, so the pixels stand as a viewer (and an
  annotation tool) shows them; a label of the other orientation fails the readers' size check.
* 16-bit and 32-bit integer grey (PNG/TIFF modes ``I;16*`` and ``I``) is scaled from 0..65535 to
  0..255 (value / 257, rounded), not clipped at 255; values outside 0..65535 are an error.
  Floating-point grey (mode ``F``) must lie in 0..1 and is scaled by 255.
* Transparency (RGBA, LA, palette or grey with a transparent colour) is composited over a stated
  background, white (255, 255, 255) unless the caller gives another; the alpha is then dropped.
  A model never sees alpha, so the background is where the transparent pixels' colour comes from.
  The first such file of a process is named in a warning that states the background.
* Palette, 1-bit, grey, CMYK and YCbCr are converted to RGB by Pillow.

Every failure is a :class:`cagnet.errors.DataError` that names the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from cagnet.errors import DataError

WHITE = (255, 255, 255)
BACKGROUND = WHITE  # the default background of transparent pixels
# PIL raises OSError (UnidentifiedImageError, truncated data), SyntaxError (broken PNG chunks)
# or ValueError for files it cannot decode.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError)
_WIDE_GREY = ("I", "I;16", "I;16L", "I;16B", "I;16N")
_HAS_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")
_alpha_said = False


def read_rgb(path: Path, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Read an image file as an 8-bit RGB image, oriented, scaled and flattened as described above.

    Args:
        path: The image file.
        background: RGB colour that transparent pixels are composited over (default white).

    Returns:
        A loaded PIL image of mode "RGB", size (W, H) after EXIF orientation.

    Raises:
        DataError: when the file is missing, cannot be decoded, or holds values out of range.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image, path, background)
    except FileNotFoundError:
        raise DataError(f"image file {path} does not exist; restore it or remove it") from None
    except DataError:
        raise
    except _DECODE_ERRORS as error:
        raise DataError(
            f"cannot read image {path} ({error}); the file is corrupt, truncated or not an "
            "image: re-download or re-export it"
        ) from error


def to_rgb(
    image: Image.Image, source: str | Path = "<image>", background: tuple[int, int, int] = WHITE
) -> Image.Image:
    """An image already in memory (oriented) as 8-bit RGB, by the same rules as :func:`read_rgb`.

    Args:
        image: A PIL image of any mode.
        source: What to name in errors and warnings (a file name, or where the image came from).
        background: RGB colour that transparent pixels are composited over.

    Returns:
        A PIL image of mode "RGB" and the same size.
    """
    return _to_rgb(image, Path(source), background)


def _to_rgb(image: Image.Image, path: Path, background: tuple[int, int, int]) -> Image.Image:
    if image.mode in _WIDE_GREY:
        values = np.asarray(image).astype(np.int64)
        _check_range(values, 0, 65535, image.mode, path)
        grey = ((values * 255 + 32767) // 65535).astype(np.uint8)  # = round(value / 257)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        _check_range(values, 0.0, 1.0, image.mode, path)
        return Image.fromarray(np.rint(values * 255).astype(np.uint8), mode="L").convert("RGB")
    if image.mode in _HAS_ALPHA or "transparency" in image.info:
        _say_composited(path, background)
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(flat, rgba).convert("RGB")
    if image.mode == "RGB":
        return image.copy()
    return image.convert("RGB")


def _say_composited(path: Path, background: tuple[int, int, int]) -> None:
    global _alpha_said
    if not _alpha_said:
        _alpha_said = True
        warnings.warn(
            f"image {path} has transparency: it is composited over the background "
            f"RGB {tuple(background)} (and so is every later transparent image)",
            stacklevel=4,
        )


def _check_range(values: np.ndarray, low: float, high: float, mode: str, path: Path) -> None:
    if values.size and (values.min() < low or values.max() > high or not np.isfinite(values).all()):
        raise DataError(
            f"image {path} (mode {mode!r}) holds values {values.min()}..{values.max()}, outside "
            f"the {low}..{high} this reader scales to 0..255; re-export it as 8- or 16-bit"
        )
