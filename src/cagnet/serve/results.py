"""One prediction -> the JSON the page draws: image, label map, colours and per-class areas."""

import base64
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from cagnet.visualize import palette


def _data_url(image: Image.Image, kind: str, **options) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/{kind.lower()};base64,{encoded}"


def label_png(labels: np.ndarray, class_names: Sequence[str]) -> Image.Image:
    """(H, W) class indices -> a palette PNG whose pixel values are the indices."""
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(palette(len(class_names))[:-1].reshape(-1).tolist())
    return image


def class_areas(labels: np.ndarray, num_classes: int) -> list[int]:
    """(H, W) class indices -> the number of pixels of each class."""
    return np.bincount(labels.reshape(-1), minlength=num_classes)[:num_classes].tolist()


def encode_result(
    name: str, image: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> dict:
    """What the page needs to draw one result and offer its label PNG.

    Args:
        name: the upload's file name (or the example's).
        image: (H, W, 3) uint8 RGB, as segmented.
        labels: (H, W) int class indices into ``class_names``.
        class_names: the classes asked for.

    Returns:
        A JSON-ready dict: ``image`` (JPEG data URL), ``labels`` (base64 of H*W uint8 indices,
        row-major), ``label_png`` (data URL), ``colours`` (hex per class), ``areas`` (pixels per
        class), ``width``, ``height``, ``class_names``.
    """
    height, width = labels.shape
    colours = palette(len(class_names))[:-1]
    return {
        "name": name,
        "width": width,
        "height": height,
        "class_names": list(class_names),
        "colours": ["#{:02x}{:02x}{:02x}".format(*row) for row in colours.tolist()],
        "areas": class_areas(labels, len(class_names)),
        "labels": base64.b64encode(labels.astype(np.uint8).tobytes()).decode("ascii"),
        "label_png": _data_url(label_png(labels, class_names), "PNG"),
        "image": _data_url(Image.fromarray(image), "JPEG", quality=90),
    }
