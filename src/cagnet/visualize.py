"""Pictures of results: colour label maps, and image | ground truth | prediction panels."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from cagnet.atomic import atomic_save_image
from cagnet.data.sample import IGNORE_INDEX

MIN_HEIGHT = 192  # panels of smaller images are enlarged by an integer factor


def palette(num_classes: int) -> np.ndarray:
    """(num_classes + 1, 3) uint8 colours; the last row (black) is for ignored pixels.

    Uses the VOC bit-interleaving scheme so neighbouring indices get distinct colours.
    """
    colours = np.zeros((num_classes + 1, 3), dtype=np.uint8)
    for index in range(num_classes):
        value, red, green, blue = index + 1, 0, 0, 0
        for bit in range(8):
            red |= ((value >> 0) & 1) << (7 - bit)
            green |= ((value >> 1) & 1) << (7 - bit)
            blue |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        colours[index] = (red, green, blue)
    return colours


def colourise(label: np.ndarray, num_classes: int) -> np.ndarray:
    """(H, W) class indices (IGNORE_INDEX allowed) -> (H, W, 3) uint8 colours."""
    label = np.where(label == IGNORE_INDEX, num_classes, label).clip(0, num_classes)
    return palette(num_classes)[label]


def panel(
    image: np.ndarray,
    truth: np.ndarray,
    prediction: np.ndarray,
    class_names: Sequence[str],
    unseen: Sequence[int] = (),
) -> Image.Image:
    """Image, ground truth and prediction side by side, with a legend of the classes shown.

    Args:
        image: (H, W, 3) uint8.
        truth, prediction: (H, W) class indices.
        unseen: unseen class indices, marked with '*' in the legend.
    """
    num_classes = len(class_names)
    factor = max(
        1, -(-MIN_HEIGHT // truth.shape[0])
    )  # small images are enlarged, pixels kept sharp
    image, truth, prediction = (
        np.repeat(np.repeat(a, factor, 0), factor, 1) for a in (image, truth, prediction)
    )
    height, width = truth.shape
    overlay = (0.5 * image + 0.5 * colourise(prediction, num_classes)).astype(np.uint8)
    row = np.concatenate(
        [image, colourise(truth, num_classes), colourise(prediction, num_classes), overlay], axis=1
    )
    shown = sorted(set(np.unique(truth)) | set(np.unique(prediction)) - {IGNORE_INDEX})
    shown = [int(c) for c in shown if c != IGNORE_INDEX]
    line = 12
    canvas = Image.new("RGB", (row.shape[1], height + line * (len(shown) + 1) + 4), "white")
    canvas.paste(Image.fromarray(row), (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.text((2, height + 2), "image | ground truth | prediction | overlay", fill="black")
    colours = palette(num_classes)
    for k, index in enumerate(shown):
        top = height + line * (k + 1) + 2
        draw.rectangle([2, top + 1, 11, top + 10], fill=tuple(int(v) for v in colours[index]))
        mark = " *unseen" if index in unseen else ""
        draw.text((15, top), f"{class_names[index]}{mark}", fill="black")
    return canvas


def save_panel(path: Path, *args, **kwargs) -> None:
    """``panel(...)`` saved as a PNG (written beside, then renamed into place)."""
    atomic_save_image(path, panel(*args, **kwargs))
