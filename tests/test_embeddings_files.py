"""Loading class-embedding matrices from .npy, .pkl and .pt files."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from cagnet.embeddings import load_embedding_file
from cagnet.errors import EmbeddingError

MATRIX = np.arange(12, dtype=np.float64).reshape(4, 3) / 7.0


def _python2_numpy_pickle(array: np.ndarray) -> bytes:
    """A protocol-2 pickle of a float64 array as Python 2 wrote it: the raw data is a py2 `str`,
    which Python 3 can only decode with encoding="latin1"."""

    def short_str(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b

    def int1(n: int) -> bytes:
        return b"K" + bytes([n])

    raw = array.astype("<f8").tobytes()
    rows, cols = array.shape
    dtype = (
        b"cnumpy\ndtype\n" + short_str(b"f8") + int1(0) + int1(1) + b"\x87R"
        b"(" + int1(3) + short_str(b"<") + b"NNN"
        b"J" + struct.pack("<i", -1) + b"J" + struct.pack("<i", -1) + int1(0) + b"tb"
    )
    return (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\n"
        b"cnumpy\nndarray\n" + int1(0) + b"\x85" + short_str(b"b") + b"\x87R"
        b"(" + int1(1) + int1(rows) + int1(cols) + b"\x86" + dtype + b"\x89"
        b"T" + struct.pack("<I", len(raw)) + raw + b"tb."
    )


@pytest.mark.parametrize(
    "name, write",
    [
        ("emb.npy", lambda p: np.save(p, MATRIX)),
        ("emb.pkl", lambda p: p.write_bytes(pickle.dumps(MATRIX))),
        ("list.pkl", lambda p: p.write_bytes(pickle.dumps([list(r) for r in MATRIX]))),
        ("py2.pkl", lambda p: p.write_bytes(_python2_numpy_pickle(MATRIX))),
        ("emb.pt", lambda p: torch.save(torch.from_numpy(MATRIX), p)),
    ],
)
def test_load_embedding_file_formats(tmp_path: Path, name: str, write) -> None:
    path = tmp_path / name
    write(path)
    loaded = load_embedding_file(path, num_classes=4)
    assert loaded.dtype == np.float32
    np.testing.assert_allclose(loaded, MATRIX, rtol=1e-6)


def test_python2_pickle_needs_latin1(tmp_path: Path) -> None:
    data = _python2_numpy_pickle(MATRIX)
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(data)  # the default ASCII decoding fails: the fallback is exercised
    path = tmp_path / "py2.pkl"
    path.write_bytes(data)
    np.testing.assert_allclose(load_embedding_file(path, 4), MATRIX, rtol=1e-6)


def test_row_count_mismatch_names_file_rows_and_classes(tmp_path: Path) -> None:
    path = tmp_path / "emb.npy"
    np.save(path, MATRIX)
    with pytest.raises(EmbeddingError) as info:
        load_embedding_file(path, num_classes=5)
    message = str(info.value)
    assert str(path) in message and "4 rows" in message and "5 classes" in message


@pytest.mark.parametrize(
    "name, content",
    [
        ("bad.npy", b"not a numpy file"),
        ("bad.pkl", b"\x80\x04garbage"),
        ("bad.pt", b"garbage"),
    ],
)
def test_unreadable_file_raises(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(EmbeddingError, match="cannot read embedding file"):
        load_embedding_file(path, 4)


def test_missing_file_and_bad_shapes(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="does not exist"):
        load_embedding_file(tmp_path / "absent.npy", 4)
    np.save(tmp_path / "vector.npy", np.ones(4))
    with pytest.raises(EmbeddingError, match=r"shape \(4,\)"):
        load_embedding_file(tmp_path / "vector.npy", 4)
    (tmp_path / "dict.pkl").write_bytes(pickle.dumps({"sky": [1.0, 2.0]}))
    with pytest.raises(EmbeddingError):
        load_embedding_file(tmp_path / "dict.pkl", 1)
    np.save(tmp_path / "nan.npy", np.full((4, 3), np.nan))
    with pytest.raises(EmbeddingError, match="NaN"):
        load_embedding_file(tmp_path / "nan.npy", 4)
    (tmp_path / "emb.csv").write_text("1,2,3")
    with pytest.raises(EmbeddingError, match="suffix"):
        load_embedding_file(tmp_path / "emb.csv", 1)


class _WritesAFile:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_with_a_code_payload_is_refused_and_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "created-by-the-payload"
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps([_WritesAFile(marker)]))
    with pytest.raises(EmbeddingError, match="refusing to read embedding file .*evil.pkl.*open"):
        load_embedding_file(tmp_path / "evil.pkl", 1)
    assert not marker.exists()
