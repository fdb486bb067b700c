import numpy as np

from cagnet.visualize import colourise, palette, panel


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
    assert picture.size[0] == 4 * 64 * factor
    assert picture.size[1] > 48 * factor  # the legend lies below the images
    pixels = np.asarray(picture)
    assert tuple(pixels[0, 64 * factor]) == tuple(palette(5)[0])  # ground truth: class 0
    assert tuple(pixels[0, 2 * 64 * factor]) == tuple(palette(5)[3])  # prediction: class 3
