"""Loss curves of a run as a PNG, drawn with Pillow (no plotting library needed)."""

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from cagnet.atomic import atomic_save_image

DEFAULT_KEYS = (
    "loss_cls",
    "loss_cls_fake",
    "loss_rec",
    "loss_kl",
    "loss_adv_g",
    "mu_spread",
    "ft_loss_cls",
    "ft_loss_adv_g",
)
PANEL = (320, 170)
MARGIN = 34


def read_series(path: Path, keys: Sequence[str]) -> dict[str, list[tuple[float, float]]]:
    """(iteration, value) pairs of each key present in a losses.csv; empty cells skipped."""
    series: dict[str, list[tuple[float, float]]] = {key: [] for key in keys}
    with Path(path).open() as stream:
        for row in csv.DictReader(stream):
            for key in keys:
                text = row.get(key) or ""
                try:
                    value = float(text)
                except ValueError:
                    continue
                if math.isfinite(value):
                    series[key].append((float(row["iteration"]), value))
    return {key: points for key, points in series.items() if points}


def _panel(name: str, points: list[tuple[float, float]]) -> Image.Image:
    width, height = PANEL
    image = Image.new("RGB", PANEL, "white")
    draw = ImageDraw.Draw(image)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    left, top, right, bottom = MARGIN + 10, 18, width - 8, height - 20
    draw.rectangle([left, top, right, bottom], outline="grey")
    scaled = [
        (
            left + (x - x0) / (x1 - x0) * (right - left),
            bottom - (y - y0) / (y1 - y0) * (bottom - top),
        )
        for x, y in points
    ]
    if len(scaled) > 1:
        draw.line(scaled, fill=(31, 119, 180), width=2)
    else:
        draw.ellipse([scaled[0][0] - 2, scaled[0][1] - 2, scaled[0][0] + 2, scaled[0][1] + 2])
    draw.text((left, 3), name, fill="black")
    draw.text((2, top - 4), f"{y1:.3g}", fill="black")
    draw.text((2, bottom - 8), f"{y0:.3g}", fill="black")
    draw.text((left, bottom + 4), f"{x0:.0f}", fill="black")
    draw.text((right - 40, bottom + 4), f"{x1:.0f}", fill="black")
    return image


def plot_losses(csv_path: Path, png_path: Path, keys: Sequence[str] = DEFAULT_KEYS) -> Path | None:
    """Draw one panel per logged key (iteration on x) into ``png_path``; None if nothing logged."""
    series = read_series(csv_path, keys)
    if not series:
        return None
    columns = 2
    rows = math.ceil(len(series) / columns)
    canvas = Image.new("RGB", (PANEL[0] * columns, PANEL[1] * rows), "white")
    for index, (name, points) in enumerate(series.items()):
        canvas.paste(
            _panel(name, points), ((index % columns) * PANEL[0], (index // columns) * PANEL[1])
        )
    png_path = Path(png_path)
    atomic_save_image(png_path, canvas)
    return png_path
