"""The embedded benchmark: format, determinism, class coverage, context and safe writing."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from cagnet.data import synthetic
from cagnet.data.synthetic import (
    NUM_STUFF,
    SYNTHETIC_CLASSES,
    SYNTHETIC_UNSEEN,
    SyntheticConfig,
    generate_synthetic,
    render_sample,
)
from cagnet.errors import ConfigError, DataError

TINY = SyntheticConfig(num_train=6, num_val=3, image_size=48, seed=0)


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: relative path -> contents."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_class_list_is_the_agreed_one():
    assert len(SYNTHETIC_CLASSES) == 16
    assert SYNTHETIC_CLASSES[:4] == ("sky", "grass", "water", "sand")
    assert SYNTHETIC_CLASSES[8] == "green square"
    for name in SYNTHETIC_UNSEEN:  # an unseen class's colour and shape are both seen
        colour, shape = name.split()
        seen = [c for c in SYNTHETIC_CLASSES[NUM_STUFF:] if c not in SYNTHETIC_UNSEEN]
        assert any(c.startswith(colour + " ") for c in seen)
        assert any(c.endswith(" " + shape) for c in seen)


@pytest.mark.parametrize("ignore_border", [True, False])
def test_render_sample_shapes_and_values(ignore_border):
    image, label = render_sample(np.random.default_rng(3), 40, ignore_border)
    assert image.shape == (40, 40, 3) and image.dtype == np.uint8
    assert label.shape == (40, 40) and label.dtype == np.uint8
    assert set(np.unique(label).tolist()) <= set(range(16)) | {255}
    assert (255 in label) == ignore_border
    assert (label >= NUM_STUFF).any() and (label < NUM_STUFF).any()


def test_render_sample_follows_its_generator_and_anchor():
    first = render_sample(np.random.default_rng(7), 48, True, anchor_class=8)
    second = render_sample(np.random.default_rng(7), 48, True, anchor_class=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert 8 in first[1]
    other = render_sample(np.random.default_rng(8), 48, True, anchor_class=8)
    assert not np.array_equal(first[0], other[0])


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="image_size=8"):
        SyntheticConfig(image_size=8)
    with pytest.raises(ConfigError, match="num_train=-1"):
        SyntheticConfig(num_train=-1)
    with pytest.raises(ConfigError, match="anchor_class=2"):
        render_sample(np.random.default_rng(0), 48, True, anchor_class=2)


def test_generation_is_byte_identical_and_depends_on_the_seed(tmp_path):
    first = _files(generate_synthetic(tmp_path / "a", TINY))
    second = _files(generate_synthetic(tmp_path / "b", TINY))
    assert first == second
    reseeded = _files(generate_synthetic(tmp_path / "c", SyntheticConfig(6, 3, 48, seed=1)))
    assert first.keys() == reseeded.keys()
    assert first["images/train/00000.png"] != reseeded["images/train/00000.png"]


def test_image_does_not_depend_on_the_split_sizes(tmp_path):
    small = generate_synthetic(tmp_path / "small", TINY)
    large = generate_synthetic(tmp_path / "large", SyntheticConfig(9, 5, 48, seed=0))
    for name in ("images/train/00005.png", "labels/val/00002.png"):
        assert (small / name).read_bytes() == (large / name).read_bytes()


def test_folder_format(tmp_path):
    root = generate_synthetic(tmp_path / "data", TINY)
    assert (root / "classes.txt").read_text().splitlines() == list(SYNTHETIC_CLASSES)
    assert (root / "unseen.txt").read_text().splitlines() == list(SYNTHETIC_UNSEEN)
    manifest = json.loads((root / "manifest.json").read_text())
    assert (manifest["seed"], manifest["num_train"], manifest["num_val"]) == (0, 6, 3)
    assert manifest["version"] == synthetic.GENERATOR_VERSION
    for split, count in (("train", 6), ("val", 3)):
        images = sorted((root / "images" / split).iterdir())
        labels = sorted((root / "labels" / split).iterdir())
        assert [p.name for p in images] == [f"{i:05d}.png" for i in range(count)]
        assert [p.name for p in labels] == [p.name for p in images]
        pixels = np.zeros(16, np.int64)
        for image_path, label_path in zip(images, labels, strict=True):
            image, label = Image.open(image_path), Image.open(label_path)
            assert (image.mode, label.mode) == ("RGB", "L")
            assert image.size == label.size == (48, 48)
            values = np.asarray(label)
            assert set(np.unique(values).tolist()) <= set(range(16)) | {255}
            pixels += np.bincount(values.ravel(), minlength=256)[:16]
        assert manifest["class_pixels"][split] == pixels.tolist()


def test_every_class_appears(tmp_path):
    # The first object of image i is object class 4 + i % 12, so 12 images hold all 12 objects.
    root = generate_synthetic(tmp_path / "data", SyntheticConfig(12, 12, 48, seed=5))
    manifest = json.loads((root / "manifest.json").read_text())
    assert all(count > 0 for count in manifest["class_pixels"]["train"])
    val = manifest["class_pixels"]["val"]
    assert all(val[SYNTHETIC_CLASSES.index(name)] > 0 for name in SYNTHETIC_UNSEEN)


def _surrounding_stuff(label: np.ndarray, mask: np.ndarray) -> int | None:
    """The stuff class most common in a 4-pixel ring around ``mask``; None if none."""
    ring = ndimage.binary_dilation(mask, iterations=4) & ~mask
    stuff = label[ring][label[ring] < NUM_STUFF]
    return int(np.bincount(stuff).argmax()) if stuff.size else None


def test_shapes_co_occur_with_their_typical_backgrounds():
    typical = {0: {0}, 1: {1, 3}, 2: {2}}  # circle: sky; square: grass, sand; triangle: water
    hits = np.zeros((3, 3))  # [shape of the object, shape whose typical background surrounds it]
    totals = np.zeros(3)
    for seed in range(80):
        _, label = render_sample(np.random.default_rng(seed), 64, ignore_border=False)
        for value in np.unique(label[label >= NUM_STUFF]):
            stuff = _surrounding_stuff(label, label == value)
            if stuff is None:
                continue
            shape = (value - NUM_STUFF) % 3
            totals[shape] += 1
            hits[shape] += [stuff in typical[other] for other in range(3)]
    rates = hits / totals[:, None]
    for shape in range(3):
        others = [rates[other, shape] for other in range(3) if other != shape]
        assert rates[shape, shape] > 0.45, rates
        assert rates[shape, shape] > max(others) + 0.25, rates


def test_existing_different_folder_raises_and_is_left_untouched(tmp_path):
    foreign = tmp_path / "data"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match=str(foreign)):
        generate_synthetic(foreign, TINY)
    assert _files(foreign) == {"notes.txt": b"mine"}

    other = generate_synthetic(tmp_path / "other", TINY)
    before = _files(other)
    with pytest.raises(DataError, match="seed=0"):
        generate_synthetic(other, SyntheticConfig(6, 3, 48, seed=2))
    assert _files(other) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "other"]


def test_incomplete_data_set_is_refused(tmp_path):
    root = generate_synthetic(tmp_path / "data", TINY)
    (root / "labels" / "val" / "00001.png").unlink()
    with pytest.raises(DataError, match="labels/val"):
        generate_synthetic(root, TINY)


def test_existing_identical_data_set_is_reused(tmp_path):
    root = generate_synthetic(tmp_path / "data", TINY)
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    assert generate_synthetic(root, TINY) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == stamps


def test_empty_folder_is_filled(tmp_path):
    (tmp_path / "data").mkdir()
    root = generate_synthetic(tmp_path / "data", TINY)
    assert (root / "manifest.json").is_file()


def test_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("disk full")
        return render_sample(*args, **kwargs)

    monkeypatch.setattr(synthetic, "render_sample", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_synthetic(tmp_path / "data", TINY)
    assert list(tmp_path.iterdir()) == []
