"""A grouped bar chart of seen mIoU, unseen mIoU and hIoU per variant, drawn with matplotlib.

Bars are means over seeds; error bars span mean ± sample standard deviation. The image size
depends only on the number of variants (``chart_size``); long names wrap at '/'. matplotlib comes
from the optional ``plots`` extra; without it the chart is skipped (``cagnet.plots`` says so once).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cagnet.atomic import atomic_write
from cagnet.plots import matplotlib_available

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BARS = (  # (metric key, legend, colour)
    ("seen_miou", "seen mIoU", "#4285f4"),
    ("unseen_miou", "unseen mIoU", "#ea4335"),
    ("hiou", "hIoU", "#34a853"),
)
GROUP_WIDTH = 150  # pixels per variant, at least
MIN_WIDTH = 600  # room for the title and the legend
HEIGHT = 460
LEFT, RIGHT = 70, 20  # pixels left and right of the plot area
DPI = 100


class _Summary(Protocol):
    mean: float
    std: float
    count: int


def chart_size(num_variants: int) -> tuple[int, int]:
    """(width, height) in pixels of the chart of ``num_variants`` variants."""
    return max(MIN_WIDTH, LEFT + RIGHT + GROUP_WIDTH * max(1, num_variants)), HEIGHT


def _axis_top(table: Mapping[str, Mapping[str, _Summary]]) -> float:
    """The y-axis maximum: the highest mean + std, rounded up to a tenth, at least 0.1."""
    highest = max(
        (s[key].mean + s[key].std for s in table.values() for key, _, _ in BARS), default=0.0
    )
    return min(1.0, max(0.1, math.ceil(highest * 10 - 1e-9) / 10))


def _label(name: str, limit: int = 22) -> str:
    """The variant's name on one line, or split after each '/' when longer than ``limit``."""
    return name if len(name) <= limit else name.replace("/", "/\n")


def draw_chart(table: Mapping[str, Mapping[str, _Summary]]) -> Figure:
    """The chart of {variant: {metric: Summary}} (see ``cagnet.compare.report.summary_table``)."""
    from matplotlib.figure import Figure

    width, height = chart_size(len(table))
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = figure.add_axes((LEFT / width, 0.17, 1 - (LEFT + RIGHT) / width, 0.66))
    bar_width = 0.8 / len(BARS)
    for k, (key, legend, colour) in enumerate(BARS):
        positions = [index + (k - (len(BARS) - 1) / 2) * bar_width for index in range(len(table))]
        summaries = [summaries[key] for summaries in table.values()]
        ax.bar(
            positions,
            [s.mean for s in summaries],
            bar_width * 0.9,
            yerr=[s.std if s.count > 1 else 0.0 for s in summaries],
            capsize=5,
            color=colour,
            label=legend,
        )
    ax.set_xticks(range(len(table)), [_label(name) for name in table], fontsize="small")
    ax.set_xlim(-0.5, max(1, len(table)) - 0.5)
    ax.set_ylim(0.0, _axis_top(table))
    ax.set_ylabel("IoU")
    ax.grid(axis="y", alpha=0.4)
    ax.set_axisbelow(True)
    counts = sorted({s.count for summaries in table.values() for s in summaries.values()})
    seeds = "/".join(str(c) for c in counts) or "0"
    figure.suptitle(
        f"seen mIoU, unseen mIoU and hIoU: mean ± std over {seeds} seeds",
        x=0.02,
        ha="left",
        fontsize="medium",
    )
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=len(BARS),
        frameon=False,
        fontsize="small",
    )
    return figure


def save_chart(path: Path, table: Mapping[str, Mapping[str, _Summary]]) -> Path | None:
    """Draw the chart and write it as a PNG atomically (temporary file, then rename).

    Returns:
        The PNG's path, or None when matplotlib is missing (the chart is skipped).
    """
    if not matplotlib_available():
        return None
    figure = draw_chart(table)
    return atomic_write(Path(path), lambda stream: figure.savefig(stream, format="png"))
