"""Streaming word2vec .bin / fastText .vec readers and the composition rule (mean, normalise)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from cagnet.embeddings import (
    compose_class_vectors,
    embed_class_names,
    read_word_vectors,
    split_class_name,
)
from cagnet.errors import EmbeddingError

WORDS = {
    "sky": [3.0, 0.0, 4.0],
    "potted": [1.0, 2.0, 2.0],
    "plant": [0.0, 6.0, 0.0],
    "wall": [2.0, 0.0, 0.0],
    "concrete": [0.0, 0.0, 2.0],
    "Sky": [9.0, 9.0, 9.0],  # cased entries, as in GoogleNews: lookups are lowercase
}


def write_bin(path: Path, words: dict[str, list[float]], newline: bool = True) -> Path:
    """A word2vec binary: header 'V D\\n', then word, space, D float32 (LE), optional newline."""
    dim = len(next(iter(words.values())))
    with path.open("wb") as stream:
        stream.write(f"{len(words)} {dim}\n".encode())
        for word, vector in words.items():
            stream.write(word.encode() + b" " + struct.pack(f"<{dim}f", *vector))
            if newline:
                stream.write(b"\n")
    return path


def write_vec(path: Path, words: dict[str, list[float]], header: bool = True) -> Path:
    dim = len(next(iter(words.values())))
    lines = [f"{len(words)} {dim}"] if header else []
    lines += [f"{w} " + " ".join(f"{x:g}" for x in v) + " " for w, v in words.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hand_expected() -> np.ndarray:
    # "sky": (3,0,4)/5.  "potted_plant": mean((1,2,2),(0,6,0)) = (0.5,4,1), norm sqrt(17.25).
    # "Wall-Concrete": mean((2,0,0),(0,0,2)) = (1,0,1), norm sqrt(2).
    return np.array(
        [
            [0.6, 0.0, 0.8],
            [0.5 / 17.25**0.5, 4 / 17.25**0.5, 1 / 17.25**0.5],
            [2**-0.5, 0.0, 2**-0.5],
        ],
        dtype=np.float32,
    )


NAMES = ["sky", "potted_plant", "Wall-Concrete"]


def test_split_class_name() -> None:
    assert split_class_name("Wall-concrete") == ["wall", "concrete"]
    assert split_class_name("potted_plant") == ["potted", "plant"]
    assert split_class_name("tv/monitor  screen") == ["tv", "monitor", "screen"]
    assert split_class_name("-_ ") == []


@pytest.mark.parametrize(
    "writer",
    [
        lambda p: write_bin(p / "w.bin", WORDS),
        lambda p: write_bin(p / "w.bin", WORDS, newline=False),
        lambda p: write_vec(p / "w.vec", WORDS),
        lambda p: write_vec(p / "w.txt", WORDS, header=False),
    ],
)
def test_embed_class_names_matches_hand_computation(tmp_path: Path, writer) -> None:
    path = writer(tmp_path)
    matrix = embed_class_names(NAMES, path)
    assert matrix.shape == (3, 3) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix, hand_expected(), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-6)


def test_read_word_vectors_keeps_only_requested_words(tmp_path: Path) -> None:
    path = write_bin(tmp_path / "w.bin", WORDS)
    found = read_word_vectors(path, {"sky", "Sky", "absent"})
    assert set(found) == {"sky", "Sky"}
    np.testing.assert_array_equal(found["Sky"], [9.0, 9.0, 9.0])


def test_binary_reader_streams_across_chunks(tmp_path: Path, monkeypatch) -> None:
    from cagnet.embeddings import word_vectors

    monkeypatch.setattr(word_vectors, "_CHUNK", 5)  # entries straddle many reads
    many = {f"w{i}": [float(i), 1.0, -float(i)] for i in range(50)}
    found = read_word_vectors(write_bin(tmp_path / "w.bin", many), {"w0", "w37", "w49"})
    np.testing.assert_array_equal(found["w37"], [37.0, 1.0, -37.0])
    assert len(found) == 3


def test_out_of_vocabulary_class_names_class_and_source(tmp_path: Path) -> None:
    path = write_vec(tmp_path / "w.vec", WORDS)
    with pytest.raises(EmbeddingError) as info:
        embed_class_names(["sky", "tvmonitor"], path)
    assert "tvmonitor" in str(info.value) and str(path) in str(info.value)


def test_partly_known_name_averages_known_words_with_warning() -> None:
    vectors = {w: np.array(v) for w, v in WORDS.items()}
    with pytest.warns(UserWarning, match="hedge"):
        matrix = compose_class_vectors(["sky hedge"], vectors, "test")
    np.testing.assert_allclose(matrix[0], [0.6, 0.0, 0.8], atol=1e-6)


def test_malformed_files(tmp_path: Path) -> None:
    bad_header = tmp_path / "bad.bin"
    bad_header.write_bytes(b"hello world\n")
    with pytest.raises(EmbeddingError, match="'V D'"):
        read_word_vectors(bad_header, {"sky"})
    truncated = write_bin(tmp_path / "cut.bin", WORDS)
    truncated.write_bytes(truncated.read_bytes()[:-20])
    with pytest.raises(EmbeddingError, match="ends inside entry"):
        read_word_vectors(truncated, {"not-there"})
    short_row = tmp_path / "short.vec"
    short_row.write_text("2 3\nsky 1 2 3\nwall 1 2\n")
    with pytest.raises(EmbeddingError, match="line 3"):
        read_word_vectors(short_row, {"wall"})
    with pytest.raises(EmbeddingError, match="suffix"):
        read_word_vectors(write_vec(tmp_path / "w.csv", WORDS), {"sky"})
    with pytest.raises(EmbeddingError, match="does not exist"):
        read_word_vectors(tmp_path / "absent.vec", {"sky"})
