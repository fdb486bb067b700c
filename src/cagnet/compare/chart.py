"""A grouped bar chart of seen mIoU, unseen mIoU and hIoU per variant, drawn with Pillow.

Bars are means over seeds; error bars span mean ± sample standard deviation. The image size
depends only on the number of variants (``chart_size``); long names wrap at '/'.
"""

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageDraw, ImageFont

from cagnet.atomic import atomic_save_image

BARS = (  # (metric key, legend, colour)
    ("seen_miou", "seen mIoU", (66, 133, 244)),
    ("unseen_miou", "unseen mIoU", (234, 67, 53)),
    ("hiou", "hIoU", (52, 168, 83)),
)
GROUP_WIDTH = 150  # pixels per variant, at least
MIN_WIDTH = 600  # room for the title and the legend
BAR_WIDTH = 30
HEIGHT = 460
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 70, 70  # margins around the plot area
INK, GRID = (40, 40, 40), (225, 225, 225)


class _Summary(Protocol):
    mean: float
    std: float
    count: int


def chart_size(num_variants: int) -> tuple[int, int]:
    """(width, height) in pixels of the chart of ``num_variants`` variants."""
    return max(MIN_WIDTH, LEFT + RIGHT + GROUP_WIDTH * max(1, num_variants)), HEIGHT


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _axis_top(table: Mapping[str, Mapping[str, _Summary]]) -> float:
    """The y-axis maximum: the highest mean + std, rounded up to a tenth, at least 0.1."""
    highest = max(
        (s[key].mean + s[key].std for s in table.values() for key, _, _ in BARS), default=0.0
    )
    return min(1.0, max(0.1, math.ceil(highest * 10 - 1e-9) / 10))


def _wrap(name: str, font, width: int, draw: ImageDraw.ImageDraw) -> list[str]:
    """The name on one line, or split after '/' when too wide; each line cut to fit."""
    lines = (
        [name]
        if draw.textlength(name, font=font) <= width
        else name.replace("/", "/\n").split("\n")
    )
    fitted = []
    for line in lines:
        while len(line) > 1 and draw.textlength(line, font=font) > width:
            line = line[:-3] + ".."
        fitted.append(line)
    return fitted


def draw_chart(table: Mapping[str, Mapping[str, _Summary]]) -> Image.Image:
    """The chart of {variant: {metric: Summary}} (see ``cagnet.compare.report.summary_table``)."""
    width, height = chart_size(len(table))
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font, small = _font(14), _font(12)
    plot_bottom, plot_height = height - BOTTOM, height - BOTTOM - TOP
    top_value = _axis_top(table)
    group_width = (width - LEFT - RIGHT) / max(1, len(table))

    def y_of(value: float) -> float:
        return plot_bottom - plot_height * max(0.0, min(value, top_value)) / top_value

    step = 0.1 if top_value >= 0.5 else 0.05 if top_value >= 0.2 else 0.01
    for tick in range(round(top_value / step) + 1):
        value = tick * step
        y = y_of(value)
        draw.line([(LEFT, y), (width - RIGHT, y)], fill=GRID if tick else INK)
        label = f"{value:.2f}"
        draw.text((LEFT - 6 - draw.textlength(label, font=small), y - 7), label, INK, small)
    draw.line([(LEFT, TOP), (LEFT, plot_bottom)], fill=INK)

    counts = sorted({s.count for summaries in table.values() for s in summaries.values()})
    seeds = "/".join(str(c) for c in counts) or "0"
    title = f"seen mIoU, unseen mIoU and hIoU: mean ± std over {seeds} seeds"
    draw.text((LEFT, 12), title, INK, font)
    legend_x = LEFT
    for _, legend, colour in BARS:
        draw.rectangle([legend_x, 38, legend_x + 14, 52], fill=colour)
        draw.text((legend_x + 20, 38), legend, INK, small)
        legend_x += 30 + int(draw.textlength(legend, font=small)) + 10

    for index, (name, summaries) in enumerate(table.items()):
        group_left = LEFT + group_width * index
        bars_left = group_left + (group_width - BAR_WIDTH * len(BARS)) / 2
        for k, (key, _, colour) in enumerate(BARS):
            summary = summaries[key]
            x0 = bars_left + k * BAR_WIDTH
            draw.rectangle(
                [x0 + 2, y_of(summary.mean), x0 + BAR_WIDTH - 2, plot_bottom], fill=colour
            )
            if summary.count > 1 and summary.std > 0:
                centre = x0 + BAR_WIDTH / 2
                low, high = y_of(summary.mean - summary.std), y_of(summary.mean + summary.std)
                draw.line([(centre, low), (centre, high)], fill=INK, width=2)
                for y in (low, high):
                    draw.line([(centre - 6, y), (centre + 6, y)], fill=INK, width=2)
        for line_index, line in enumerate(_wrap(name, small, int(group_width) - 8, draw)):
            text_x = group_left + (group_width - draw.textlength(line, font=small)) / 2
            draw.text((text_x, plot_bottom + 8 + 16 * line_index), line, INK, small)
    return image


def save_chart(path: Path, table: Mapping[str, Mapping[str, _Summary]]) -> None:
    """Draw the chart and write it as a PNG atomically (temporary file, then rename)."""
    atomic_save_image(path, draw_chart(table))
