"""ContextReader: the 33- and 59-class sets, their order and the layout errors."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cagnet.data.readers.class_names import CONTEXT_33_CLASSES, CONTEXT_59_CLASSES
from cagnet.data.readers.context import ContextReader
from cagnet.errors import DataError

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
needs_benchmarks = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason="../shared is absent")


def squash(name: str) -> str:
    """Compare names across spellings: 'tv monitor' ~ 'tvmonitor' ~ 'tv_monitor'."""
    return name.lower().replace(" ", "").replace("_", "")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "JPEGImages").mkdir()
    for folder, value in (("labels33", 33), ("labels59", 59)):
        (tmp_path / folder).mkdir()
        for name in ("x", "y"):
            Image.fromarray(np.array([[0, value], [255, 1]], dtype=np.uint8)).save(
                tmp_path / folder / f"{name}.png"
            )
    for name in ("x", "y"):
        Image.new("RGB", (2, 2)).save(tmp_path / "JPEGImages" / f"{name}.jpg")
    (tmp_path / "train.txt").write_text("y\nx\n")
    (tmp_path / "val.txt").write_text("x\n")
    return tmp_path


@pytest.mark.parametrize("num_classes", [33, 59])
def test_class_sets_with_background_first(root: Path, num_classes: int):
    reader = ContextReader(root, "train", num_classes)
    assert len(reader.class_names) == num_classes + 1 and reader.class_names[0] == "background"
    assert [p.name for p in reader.pairs] == ["y", "x"]  # the list's order
    np.testing.assert_array_equal(reader[0].label, [[0, num_classes], [255, 1]])
    assert reader.name == f"context{num_classes}/train"


def test_default_is_the_33_class_set(root: Path):
    assert len(ContextReader(root, "val").class_names) == 34


def test_layout_errors(root: Path):
    with pytest.raises(DataError, match="sets of \\[33, 59\\] classes, not 60"):
        ContextReader(root, "train", 60)
    with pytest.raises(DataError, match=r"missing file .*test.txt"):
        ContextReader(root, "test")
    (root / "labels59" / "x.png").unlink()
    with pytest.raises(DataError, match=r"named by .*train.txt do not exist: .*labels59/x.png"):
        ContextReader(root, "train", 59)
    for path in (root / "labels33").iterdir():
        path.unlink()
    (root / "labels33").rmdir()
    with pytest.raises(DataError, match=r"missing folder .*labels33"):
        ContextReader(root, "train", 33)


@needs_benchmarks
def test_33_class_order_is_the_official_one():
    lines = (BENCHMARKS / "cagnet-official" / "context" / "labels.txt").read_text().splitlines()
    official = [line.split(":")[1].strip() for line in lines if line.strip()]  # "1: aeroplane"
    assert [squash(n) for n in official] == [squash(n) for n in CONTEXT_33_CLASSES]
    refined = (BENCHMARKS / "cagnet-official" / "context" / "labels_refined.txt").read_text()
    assert refined.splitlines()[0].split("\t") == ["0", "unlabel"]  # value 0 = background


@needs_benchmarks
def test_59_class_order_matches_zs3_embeddings():
    """ZS3Net's 60 x 300 word2vec rows follow background + CONTEXT_59_CLASSES: neighbours agree."""
    rows = np.load(BENCHMARKS / "zs3-official" / "pascalcontext_class_w2c.npy")
    assert rows.shape == (60, 300)
    rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    similarity = rows @ rows.T
    np.fill_diagonal(similarity, -1)
    names = ("background", *CONTEXT_59_CLASSES)
    nearest = {names[i]: names[int(similarity[i].argmax())] for i in range(60)}
    pairs = [
        ("cow", "sheep"), ("bicycle", "motorbike"), ("keyboard", "mouse"), ("mouse", "keyboard"),
        ("cat", "dog"), ("bus", "train"), ("truck", "car"), ("door", "window"),
        ("window", "door"), ("cloth", "bedclothes"), ("road", "sidewalk"), ("ceiling", "wall"),
        ("snow", "mountain"), ("tv monitor", "computer"), ("plate", "table"), ("cup", "bottle"),
    ]  # fmt: skip
    assert [(a, nearest[a]) for a, _ in pairs] == pairs
