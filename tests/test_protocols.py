"""The zero-shot protocols checked against the official CaGNet, SPNet and ZS3Net releases."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from cagnet.data.protocols import (
    SPNET_UNSEEN,
    ZS3_UNSEEN,
    default_unseen,
    protocol_label_space,
)
from cagnet.data.readers import DatasetConfig, build_reader, unseen_names
from cagnet.data.readers.class_names import (
    COCO_STUFF_CLASSES,
    CONTEXT_33_CLASSES,
    CONTEXT_59_CLASSES,
    VOC_CLASSES,
)
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import ConfigError

SHARED = Path(__file__).resolve().parents[2] / "shared"
BENCHMARKS = SHARED / "benchmarks"
needs_benchmarks = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="../shared is absent")
# ZS3Net's spellings -> the project's.
ALIASES = {"airplane": "aeroplane", "tv": "tv monitor", "tvmonitor": "tv monitor"}

SPNET_SPACES = {  # data set -> (native classes, spnet classes, official release folder)
    "voc": (VOC_CLASSES, VOC_CLASSES[1:], "voc12"),
    "context33": (("background", *CONTEXT_33_CLASSES), CONTEXT_33_CLASSES, "context"),
    "cocostuff": (COCO_STUFF_CLASSES, COCO_STUFF_CLASSES, "cocostuff"),
}


def squash(name: str) -> str:
    return name.lower().replace(" ", "").replace("_", "")


def official_indices(folder: str, name: str, release: str = "cagnet-official") -> set[int]:
    return set(np.load(BENCHMARKS / release / folder / "split" / name).tolist())


def spnet_split(dataset: str) -> tuple[ZeroShotSplit, int]:
    """The split in the spnet label space, and the offset back to the official indices."""
    native, names, _ = SPNET_SPACES[dataset]
    space = protocol_label_space(native, "spnet")
    assert space.class_names == names
    offset = len(native) - len(names)  # official indices keep background (or unlabelled) at 0
    return ZeroShotSplit.from_names(names, default_unseen(dataset, "spnet")), offset


@needs_benchmarks
@pytest.mark.parametrize("dataset", sorted(SPNET_SPACES))
def test_spnet_splits_are_the_official_cagnet_splits(dataset: str):
    split, offset = spnet_split(dataset)
    folder = SPNET_SPACES[dataset][2]
    assert {i + offset for i in split.unseen} == official_indices(folder, "novel_cls.npy")
    assert {i + offset for i in split.seen} == official_indices(folder, "seen_cls.npy")
    counts = {"voc": (15, 5), "context33": (29, 4), "cocostuff": (167, 15)}[dataset]
    assert (len(split.seen), len(split.unseen)) == counts


@needs_benchmarks
@pytest.mark.parametrize("dataset", ["voc", "cocostuff"])
def test_spnet_seen_classes_are_spnets_seen_and_validation_classes(dataset: str):
    split, offset = spnet_split(dataset)
    folder = SPNET_SPACES[dataset][2]
    spnet = official_indices(folder, "seen_cls.npy", "spnet-official")
    spnet |= official_indices(folder, "val_cls.npy", "spnet-official")
    assert {i + offset for i in split.seen} == spnet


@needs_benchmarks
def test_voc_class_order_is_the_official_one():
    lines = (BENCHMARKS / "cagnet-official" / "voc12" / "labels.txt").read_text().splitlines()
    official = [line.split("\t")[1].strip("_") for line in lines if line.strip()]
    assert [squash(n) for n in official] == [squash(n) for n in VOC_CLASSES]


@needs_benchmarks
@pytest.mark.parametrize(
    ("dataset", "file", "classes"),
    [
        ("voc", "pascal_voc_unseen_classes.txt", VOC_CLASSES),
        ("context59", "pascal_context_unseen_classes.txt", ("background", *CONTEXT_59_CLASSES)),
    ],
)
def test_zs3_lists_are_zs3nets(dataset: str, file: str, classes: tuple[str, ...]):
    lines = (BENCHMARKS / "zs3-official" / file).read_text().splitlines()
    official = {}
    for line in filter(str.strip, lines):  # "4 unseen: cow,motorbike,airplane,sofa"
        size, names = line.split(" unseen:")
        official[int(size)] = tuple(ALIASES.get(n.strip(), n.strip()) for n in names.split(","))
    assert ZS3_UNSEEN[dataset] == official
    for names in official.values():
        assert set(names) <= set(classes)


@needs_benchmarks
def test_zs3_voc_embedding_rows_follow_the_voc_order():
    with open(BENCHMARKS / "zs3-official" / "norm_embed_arr_300.pkl", "rb") as file:
        rows = np.asarray(pickle.load(file, encoding="latin1"), dtype=np.float64)
    assert rows.shape == (21, 300)
    rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    similarity = rows @ rows.T
    np.fill_diagonal(similarity, -1)
    nearest = {VOC_CLASSES[i]: VOC_CLASSES[int(similarity[i].argmax())] for i in range(21)}
    for a, b in [("cow", "sheep"), ("cat", "dog"), ("bicycle", "motorbike"), ("bus", "train")]:
        assert nearest[a] == b


def test_paper_and_supplementary_choices():
    assert default_unseen("voc", "spnet") == SPNET_UNSEEN["voc"]
    assert default_unseen("voc", "zs3") == ("cow", "motorbike", "aeroplane", "sofa")
    assert default_unseen("context59", "zs3")[-2:] == ("keyboard", "aeroplane")
    assert len(default_unseen("context59", "zs3", num_unseen=6)) == 6
    with pytest.raises(ConfigError, match=r"lists of \[2, 4, 6, 8, 10\] unseen classes"):
        default_unseen("voc", "zs3", num_unseen=3)
    with pytest.raises(ConfigError, match="5 unseen classes on voc, not num_unseen=4"):
        default_unseen("voc", "spnet", num_unseen=4)
    with pytest.raises(ConfigError, match="no default unseen classes for data set 'cocostuff'"):
        default_unseen("cocostuff", "zs3")


def test_label_spaces():
    spnet = protocol_label_space(VOC_CLASSES, "spnet")
    assert spnet.changed and spnet.lookup[[0, 1, 20, 21, 255]].tolist() == [255, 0, 19, 255, 255]
    for protocol in ("", "zs3"):
        same = protocol_label_space(VOC_CLASSES, protocol)
        assert not same.changed and same.class_names == VOC_CLASSES
    assert not protocol_label_space(COCO_STUFF_CLASSES, "spnet").changed


@pytest.mark.skipif(not (SHARED / "samples").is_dir(), reason="../shared/samples is absent")
def test_voc_sample_mask_under_spnet_sheep_keeps_its_pixels_background_is_ignored():
    config = DatasetConfig(kind="voc", root=str(SHARED / "samples" / "voc2012"), protocol="spnet")
    reader = build_reader(config, "all")
    native = build_reader(DatasetConfig(kind="voc", root=config.root), "all")
    sheep = reader.class_names.index("sheep")
    assert sheep == 16 and len(reader.class_names) == 20
    index = [pair.name for pair in native.pairs].index("sample_023")
    before, after = native.load_label(index), reader[index].label
    np.testing.assert_array_equal(after == sheep, before == VOC_CLASSES.index("sheep"))
    np.testing.assert_array_equal(after == 255, (before == 0) | (before == 255))
    split = ZeroShotSplit.from_names(reader.class_names, unseen_names(config, reader.class_names))
    assert sheep in split.unseen
