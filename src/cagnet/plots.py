"""Loss curves of a run (``losses.png``), drawn with matplotlib from the optional ``plots`` extra.

Each logged key gets one panel: iteration on x, the value on y. A key is logged only in its own
phase (``loss_*`` while training, ``ft_*`` while finetuning), so its curve is cut into segments
that are never joined across the other phase's iterations. NaN and Inf values are not dropped: each
is marked with a red x at the top of its panel, where a diverging run shows at a glance.
Without matplotlib the plot is skipped, and the process says so once.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cagnet.atomic import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
PANEL_INCHES = (4.2, 2.6)
_skip_said = False


def matplotlib_available() -> bool:
    """True when matplotlib imports; otherwise says once per process that plots are skipped."""
    global _skip_said
    try:
        import matplotlib  # noqa: F401  (optional: the 'plots' extra)
    except ImportError:
        if not _skip_said:
            _skip_said = True
            print(
                "matplotlib is not installed: losses.png and results.png are skipped "
                "(pip install 'cagnet[plots]' to draw them)",
                file=sys.stderr,
                flush=True,
            )
        return False
    return True


@dataclass
class Series:
    """One key's curve: finite points split into segments, and the non-finite points apart.

    Attributes:
        segments: Runs of (iteration, value) pairs logged in consecutive rows of one phase.
        nonfinite: (iteration, value) pairs whose value is NaN or +-Inf.
    """

    segments: list[list[tuple[float, float]]] = field(default_factory=list)
    nonfinite: list[tuple[float, float]] = field(default_factory=list)


def read_series(path: Path, keys: Sequence[str]) -> dict[str, Series]:
    """The series of each key present in a losses.csv.

    Rows without a ``phase`` (evaluation rows, ``val_*``) are skipped. In the other rows an empty
    cell of a key (another phase logged that row) or a non-finite value ends the key's segment.
    """
    series = {key: Series() for key in keys}
    open_segment = dict.fromkeys(keys, False)
    with Path(path).open() as stream:
        for row in csv.DictReader(stream):
            if "phase" in row and not row["phase"]:
                continue
            iteration = float(row["iteration"])
            for key in keys:
                try:
                    value = float(row.get(key) or "")
                except ValueError:
                    open_segment[key] = False
                    continue
                if not math.isfinite(value):
                    series[key].nonfinite.append((iteration, value))
                    open_segment[key] = False
                    continue
                if not open_segment[key]:
                    series[key].segments.append([])
                    open_segment[key] = True
                series[key].segments[-1].append((iteration, value))
    return {key: s for key, s in series.items() if s.segments or s.nonfinite}


def loss_figure(series: dict[str, Series]) -> Figure:
    """One panel per key, two columns; segments as lines, non-finite values as red x at the top."""
    from matplotlib.figure import Figure

    columns = 2
    rows = math.ceil(len(series) / columns)
    figure = Figure(figsize=(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows), dpi=100)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (name, curve) in zip(axes, series.items(), strict=False):
        for segment in curve.segments:
            xs, ys = zip(*segment, strict=True)
            ax.plot(xs, ys, color="tab:blue", linewidth=1.2, marker="." if len(xs) == 1 else "")
        if curve.nonfinite:
            xs = [x for x, _ in curve.nonfinite]
            ax.plot(
                xs,
                [1.0] * len(xs),
                linestyle="",
                marker="x",
                color="red",
                clip_on=False,
                transform=ax.get_xaxis_transform(),  # x in data, y in axes units: the top edge
                label=f"NaN/Inf ({len(xs)})",
            )
            ax.legend(loc="lower left", fontsize="small")
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("iteration")
        ax.set_ylabel("value")
        ax.grid(alpha=0.3)
    for ax in axes[len(series) :]:
        ax.set_visible(False)
    figure.tight_layout()
    return figure


def plot_losses(csv_path: Path, png_path: Path, keys: Sequence[str] = DEFAULT_KEYS) -> Path | None:
    """Draw the loss panels into ``png_path`` (atomically).

    Returns:
        The PNG's path; None when nothing was logged or matplotlib is missing.
    """
    series = read_series(csv_path, keys)
    if not series or not matplotlib_available():
        return None
    figure = loss_figure(series)
    return atomic_write(Path(png_path), lambda stream: figure.savefig(stream, format="png"))
