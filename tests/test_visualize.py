import colorsys
from types import SimpleNamespace

import numpy as np

from cagnet.data.synthetic import SYNTHETIC_CLASSES
from cagnet.evaluation.run import overlay_name
from cagnet.visualize import (
    BORDER,
    BORDER_COLOUR,
    class_palette,
    colourise,
    palette,
    panel,
    spread_indices,
)


def test_palette_colours_are_distinct_and_ignore_is_black():
    colours = palette(21)
    assert len({tuple(c) for c in colours[:21]}) == 21
    assert tuple(colours[21]) == (0, 0, 0)
    label = np.array([[0, 255]])
    assert tuple(colourise(label, 21)[0, 1]) == (0, 0, 0)


def test_panel_shows_four_views_enlarges_small_images_and_lists_classes():
    image = np.zeros((48, 64, 3), np.uint8)
    truth = np.zeros((48, 64), np.int64)
    truth[5:20, 5:20] = 3
    prediction = np.full((48, 64), 3)
    picture = panel(image, truth, prediction, [f"c{i}" for i in range(5)], unseen=[3])
    factor = 4  # 48 px -> at least 192 px
    view = 64 * factor + BORDER  # each view, then a border
    assert picture.size[0] == 4 * 64 * factor + 3 * BORDER
    assert picture.size[1] > 48 * factor  # the legend lies below the images
    pixels = np.asarray(picture)
    assert tuple(pixels[0, view]) == tuple(palette(5)[0])  # ground truth: class 0
    assert tuple(pixels[0, 2 * view]) == tuple(palette(5)[3])  # prediction: class 3
    for left in (64 * factor, 2 * view - BORDER, 3 * view - BORDER):  # the borders between
        assert (pixels[: 48 * factor, left : left + BORDER] == BORDER_COLOUR).all()
    assert not (pixels[: 48 * factor, view - BORDER - 1] == BORDER_COLOUR).all()
    assert BORDER >= 2


HUES = {"red": (-20, 15), "yellow": (40, 70), "green": (90, 150), "blue": (200, 250)}


def _hue(rgb) -> str:
    hue, saturation, _ = colorsys.rgb_to_hsv(*(int(v) / 255 for v in rgb))
    degrees = hue * 360 - (360 if hue * 360 > 340 else 0)
    assert saturation > 0.4
    return next(name for name, (low, high) in HUES.items() if low <= degrees <= high)


def test_embedded_benchmark_classes_are_drawn_in_the_colour_they_name():
    colours = class_palette(SYNTHETIC_CLASSES)
    for index, name in enumerate(SYNTHETIC_CLASSES):
        colour_word = name.split()[0]
        if colour_word in ("red", "green", "blue", "yellow"):
            assert _hue(colours[index]) == colour_word, (name, colours[index])
    rows = {tuple(int(v) for v in row) for row in colours[: len(SYNTHETIC_CLASSES)]}
    assert len(rows) == len(SYNTHETIC_CLASSES)  # the shapes of one colour differ in shade
    assert tuple(colours[-1]) == (0, 0, 0)


def test_camvid_pole_and_pedestrian_look_different_in_the_default_palette():
    names = ("sky", "building", "pole", "road", "pavement", "tree", "signsymbol", "fence",
             "car", "pedestrian", "bicyclist")  # fmt: skip
    default = palette(len(names)).astype(int)  # by index alone, as for any data set
    assert np.abs(default[names.index("pole")] - default[names.index("pedestrian")]).sum() > 200
    colours = class_palette(names).astype(int)
    pole, pedestrian = colours[names.index("pole")], colours[names.index("pedestrian")]
    assert np.abs(pole - pedestrian).sum() > 200
    rest = colours[: len(names)]
    gaps = np.abs(rest[:, None] - rest[None]).sum(-1) + 1000 * np.eye(len(names), dtype=int)
    assert gaps.min() > 60  # every pair of the first classes is far apart


def test_overlays_are_spread_over_the_split():
    assert spread_indices(100, 4) == [12, 37, 62, 87]
    assert spread_indices(3, 4) == [0, 1, 2]
    assert spread_indices(10, 0) == []


def test_overlay_files_are_named_after_the_image_stem():
    class Reader:
        def __getitem__(self, index):
            return SimpleNamespace(name=["seq05_frame0042", "a b"][index])

    assert overlay_name(Reader(), 0) == "seq05_frame0042.png"
    assert overlay_name(Reader(), 1) == "a_b.png"
