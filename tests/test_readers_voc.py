"""VOCReader: palette masks, the flat sample folder, the SBD-augmented train set and its errors."""

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from cagnet.data.readers.class_names import VOC_CLASSES
from cagnet.data.readers.voc import VOCReader
from cagnet.errors import DataError

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "voc2012"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/samples is absent")


def palette_png(path: Path, label: np.ndarray) -> None:
    """A VOC-style palette mask: index = class, whose colour differs from its index."""
    image = Image.fromarray(label.astype(np.uint8), mode="P")
    image.putpalette([(7 * i) % 256 for i in range(768)])
    image.save(path)


def jpg(path: Path, height: int, width: int) -> None:
    Image.new("RGB", (width, height), (90, 120, 30)).save(path)


def sbd_mat(path: Path, label: np.ndarray, field: str = "Segmentation") -> None:
    scipy.io.savemat(path, {"GTcls": {field: label.astype(np.uint8), "Boundaries": 0}})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """VOC: train {a, b, c}, val {d, e}; SBD: train {b, f, d}, val {g}; 3x4 images."""
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    lists = voc / "ImageSets" / "Segmentation"
    for folder in (voc / "JPEGImages", voc / "SegmentationClass", lists):
        folder.mkdir(parents=True)
    for index, name in enumerate("abcde"):
        jpg(voc / "JPEGImages" / f"{name}.jpg", 3, 4)
        palette_png(voc / "SegmentationClass" / f"{name}.png", np.full((3, 4), index))
    (lists / "train.txt").write_text("a\nb\nc\n")
    (lists / "val.txt").write_text("d\ne\n")
    (lists / "trainval.txt").write_text("a\nb\nc\nd\ne\n")
    sbd = tmp_path / "benchmark_RELEASE" / "dataset"
    (sbd / "img").mkdir(parents=True)
    (sbd / "cls").mkdir()
    for name in "bfdg":
        jpg(sbd / "img" / f"{name}.jpg", 3, 4)
        sbd_mat(sbd / "cls" / f"{name}.mat", np.full((3, 4), 17))
    (sbd / "train.txt").write_text("b\nf\nd\n")
    (sbd / "val.txt").write_text("g\n")
    return tmp_path


@needs_samples
def test_flat_sample_folder_reads_palette_indices():
    reader = VOCReader(SAMPLES, "all")
    assert reader.class_names == VOC_CLASSES and len(VOC_CLASSES) == 21
    values = {s.name: set(np.unique(s.label).tolist()) for s in reader}
    assert values == {
        "sample_001": {0, 1, 255},  # aeroplane
        "sample_023": {0, 17, 255},  # sheep
        "sample_114": {0, 3, 255},  # bird
    }
    assert VOC_CLASSES[17] == "sheep" and reader[0].image.shape == (513, 513, 3)


@needs_samples
def test_flat_folder_without_lists_asks_for_split_all():
    with pytest.raises(DataError, match=r"missing split list .*val.txt.*split 'all'"):
        VOCReader(SAMPLES, "val")


def test_voc_lists(root: Path):
    assert [p.name for p in VOCReader(root, "val").pairs] == ["d", "e"]
    reader = VOCReader(root, "train")
    assert len(reader) == 3 and reader.name == "voc2012/train"
    np.testing.assert_array_equal(reader[1].label, np.full((3, 4), 1))


def test_train_aug_is_sbd_and_voc_train_minus_voc_val(root: Path):
    reader = VOCReader(root, "train_aug")
    assert [p.name for p in reader.pairs] == ["a", "b", "c", "f", "g"]  # d is in VOC val
    by_name = {p.name: p for p in reader.pairs}
    assert by_name["b"].label.suffix == ".png"  # VOC's mask wins over SBD's
    assert by_name["f"].label.suffix == ".mat" and "benchmark_RELEASE" in str(by_name["f"].image)
    f = reader[3]
    assert f.name == "f" and f.image.shape == (3, 4, 3)
    np.testing.assert_array_equal(f.label, np.full((3, 4), 17))
    assert f.label.dtype == np.int64


def test_sbd_annotation_without_segmentation_field(root: Path):
    path = root / "benchmark_RELEASE" / "dataset" / "cls" / "f.mat"
    sbd_mat(path, np.zeros((3, 4)), field="Other")
    reader = VOCReader(root, "train_aug")
    with pytest.raises(DataError, match=r"f.mat has no field GTcls.Segmentation"):
        reader[3]
    scipy.io.savemat(path, {"something": np.zeros(2)})
    with pytest.raises(DataError, match=r"f.mat has no field GTcls.Segmentation"):
        reader.load_label(3)


def test_listed_file_missing_names_it_and_the_list(root: Path):
    (root / "benchmark_RELEASE" / "dataset" / "cls" / "g.mat").unlink()
    listed = r"named by .*dataset/train.txt and .*dataset/val.txt do not exist: .*cls/g.mat"
    with pytest.raises(DataError, match=listed):
        VOCReader(root, "train_aug")
    (root / "VOCdevkit" / "VOC2012" / "JPEGImages" / "e.jpg").unlink()
    with pytest.raises(DataError, match=r"1 file\(s\) named by .*val.txt do not exist: .*e.jpg"):
        VOCReader(root, "val")


def test_train_aug_needs_sbd(root: Path):
    (root / "benchmark_RELEASE" / "dataset" / "val.txt").unlink()
    with pytest.raises(DataError, match=r"missing file .*dataset/val.txt"):
        VOCReader(root, "train_aug")


def test_unknown_split_and_wrong_root(root: Path, tmp_path: Path):
    with pytest.raises(DataError, match="unknown Pascal-VOC split 'test'"):
        VOCReader(root, "test")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds neither VOCdevkit/VOC2012"):
        VOCReader(empty, "val")
