"""FolderReader: the plain folder format, its layout checks and per-item errors."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cagnet.data.readers.folder import FolderReader
from cagnet.errors import DataError

SHARED = Path(__file__).resolve().parents[2] / "shared"
CLASSES = ("sky", "road", "car")


def write_item(root: Path, split: str, stem: str, label: np.ndarray, suffix: str = ".png"):
    """An RGB image and its label PNG of the same size as ``label``."""
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (*label.shape, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(root / "images" / split / f"{stem}{suffix}")
    Image.fromarray(label.astype(np.uint8), mode="L").save(root / "labels" / split / f"{stem}.png")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "classes.txt").write_text("\n".join(CLASSES) + "\n\n")
    write_item(tmp_path, "train", "b", np.array([[0, 1, 2], [255, 2, 1]]))
    write_item(tmp_path, "train", "a", np.full((4, 5), 2), suffix=".jpg")
    write_item(tmp_path, "val", "c", np.zeros((2, 2)))
    return tmp_path


def test_reads_items_sorted_by_name_with_their_labels(tree: Path):
    reader = FolderReader(tree, "train")
    assert reader.class_names == CLASSES
    assert len(reader) == 2 and reader.name == f"{tree.name}/train"
    first, second = reader[0], reader[1]
    assert (first.name, second.name) == ("a", "b")
    assert first.image.shape == (4, 5, 3) and first.image.dtype == np.uint8
    assert second.label.dtype == np.int64
    np.testing.assert_array_equal(second.label, [[0, 1, 2], [255, 2, 1]])
    np.testing.assert_array_equal(reader.load_label(-1), second.label)
    assert reader.valid_classes.tolist() == [True, True, True]
    with pytest.raises(IndexError):
        reader[2]


@pytest.mark.skipif(not (SHARED / "datasets" / "camvid").is_dir(), reason="../shared is absent")
def test_reads_camvid_in_the_folder_format():
    reader = FolderReader(SHARED / "datasets" / "camvid", "val")
    assert len(reader) == 101 and len(reader.class_names) == 11
    assert reader.class_names[:2] == ("sky", "building")
    sample = reader[0]
    assert sample.image.shape == (360, 480, 3)
    assert set(np.unique(sample.label).tolist()) <= set(range(11)) | {255}


@pytest.mark.parametrize("missing", ["images", "labels", "classes.txt"])
def test_missing_part_of_the_layout_is_named(tree: Path, missing: str):
    target = tree / missing
    if target.is_dir():
        for path in sorted(target.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(DataError, match=f"missing .*{missing}.*expected the layout"):
        FolderReader(tree, "train")


def test_missing_root_is_named(tmp_path: Path):
    with pytest.raises(DataError, match="nowhere"):
        FolderReader(tmp_path / "nowhere", "train")


def test_empty_split_and_unknown_split(tree: Path):
    (tree / "images" / "test").mkdir()
    with pytest.raises(DataError, match=r"no images in .*images/test"):
        FolderReader(tree, "test")
    with pytest.raises(DataError, match=r"missing split folder .*images/other.*'train', 'val'"):
        FolderReader(tree, "other")


def test_image_without_label(tree: Path):
    (tree / "labels" / "train" / "b.png").unlink()
    with pytest.raises(
        DataError, match=r"images/train/b.png has no label file .*labels/train/b.png"
    ):
        FolderReader(tree, "train")


def test_corrupt_image_is_reported_when_read(tree: Path):
    (tree / "images" / "train" / "b.png").write_bytes(b"not an image")
    reader = FolderReader(tree, "train")
    with pytest.raises(DataError, match=r"cannot read image .*b.png"):
        reader[1]


def test_image_and_label_of_different_sizes(tree: Path):
    Image.new("RGB", (7, 3)).save(tree / "images" / "train" / "b.png")
    with pytest.raises(DataError, match=r"b.png is 7x3 but its label .*b.png is 3x2"):
        FolderReader(tree, "train")[1]


def test_label_value_outside_the_classes(tree: Path):
    write_item(tree, "train", "b", np.array([[0, 7], [3, 255]]))
    reader = FolderReader(tree, "train")
    with pytest.raises(
        DataError, match=r"labels/train/b.png holds value\(s\) \[3, 7\].* 3 classes"
    ):
        reader[1]


def test_colour_label_is_rejected(tree: Path):
    Image.new("RGB", (3, 2)).save(tree / "labels" / "train" / "b.png")
    with pytest.raises(DataError, match="mode 'RGB'"):
        FolderReader(tree, "train").load_label(1)


@pytest.mark.parametrize(
    ("text", "message"),
    [("a\n\nb\n", "blank line 2"), ("a\nb\na\n", r"repeats \['a'\]"), ("\n", "is empty")],
)
def test_bad_class_list(tree: Path, text: str, message: str):
    (tree / "classes.txt").write_text(text)
    with pytest.raises(DataError, match=message):
        FolderReader(tree, "train")
