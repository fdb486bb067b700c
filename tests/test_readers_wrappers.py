"""RemappedReader and FilterUnseenImages over a small in-memory reader."""

import numpy as np
import pytest

from cagnet.data.readers import FilterUnseenImages, RemappedReader
from cagnet.data.sample import Sample
from cagnet.errors import ConfigError, DataError


class ListReader:
    """A reader over labels held in memory; counts how often images are decoded."""

    def __init__(self, labels, class_names=("bg", "a", "b", "c"), valid=None):
        self.labels = [np.asarray(label, dtype=np.int64) for label in labels]
        self.class_names = tuple(class_names)
        self.valid_classes = np.ones(len(class_names), bool) if valid is None else np.array(valid)
        self.name = "list"
        self.images_read = 0

    def __len__(self) -> int:
        return len(self.labels)

    def load_label(self, index: int) -> np.ndarray:
        return self.labels[index]

    def __getitem__(self, index: int) -> Sample:
        self.images_read += 1
        label = self.labels[index]
        return Sample(np.zeros((*label.shape, 3), np.uint8), label, f"item{index}")


def drop_first_lookup() -> np.ndarray:
    lookup = np.full(256, 255)
    lookup[1:4] = [0, 1, 2]
    return lookup


def test_remapped_reader_applies_the_lookup():
    inner = ListReader([[[0, 1], [3, 255]]])
    reader = RemappedReader(inner, drop_first_lookup(), ("a", "b", "c"))
    np.testing.assert_array_equal(reader[0].label, [[255, 0], [2, 255]])
    np.testing.assert_array_equal(reader.load_label(0), [[255, 0], [2, 255]])
    assert reader[0].name == "item0" and len(reader) == 1 and reader.name == "list"


def test_remapped_reader_carries_valid_classes():
    inner = ListReader([[[0]]], valid=[True, True, False, True])
    reader = RemappedReader(inner, drop_first_lookup(), ("a", "b", "c"))
    assert reader.valid_classes.tolist() == [True, False, True]


def test_remapped_reader_rejects_bad_lookups():
    with pytest.raises(ConfigError, match="256 entries"):
        RemappedReader(ListReader([[[0]]]), np.arange(10), ("a",))
    with pytest.raises(ConfigError, match=r"maps to \[3\], outside the 3 new classes"):
        RemappedReader(
            ListReader([[[0]]]), np.where(np.arange(256) < 4, np.arange(256), 255), "abc"
        )


def test_filter_keeps_images_without_unseen_classes_reading_labels_only():
    inner = ListReader([[[0, 1]], [[2, 255]], [[3, 1]], [[255, 0]]])
    reader = FilterUnseenImages(inner, unseen=[2, 3])
    assert reader.kept == (0, 3) and len(reader) == 2 and inner.images_read == 0
    assert reader[1].name == "item3" and reader[-1].name == "item3"
    np.testing.assert_array_equal(reader.load_label(1), [[255, 0]])
    assert reader.class_names == inner.class_names
    with pytest.raises(IndexError):
        reader[2]


def test_filter_that_removes_everything_is_an_error():
    with pytest.raises(DataError, match=r"every image of list shows an unseen class \(1,\)"):
        FilterUnseenImages(ListReader([[[1]], [[1, 0]]]), unseen=[1])
