"""Word vectors from a word2vec binary (``.bin``) or a fastText/GloVe text file (``.vec``/``.txt``).

Both readers stream the file and keep only the requested words, so a multi-gigabyte file such as
``GoogleNews-vectors-negative300.bin`` (3M words x 300) or ``crawl-300d-2M.vec`` is never held
in memory whole; they stop as soon as every requested word has been found.

Formats:
    ``.bin`` (word2vec C tool, GoogleNews): an ASCII header line ``"V D\\n"``, then for each word
    its UTF-8 bytes, one space, and D little-endian float32 values; an optional newline may follow
    each vector.
    ``.vec`` / ``.txt`` (fastText, GloVe): UTF-8 lines ``"word v1 ... vD"``, with an optional first
    line ``"V D"`` (fastText has it, GloVe does not).

Words are matched exactly as stored; class names are lowercased by
:func:`~cagnet.embeddings.text.split_class_name` before lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cagnet.embeddings.text import compose_class_vectors, words_of
from cagnet.errors import EmbeddingError

BINARY_SUFFIXES = (".bin",)
TEXT_SUFFIXES = (".vec", ".txt")
_CHUNK = 1 << 22  # bytes read at a time from a .bin file


def read_word_vectors(path: Path, words: Iterable[str]) -> dict[str, np.ndarray]:
    """Streams a word-vector file and returns the vectors of the requested words it holds.

    Args:
        path: A word2vec ``.bin`` or a fastText/GloVe ``.vec``/``.txt`` file.
        words: The words wanted; those absent from the file are absent from the result.

    Returns:
        word -> (D,) float32 vector, for the requested words found (first occurrence wins).

    Raises:
        EmbeddingError: If the file is missing, has another suffix, or is malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise EmbeddingError(f"word-vector file {path} does not exist")
    wanted = set(words)
    suffix = path.suffix.lower()
    try:
        with path.open("rb") as stream:
            if suffix in BINARY_SUFFIXES:
                return _read_binary(stream, wanted, path)
            if suffix in TEXT_SUFFIXES:
                return _read_text(stream, wanted, path)
    except OSError as err:
        raise EmbeddingError(f"cannot read word-vector file {path}: {err}") from err
    raise EmbeddingError(
        f"word-vector file {path} has suffix {path.suffix!r}; expected one of "
        f"{BINARY_SUFFIXES + TEXT_SUFFIXES} (word2vec binary or fastText/GloVe text)"
    )


def _read_binary(stream: BinaryIO, wanted: set[str], path: Path) -> dict[str, np.ndarray]:
    header = stream.readline().split()
    if len(header) != 2 or not all(field.isdigit() for field in header):
        raise EmbeddingError(f"{path}: first line should be 'V D' (word count, dimension)")
    count, dim = int(header[0]), int(header[1])
    vector_bytes = 4 * dim
    targets = {word.encode("utf-8"): word for word in wanted}
    found: dict[str, np.ndarray] = {}
    buffer = b""
    pos = 0
    for index in range(count):
        if len(found) == len(targets):
            break
        while True:  # the word runs up to the next space, its vector follows
            space = buffer.find(b" ", pos)
            if space >= 0 and len(buffer) - space - 1 >= vector_bytes:
                break
            more = stream.read(_CHUNK)
            if not more:
                raise EmbeddingError(
                    f"{path}: file ends inside entry {index} of {count} (truncated or not a "
                    f"word2vec binary with {dim}-d float32 vectors)"
                )
            buffer = buffer[pos:] + more
            pos = 0
        word = buffer[pos:space].lstrip(b"\n")
        pos = space + 1 + vector_bytes
        if word in targets and targets[word] not in found:
            vector = np.frombuffer(buffer, "<f4", dim, space + 1)
            found[targets[word]] = vector.astype(np.float32)
    return found


def _read_text(stream: BinaryIO, wanted: set[str], path: Path) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    dim: int | None = None
    for number, raw in enumerate(stream, start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n ")
        word, _, rest = line.partition(" ")
        if number == 1 and word.isdigit() and rest.strip().isdigit():
            dim = int(rest)  # fastText header "V D"
            continue
        if dim is None:
            dim = len(rest.split())
        if word not in wanted or word in found:
            continue
        try:
            vector = np.array(rest.split(), dtype=np.float32)
        except ValueError as err:
            raise EmbeddingError(f"{path}, line {number}: bad number for {word!r} ({err})") from err
        if vector.shape != (dim,):
            raise EmbeddingError(
                f"{path}, line {number}: {word!r} has {vector.size} values, expected {dim}"
            )
        found[word] = vector
        if len(found) == len(wanted):
            break
    return found


def embed_class_names(class_names: Sequence[str], vectors_path: Path) -> np.ndarray:
    """Embeds class names with the word vectors of one file (mean of words, L2-normalised).

    Args:
        class_names: K class names in label order, e.g. ``["sky", "wall-concrete"]``.
        vectors_path: A word2vec ``.bin`` or fastText/GloVe ``.vec``/``.txt`` file.

    Returns:
        (K, D) float32 matrix with unit-norm rows.

    Raises:
        EmbeddingError: If the file cannot be read or a class has no word in it.
    """
    vectors = read_word_vectors(vectors_path, words_of(class_names))
    return compose_class_vectors(class_names, vectors, str(vectors_path))
