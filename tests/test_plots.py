"""losses.png: phase gaps stay gaps, NaN/Inf are marked, and no matplotlib means one notice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cagnet import plots

CSV = """iteration,loss_cls,phase,ft_loss_cls,val_hiou
0,2.0,training,,
1,1.5,training,,
2,,finetuning,1.0,
2,,,,0.3
3,,finetuning,0.9,
4,1.2,training,,
5,nan,training,,
6,inf,training,,
7,1.1,training,,
"""


@pytest.fixture
def losses_csv(tmp_path: Path) -> Path:
    path = tmp_path / "losses.csv"
    path.write_text(CSV)
    return path


def test_segments_break_at_phase_gaps_and_nonfinite_values(losses_csv: Path) -> None:
    series = plots.read_series(losses_csv, ("loss_cls", "ft_loss_cls", "absent"))
    assert set(series) == {"loss_cls", "ft_loss_cls"}
    assert series["loss_cls"].segments == [[(0, 2.0), (1, 1.5)], [(4, 1.2)], [(7, 1.1)]]
    assert [x for x, _ in series["loss_cls"].nonfinite] == [5, 6]
    # The evaluation row (no phase) between iterations 2 and 3 does not cut the finetuning line.
    assert series["ft_loss_cls"].segments == [[(2, 1.0), (3, 0.9)]]


def test_figure_marks_nonfinite_points_at_the_top_and_titles_axes(losses_csv: Path) -> None:
    pytest.importorskip("matplotlib")
    figure = plots.loss_figure(plots.read_series(losses_csv, ("loss_cls", "ft_loss_cls")))
    ax = figure.axes[0]
    assert ax.get_title() == "loss_cls" and ax.get_xlabel() == "iteration" and ax.get_ylabel()
    lines = ax.get_lines()
    assert len(lines) == 4  # three segments, one marker series
    markers = [line for line in lines if line.get_marker() == "x"]
    assert len(markers) == 1 and markers[0].get_color() == "red"
    assert list(markers[0].get_xdata()) == [5, 6] and list(markers[0].get_ydata()) == [1.0, 1.0]


def test_plot_losses_writes_a_png(losses_csv: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from PIL import Image

    output = plots.plot_losses(losses_csv, tmp_path / "losses.png")
    assert output == tmp_path / "losses.png"
    with Image.open(output) as image:
        assert image.format == "PNG" and image.size == (840, 260)  # 2 x 1 panels at 100 dpi
    assert not list(tmp_path.glob(".*.tmp"))


def test_without_matplotlib_the_plot_is_skipped_with_one_notice(
    losses_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setattr(plots, "_skip_said", False)
    assert plots.plot_losses(losses_csv, tmp_path / "a.png") is None
    assert plots.plot_losses(losses_csv, tmp_path / "b.png") is None
    assert capsys.readouterr().err.count("matplotlib is not installed") == 1
    assert not (tmp_path / "a.png").exists()


def test_comparison_chart_bars_are_the_means_with_std_error_bars() -> None:
    pytest.importorskip("matplotlib")
    from types import SimpleNamespace as S

    from cagnet.compare.chart import draw_chart

    def row(seen: float, unseen: float, hiou: float) -> dict:
        return {
            "seen_miou": S(mean=seen, std=0.05, count=3),
            "unseen_miou": S(mean=unseen, std=0.02, count=3),
            "hiou": S(mean=hiou, std=0.01, count=3),
        }

    figure = draw_chart({"a": row(0.5, 0.2, 0.28), "b/c": row(0.4, 0.1, 0.16)})
    ax = figure.axes[0]
    heights = [round(patch.get_height(), 6) for patch in ax.patches]
    assert heights == [0.5, 0.4, 0.2, 0.1, 0.28, 0.16]  # grouped by metric, then variant
    assert ax.get_ylim() == (0.0, 0.6)  # highest mean + std, rounded up to a tenth
    assert [text.get_text() for text in ax.get_xticklabels()] == ["a", "b/c"]
    assert figure.get_size_inches() * figure.dpi == pytest.approx((600, 460))
