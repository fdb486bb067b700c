"""OfficialReader: the official CaGNet release's layout and its split lists."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cagnet.data.readers.class_names import VOC_CLASSES
from cagnet.data.readers.official import OfficialReader, read_official_list
from cagnet.errors import DataError

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
needs_benchmarks = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="../shared is absent")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A voc12 release: train {t1, t2}, val {v1}, lists in the official (absolute-path) format."""
    for subset, stems in (("train", ("t1", "t2")), ("val", ("v1",))):
        (tmp_path / "images" / subset).mkdir(parents=True)
        (tmp_path / "annotations" / subset).mkdir(parents=True)
        for stem in stems:
            Image.new("RGB", (4, 3)).save(tmp_path / "images" / subset / f"{stem}.jpg")
            label = np.array([[0, 20, 255, 16]] * 3, dtype=np.uint8)
            Image.fromarray(label).save(tmp_path / "annotations" / subset / f"{stem}.png")
    (tmp_path / "split").mkdir()
    remote = "/home/someone/SBD/dataset/annotations"
    np.save(
        tmp_path / "split" / "train_list.npy",
        np.array([f"{remote}/train/t2.png", f"{remote}/train/t1.png"]),
    )
    np.save(tmp_path / "split" / "test_list.npy", np.array([f"{remote}/val/v1.png"]))
    return tmp_path


def test_reads_the_listed_items(root: Path):
    reader = OfficialReader(root, "train", "voc12")
    assert [p.name for p in reader.pairs] == ["t2", "t1"] and reader.class_names == VOC_CLASSES
    sample = reader[0]
    assert sample.image.shape == (3, 4, 3)
    np.testing.assert_array_equal(sample.label[0], [0, 20, 255, 16])
    assert [p.name for p in OfficialReader(root, "test", "voc12").pairs] == ["v1"]


def test_label_spaces_per_data_set(root: Path):
    context = OfficialReader(root, "val", "context")
    assert len(context.class_names) == 34 and context.class_names[0] == "background"
    cocostuff = OfficialReader(root, "val", "cocostuff")
    assert len(cocostuff.class_names) == 182 and cocostuff.valid_classes.sum() == 171


def test_missing_listed_file_names_it_and_the_list(root: Path):
    (root / "annotations" / "train" / "t1.png").unlink()
    with pytest.raises(
        DataError, match=r"named by .*train_list.npy do not exist: .*annotations/train/t1.png"
    ):
        OfficialReader(root, "train", "voc12")


def test_layout_and_argument_errors(root: Path):
    with pytest.raises(DataError, match="no COCO-stuff train list"):
        (root / "split" / "train_list.npy").unlink()
        OfficialReader(root, "train", "cocostuff")
    with pytest.raises(DataError, match=r"missing file .*train_list.npy"):
        OfficialReader(root, "train", "voc12")
    with pytest.raises(DataError, match="unknown official data set 'ade'"):
        OfficialReader(root, "val", "ade")
    with pytest.raises(DataError, match="unknown split 'train_aug'"):
        OfficialReader(root, "train_aug", "voc12")
    np.save(root / "split" / "test_list.npy", np.zeros(3))
    with pytest.raises(DataError, match="expected a non-empty 1-d array of annotation paths"):
        OfficialReader(root, "val", "voc12")


@needs_benchmarks
@pytest.mark.parametrize(
    ("dataset", "name", "count", "subset"),
    [
        ("voc12", "train_list.npy", 10582, "train"),
        ("voc12", "test_list.npy", 1449, "val"),
        ("context", "train_list.npy", 4998, "train"),
        ("context", "test_list.npy", 5105, "val"),
        ("cocostuff", "test_list.npy", 5000, "val2017"),
    ],
)
def test_parses_the_official_lists(dataset: str, name: str, count: int, subset: str):
    items = read_official_list(BENCHMARKS / "cagnet-official" / dataset / "split" / name)
    assert len(items) == count and len(set(items)) == count
    assert {s for s, _ in items} == {subset}
    assert all(not stem.endswith(".png") and "/" not in stem for _, stem in items)
