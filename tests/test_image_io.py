"""The one image reader: orientation, 16-bit, alpha, palette/CMYK/grey, errors naming the file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cagnet.data import image_io
from cagnet.data.image_io import read_rgb
from cagnet.data.readers.files import load_image
from cagnet.errors import DataError


def _rgb(path: Path, **kwargs) -> np.ndarray:
    return np.asarray(read_rgb(path, **kwargs))


def test_16_bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)  # a 16-bit grey PNG
    with Image.open(path) as image:
        assert image.mode.startswith("I")
    rgb = _rgb(path)
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 1, 128, 255])
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])


def test_32_bit_grey_out_of_16_bit_range_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "wide.tif"
    Image.fromarray(np.array([[0, 70000]], dtype=np.int32), mode="I").save(path)
    with pytest.raises(DataError, match=r"wide\.tif.*0\.\.70000"):
        read_rgb(path)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((2, 3, 3), dtype=np.uint8)
    pixels[0, 0] = (255, 0, 0)  # red at the stored top-left
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "phone.png"
    image.save(path, exif=exif)
    rgb = _rgb(path)
    assert rgb.shape == (3, 2, 3)  # displayed: 2 wide, 3 high
    assert tuple(rgb[0, 1]) == (255, 0, 0)  # stored top-left is displayed top-right


def test_rgba_is_composited_on_the_stated_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_io, "_alpha_said", False)
    pixels = np.array([[[255, 0, 0, 255], [255, 0, 0, 0], [0, 0, 255, 128]]], dtype=np.uint8)
    path = tmp_path / "alpha.png"
    Image.fromarray(pixels, mode="RGBA").save(path)
    with pytest.warns(UserWarning, match=r"alpha\.png has transparency.*\(255, 255, 255\)"):
        white = _rgb(path)
    assert tuple(white[0, 0]) == (255, 0, 0) and tuple(white[0, 1]) == (255, 255, 255)
    assert tuple(white[0, 2]) == (127, 127, 255)  # half-transparent blue over white
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per process, not per file
        black = _rgb(path, background=(0, 0, 0))
    assert tuple(black[0, 1]) == (0, 0, 0) and tuple(black[0, 2]) == (0, 0, 128)


def test_palette_with_a_transparent_index_and_plain_palette(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    image.putpixel((1, 0), 1)
    plain = tmp_path / "palette.png"
    image.save(plain)
    np.testing.assert_array_equal(_rgb(plain)[0], [[10, 20, 30], [200, 100, 0]])
    transparent = tmp_path / "palette_t.png"
    image.save(transparent, transparency=0)
    np.testing.assert_array_equal(_rgb(transparent)[0], [[255, 255, 255], [200, 100, 0]])


def test_cmyk_grey_and_one_bit_become_rgb(tmp_path: Path) -> None:
    Image.new("CMYK", (2, 2), (0, 255, 255, 0)).save(tmp_path / "cmyk.tif")
    assert tuple(_rgb(tmp_path / "cmyk.tif")[0, 0]) == (255, 0, 0)
    Image.new("L", (2, 2), 77).save(tmp_path / "grey.png")
    assert tuple(_rgb(tmp_path / "grey.png")[1, 1]) == (77, 77, 77)
    Image.new("LA", (1, 1), (0, 0)).save(tmp_path / "la.png")
    assert tuple(_rgb(tmp_path / "la.png")[0, 0]) == (255, 255, 255)
    Image.new("1", (1, 1), 1).save(tmp_path / "bit.png")
    assert tuple(_rgb(tmp_path / "bit.png")[0, 0]) == (255, 255, 255)


@pytest.mark.parametrize("damage", ["missing", "not an image", "truncated"])
def test_errors_name_the_file(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "broken.jpg"
    if damage == "not an image":
        path.write_text("hello")
    elif damage == "truncated":
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(path)
        path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=r"broken\.jpg"):
        read_rgb(path)


def test_the_readers_load_images_through_read_rgb(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((2, 2), 65535, dtype=np.uint16)).save(path)
    image = load_image(path)
    assert image.shape == (2, 2, 3) and image.dtype == np.uint8 and int(image.max()) == 255
    np.testing.assert_array_equal(image, np.asarray(read_rgb(path)))


def test_webp_files_and_in_memory_images_read_as_rgb(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(image_io, "_alpha_said", False)
    pixels = np.zeros((4, 6, 3), np.uint8)
    pixels[:, :3] = (200, 10, 10)
    Image.fromarray(pixels).save(tmp_path / "a.webp", lossless=True)
    np.testing.assert_array_equal(np.asarray(read_rgb(tmp_path / "a.webp")), pixels)
    rgba = Image.fromarray(np.zeros((2, 2, 4), np.uint8), "RGBA")  # fully transparent
    with pytest.warns(UserWarning):
        flat = image_io.to_rgb(rgba, "upload.png")
    np.testing.assert_array_equal(np.asarray(flat)[0, 0], image_io.BACKGROUND)
