"""What ``cagnet predict`` writes per image: label PNG, overlay with legend, summary rows."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from cagnet.inference.segmenter import Prediction
from cagnet.visualize import palette

SUMMARY_FIELDS = ("image", "class", "pixel_fraction", "mean_confidence")
LEGEND_LINE = 14


def label_image(labels: np.ndarray, num_classes: int) -> Image.Image:
    """(H, W) class indices as a palette PNG image: pixel value = class index."""
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette(palette(num_classes)[:num_classes].reshape(-1).tolist())
    return image


def overlay_image(
    rgb: np.ndarray, labels: np.ndarray, class_names: Sequence[str], alpha: float = 0.5
) -> Image.Image:
    """The image blended with the class colours, and a legend of every class below it.

    Args:
        rgb: (H, W, 3) uint8.
        labels: (H, W) class indices.
    """
    colours = palette(len(class_names))
    blended = ((1 - alpha) * rgb + alpha * colours[labels]).astype(np.uint8)
    height, width = labels.shape
    canvas = Image.new("RGB", (width, height + LEGEND_LINE * len(class_names) + 4), "white")
    canvas.paste(Image.fromarray(blended), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for index, name in enumerate(class_names):
        top = height + 2 + LEGEND_LINE * index
        draw.rectangle([2, top + 1, 12, top + 11], fill=tuple(int(v) for v in colours[index]))
        draw.text((17, top), name, fill="black")
    return canvas


def summary_rows(image_name: str, prediction: Prediction) -> list[dict[str, str]]:
    """Per class: the fraction of pixels labelled with it and their mean softmax score."""
    labels, scores = prediction.labels, prediction.scores
    rows = []
    for index, name in enumerate(prediction.class_names):
        mask = labels == index
        count = int(mask.sum())
        confidence = float(scores[index][mask].mean()) if count else float("nan")
        rows.append(
            {
                "image": image_name,
                "class": name,
                "pixel_fraction": f"{count / labels.size:.6f}",
                "mean_confidence": "" if not count else f"{confidence:.6f}",
            }
        )
    return rows


def write_image_outputs(
    folder: Path, stem: str, rgb: np.ndarray, prediction: Prediction, scores: bool
) -> None:
    """``STEM.labels.png``, ``STEM.overlay.png`` and, with ``scores``, ``STEM.scores.npy``."""
    count = len(prediction.class_names)
    label_image(prediction.labels, count).save(folder / f"{stem}.labels.png")
    overlay_image(rgb, prediction.labels, prediction.class_names).save(
        folder / f"{stem}.overlay.png"
    )
    if scores:
        np.save(folder / f"{stem}.scores.npy", prediction.scores)
