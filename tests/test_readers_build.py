"""build_reader and unseen_names: kinds, protocols on top of readers, and config errors."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cagnet.data.readers import (
    DatasetConfig,
    FilterUnseenImages,
    FolderReader,
    RemappedReader,
    build_reader,
    unseen_names,
)
from cagnet.errors import ConfigError, DataError


def folder_tree(root: Path, classes: tuple[str, ...], labels: dict[str, list]) -> Path:
    """A folder-format data set with one image per label in each of train and val."""
    root.mkdir()
    (root / "classes.txt").write_text("\n".join(classes))
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for stem, label in labels.items():
            label = np.array(label, dtype=np.uint8)
            Image.new("RGB", label.shape[::-1]).save(root / "images" / split / f"{stem}.png")
            Image.fromarray(label).save(root / "labels" / split / f"{stem}.png")
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    labels = {"one": [[0, 1]], "two": [[2, 3]], "three": [[255, 1]]}
    return folder_tree(tmp_path / "toy", ("background", "cat", "dog", "cow"), labels)


def test_folder_kinds_read_the_class_list_as_it_is(folder: Path):
    for kind in ("folder", "synthetic"):
        reader = build_reader(DatasetConfig(kind=kind, root=str(folder)), "val")
        assert isinstance(reader, FolderReader) and len(reader.class_names) == 4


def test_spnet_protocol_drops_a_leading_background(folder: Path):
    config = DatasetConfig(kind="folder", root=str(folder), protocol="spnet")
    reader = build_reader(config, "val")
    assert isinstance(reader, RemappedReader) and reader.class_names == ("cat", "dog", "cow")
    assert reader.name == "toy/val (spnet)"
    labels = {s.name: s.label.tolist() for s in (reader[i] for i in range(len(reader)))}
    assert labels == {"one": [[255, 0]], "two": [[1, 2]], "three": [[255, 0]]}
    zs3 = build_reader(replace(config, protocol="zs3"), "val")
    assert zs3.class_names == ("background", "cat", "dog", "cow")


def test_remove_unseen_images_filters_the_training_split_only(folder: Path):
    config = DatasetConfig(
        kind="folder", root=str(folder), unseen=("cow",), remove_unseen_images=True
    )
    train = build_reader(config, "train")
    assert isinstance(train, FilterUnseenImages) and len(train) == 2
    assert len(build_reader(config, "val")) == 3
    assert len(build_reader(config, "val", training=True)) == 2


def test_unseen_names_sources(folder: Path):
    config = DatasetConfig(kind="folder", root=str(folder))
    names = ("background", "cat", "dog", "cow")
    with pytest.raises(ConfigError, match="no default unseen classes for data set 'folder'"):
        unseen_names(config, names)
    (folder / "unseen.txt").write_text("dog\n\ncow\n")
    assert unseen_names(config, names) == ("dog", "cow")
    assert unseen_names(replace(config, unseen=("cat",)), names) == ("cat",)


@pytest.mark.parametrize(
    ("unseen", "num_unseen", "message"),
    [
        (("horse",), 0, r"\['horse'\] from dataset.unseen are not in the class list"),
        (("cat", "cat"), 0, "repeat a class"),
        (("background",), 0, "include 'background'"),
        (("cat",), 2, "num_unseen=2 but dataset.unseen names 1 classes"),
    ],
)
def test_bad_unseen_lists(folder: Path, unseen, num_unseen: int, message: str):
    config = DatasetConfig(kind="folder", root=str(folder), unseen=unseen, num_unseen=num_unseen)
    with pytest.raises(ConfigError, match=message):
        unseen_names(config, ("background", "cat", "dog", "cow"))


def test_config_errors(folder: Path):
    with pytest.raises(ConfigError, match=r"unknown dataset.kind 'ade20k'.*'voc', 'context'"):
        build_reader(DatasetConfig(kind="ade20k", root=str(folder)), "val")
    with pytest.raises(ConfigError, match="unknown dataset.kind 'ade20k'"):
        unseen_names(DatasetConfig(kind="ade20k", root=str(folder)), ("cat",))
    with pytest.raises(ConfigError, match="dataset.root is empty"):
        build_reader(DatasetConfig(kind="voc"), "val")
    with pytest.raises(ConfigError, match="unknown protocol 'zs5'"):
        build_reader(DatasetConfig(kind="folder", root=str(folder), protocol="zs5"), "val")
    with pytest.raises(ConfigError, match="num_classes=21 but toy/val has 4 classes"):
        build_reader(DatasetConfig(kind="folder", root=str(folder), num_classes=21), "val")


@pytest.mark.parametrize("kind", ["voc", "context", "cocostuff", "official", "folder"])
def test_a_root_without_the_layout_says_what_is_missing(tmp_path: Path, kind: str):
    root = tmp_path / "voc12"
    root.mkdir()
    with pytest.raises(DataError, match="expected the layout"):
        build_reader(DatasetConfig(kind=kind, root=str(root)), "val")


def context_tree(root: Path) -> Path:
    (root / "JPEGImages").mkdir(parents=True)
    Image.new("RGB", (2, 1)).save(root / "JPEGImages" / "x.jpg")
    for size in (33, 59):
        (root / f"labels{size}").mkdir()
        Image.fromarray(np.array([[0, size]], np.uint8)).save(root / f"labels{size}" / "x.png")
    (root / "val.txt").write_text("x\n")
    return root


def test_context_class_set_follows_the_protocol(tmp_path: Path):
    config = DatasetConfig(kind="context", root=str(context_tree(tmp_path)))
    spnet = build_reader(replace(config, protocol="spnet"), "val")
    assert len(spnet.class_names) == 33 and spnet[0].label.tolist() == [[255, 32]]
    assert unseen_names(replace(config, protocol="spnet"), spnet.class_names) == (
        "cow", "motorbike", "sofa", "cat",
    )  # fmt: skip
    zs3 = build_reader(replace(config, protocol="zs3"), "val")
    assert len(zs3.class_names) == 60 and zs3[0].label.tolist() == [[0, 59]]
    assert len(unseen_names(replace(config, protocol="zs3"), zs3.class_names)) == 10
    assert len(build_reader(replace(config, num_classes=59), "val").class_names) == 60
    with pytest.raises(ConfigError, match="num_classes=21 but Pascal-Context has sets of 33"):
        build_reader(replace(config, num_classes=21), "val")


def test_official_kind_takes_the_data_set_from_the_root_name(tmp_path: Path):
    root = tmp_path / "voc12"
    for folder in ("images/val", "annotations/val", "split"):
        (root / folder).mkdir(parents=True)
    Image.new("RGB", (2, 1)).save(root / "images" / "val" / "v.jpg")
    Image.fromarray(np.array([[0, 17]], np.uint8)).save(root / "annotations" / "val" / "v.png")
    np.save(root / "split" / "test_list.npy", np.array(["/x/annotations/val/v.png"]))
    config = DatasetConfig(kind="official", root=str(root), protocol="spnet")
    reader = build_reader(config, "val")
    assert len(reader.class_names) == 20 and reader[0].label.tolist() == [[255, 16]]
    assert unseen_names(config, reader.class_names)[1] == "sheep"
    renamed = root.rename(tmp_path / "data")
    with pytest.raises(ConfigError, match="set dataset.dataset to one of"):
        build_reader(replace(config, root=str(renamed)), "val")
    assert len(build_reader(replace(config, root=str(renamed), dataset="voc12"), "val")) == 1
