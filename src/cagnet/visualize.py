"""Pictures of results: colour label maps, and image | ground truth | prediction panels."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from cagnet.atomic import atomic_save_image
from cagnet.data.sample import IGNORE_INDEX

MIN_HEIGHT = 192  # panels of smaller images are enlarged by an integer factor
BORDER = 4  # pixels of BORDER_COLOUR between the views of a panel
BORDER_COLOUR = (255, 255, 255)

# Kelly's 22 colours of maximum contrast (1965) without white and black: the first classes get
# these, so that e.g. CamVid's pole and pedestrian (olive and dark olive in the VOC scheme)
# look different. Later classes get the VOC bit-interleaving colours.
DISTINCT_COLOURS = (
    (243, 195, 0), (135, 86, 146), (243, 132, 0), (161, 202, 241), (190, 0, 50),
    (194, 178, 128), (132, 132, 130), (0, 136, 86), (230, 143, 172), (0, 103, 165),
    (249, 147, 121), (96, 78, 151), (246, 166, 0), (179, 68, 108), (220, 211, 0),
    (136, 45, 23), (141, 182, 0), (101, 69, 34), (226, 88, 34), (43, 61, 38),
)  # fmt: skip

# Class names that say their colour (the embedded benchmark's "red circle", "sky", ...).
NAMED_COLOURS = {
    "red": (220, 30, 30), "green": (30, 170, 50), "blue": (30, 70, 230),
    "yellow": (245, 215, 20), "orange": (245, 140, 20), "purple": (140, 50, 180),
    "sky": (150, 195, 240), "grass": (120, 165, 90), "water": (40, 100, 130),
    "sand": (215, 195, 150),
}  # fmt: skip
_SHADES = (1.0, 0.7, 1.6)  # several classes of one colour: itself, darker, lighter
MIN_DISTANCE = 120  # summed |RGB| difference below which two colours are too close


def palette(num_classes: int) -> np.ndarray:
    """(num_classes + 1, 3) uint8 colours; the last row (black) is for ignored pixels.

    The first classes get ``DISTINCT_COLOURS``, the others the VOC bit-interleaving scheme.
    """
    colours = np.zeros((num_classes + 1, 3), dtype=np.uint8)
    for index in range(num_classes):
        if index < len(DISTINCT_COLOURS):
            colours[index] = DISTINCT_COLOURS[index]
            continue
        value, red, green, blue = index + 1, 0, 0, 0
        for bit in range(8):
            red |= ((value >> 0) & 1) << (7 - bit)
            green |= ((value >> 1) & 1) << (7 - bit)
            blue |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        colours[index] = (red, green, blue)
    return colours


def _shade(rgb: tuple[int, int, int], factor: float) -> np.ndarray:
    """``rgb`` darker (factor < 1) or mixed towards white (factor > 1)."""
    colour = np.array(rgb, np.float32)
    if factor <= 1:
        return colour * factor
    return colour + (255 - colour) * (factor - 1) / factor


def class_palette(class_names: Sequence[str]) -> np.ndarray:
    """(K + 1, 3) uint8 colours for these classes; the last row (black) is for ignored pixels.

    A class whose name contains a word of ``NAMED_COLOURS`` gets that colour ("red circle" is
    red; further red classes darker and lighter shades of it). The other classes take, in
    order, the ``palette`` colours that are not close to a colour already given.
    """
    colours = palette(len(class_names))
    named: dict[int, np.ndarray] = {}
    uses: dict[str, int] = {}
    for index, name in enumerate(class_names):
        words = [w for w in name.lower().replace("_", " ").split() if w in NAMED_COLOURS]
        if words:
            count = uses[words[0]] = uses.get(words[0], -1) + 1
            factor = _SHADES[count % len(_SHADES)] * (0.8 ** (count // len(_SHADES)))
            named[index] = _shade(NAMED_COLOURS[words[0]], factor).clip(0, 255).round()
    if not named:
        return colours
    taken = [colour.astype(int) for colour in named.values()]
    candidates = [c.astype(int) for c in palette(2 * len(class_names) + len(DISTINCT_COLOURS))]
    candidates = candidates[:-1]  # not the ignore colour
    for index in range(len(class_names)):
        if index in named:
            colours[index] = named[index]
            continue
        far = [c for c in candidates if all(np.abs(c - t).sum() > MIN_DISTANCE for t in taken)]
        colour = (far or candidates)[0]
        candidates = [c for c in candidates if c is not colour]
        taken.append(colour)
        colours[index] = colour
    return colours


def colourise(label: np.ndarray, num_classes: int, colours: np.ndarray | None = None) -> np.ndarray:
    """(H, W) class indices (IGNORE_INDEX allowed) -> (H, W, 3) uint8 colours.

    Args:
        colours: (num_classes + 1, 3) rows, e.g. ``class_palette``; default ``palette``.
    """
    label = np.where(label == IGNORE_INDEX, num_classes, label).clip(0, num_classes)
    return (palette(num_classes) if colours is None else colours)[label]


def spread_indices(count: int, wanted: int) -> list[int]:
    """``wanted`` indices of ``range(count)`` spread evenly (the middle of equal parts), so
    that overlays of a video split are not consecutive frames."""
    wanted = min(wanted, count)
    return [(2 * part + 1) * count // (2 * wanted) for part in range(wanted)]


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
    colours = class_palette(class_names)
    truth_colours = colourise(truth, num_classes, colours)
    prediction_colours = colourise(prediction, num_classes, colours)
    overlay = (0.5 * image + 0.5 * prediction_colours).astype(np.uint8)
    border = np.empty((height, BORDER, 3), np.uint8)
    border[:] = BORDER_COLOUR
    views = [image, border, truth_colours, border, prediction_colours, border, overlay]
    row = np.concatenate(views, axis=1)
    shown = sorted(set(np.unique(truth)) | set(np.unique(prediction)) - {IGNORE_INDEX})
    shown = [int(c) for c in shown if c != IGNORE_INDEX]
    line = 12
    canvas = Image.new("RGB", (row.shape[1], height + line * (len(shown) + 1) + 4), "white")
    canvas.paste(Image.fromarray(row), (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.text((2, height + 2), "image | ground truth | prediction | overlay", fill="black")
    for k, index in enumerate(shown):
        top = height + line * (k + 1) + 2
        draw.rectangle([2, top + 1, 11, top + 10], fill=tuple(int(v) for v in colours[index]))
        mark = " *unseen" if index in unseen else ""
        draw.text((15, top), f"{class_names[index]}{mark}", fill="black")
    return canvas


def save_panel(path: Path, *args, **kwargs) -> None:
    """``panel(...)`` saved as a PNG (written beside, then renamed into place)."""
    atomic_save_image(path, panel(*args, **kwargs))
