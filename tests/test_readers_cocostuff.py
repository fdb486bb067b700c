"""CocoStuffReader: the 182-class space, its order and the never-annotated classes."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cagnet.data.readers.class_names import COCO_STUFF_CLASSES, COCO_STUFF_NEVER_ANNOTATED
from cagnet.data.readers.cocostuff import CocoStuffReader
from cagnet.errors import DataError

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
needs_benchmarks = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="../shared is absent")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for split in ("train2017", "val2017"):
        (tmp_path / "images" / split).mkdir(parents=True)
        (tmp_path / "annotations" / split).mkdir(parents=True)
    for stem in ("000000000009", "000000000001"):
        Image.new("L", (3, 2), 80).save(tmp_path / "images" / "val2017" / f"{stem}.jpg")  # grey
        label = np.array([[0, 181, 255], [12, 105, 148]], dtype=np.uint8)
        Image.fromarray(label).save(tmp_path / "annotations" / "val2017" / f"{stem}.png")
    return tmp_path


def test_reads_the_182_class_space(root: Path):
    reader = CocoStuffReader(root, "val")  # alias of val2017
    assert reader.name == "cocostuff/val2017" and len(reader) == 2
    assert reader.class_names == COCO_STUFF_CLASSES and len(COCO_STUFF_CLASSES) == 182
    sample = reader[0]
    assert sample.name == "000000000001" and sample.image.shape == (2, 3, 3)
    np.testing.assert_array_equal(sample.label, [[0, 181, 255], [12, 105, 148]])


def test_never_annotated_classes_are_marked_invalid(root: Path):
    valid = CocoStuffReader(root, "val2017").valid_classes
    assert valid.shape == (182,) and valid.sum() == 171
    invalid = [COCO_STUFF_CLASSES[i] for i in np.flatnonzero(~valid)]
    assert invalid == list(COCO_STUFF_NEVER_ANNOTATED)


def test_layout_errors(root: Path):
    with pytest.raises(DataError, match="no images in .*train2017"):
        CocoStuffReader(root, "train")
    with pytest.raises(DataError, match=r"missing folder .*images/test2017"):
        CocoStuffReader(root, "test2017")
    (root / "annotations" / "val2017" / "000000000009.png").unlink()
    with pytest.raises(DataError, match=r"do not exist: .*annotations/val2017/000000000009.png"):
        CocoStuffReader(root, "val2017")


def read_table(path: Path) -> list[tuple[int, str]]:
    """Rows "<index>\t<name>" of an official label list."""
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    return [(int(index), name) for index, name in rows]


@needs_benchmarks
def test_class_order_and_never_annotated_ids_match_the_official_lists():
    folder = BENCHMARKS / "cagnet-official" / "cocostuff"
    refined = read_table(folder / "labels_refined.txt")
    assert refined == list(enumerate(COCO_STUFF_CLASSES))
    ids = {name: index for index, name in read_table(folder / "labels.txt")}
    assert ids["unlabeled"] == 0  # labels.txt counts COCO ids from 1; the PNG values are id - 1
    never = [ids[name] for name in COCO_STUFF_NEVER_ANNOTATED]
    assert never == [12, 26, 29, 30, 45, 66, 68, 69, 71, 83, 91]  # COCO's unused thing ids
    assert [COCO_STUFF_CLASSES.index(name) + 1 for name in COCO_STUFF_NEVER_ANNOTATED] == never
