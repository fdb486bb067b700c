"""read_rgb: every image kind a user may give becomes the RGB image they see."""

import numpy as np
import pytest
from PIL import Image

from cagnet.data.image_io import BACKGROUND, read_rgb
from cagnet.errors import DataError


def test_16_bit_grey_is_scaled_by_257_not_clipped(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    rgb = np.asarray(read_rgb(tmp_path / "deep.png"))
    assert rgb.shape == (1, 4, 3)
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 1, 128, 255])


def test_rgba_is_composited_on_the_stated_background(tmp_path):
    pixels = np.zeros((1, 2, 4), dtype=np.uint8)
    pixels[0, 0] = (10, 20, 30, 255)  # opaque
    pixels[0, 1] = (200, 0, 0, 0)  # transparent
    Image.fromarray(pixels, "RGBA").save(tmp_path / "alpha.png")
    rgb = np.asarray(read_rgb(tmp_path / "alpha.png"))
    np.testing.assert_array_equal(rgb[0, 0], (10, 20, 30))
    np.testing.assert_array_equal(rgb[0, 1], BACKGROUND)


def test_palette_grey_and_webp_images(tmp_path):
    palette = Image.fromarray(np.array([[0, 1]], dtype=np.uint8), "P")
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.save(tmp_path / "palette.png")
    np.testing.assert_array_equal(
        np.asarray(read_rgb(tmp_path / "palette.png"))[0], [(255, 0, 0), (0, 0, 255)]
    )
    Image.fromarray(np.array([[7, 200]], dtype=np.uint8), "L").save(tmp_path / "grey.png")
    np.testing.assert_array_equal(np.asarray(read_rgb(tmp_path / "grey.png"))[0, 1], (200,) * 3)
    colour = np.full((8, 8, 3), (40, 120, 200), dtype=np.uint8)
    Image.fromarray(colour).save(tmp_path / "image.webp", lossless=True)
    np.testing.assert_array_equal(np.asarray(read_rgb(tmp_path / "image.webp")), colour)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)  # 2 rows, 3 columns
    pixels[0, 0] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=100)
    rgb = np.asarray(read_rgb(tmp_path / "rotated.jpg"))
    assert rgb.shape == (3, 2, 3)
    assert rgb[0, 1].mean() > 128  # the top-left pixel went to the top right


def test_missing_and_undecodable_files_are_named(tmp_path):
    with pytest.raises(DataError, match="nothing.png does not exist"):
        read_rgb(tmp_path / "nothing.png")
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(DataError, match="text.jpg cannot be decoded"):
        read_rgb(tmp_path / "text.jpg")
