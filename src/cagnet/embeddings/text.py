"""How a class name becomes one embedding row: split into words, average, L2-normalise.

The convention matches the official CaGNet arrays (``word_vectors/word2vec.pkl`` and
``fasttext.pkl`` of voc12 and cocostuff), checked numerically against them:

* every row has unit L2 norm;
* a multi-word name such as ``"wall-concrete"`` or ``"traffic light"`` is the mean of the raw
  (unnormalised) word vectors, normalised afterwards. The cocostuff rows ``floor-wood``,
  ``wall-wood``, ``sky-other`` ... are exactly ``normalize(w_floor + w_wood)`` etc. with the raw
  word2vec vectors of Pascal-Context; normalising each word first does not reproduce them.

Names whose words are glued together (``"tvmonitor"``, ``"pottedplant"``, ``"diningtable"``) are
not in the vocabularies: write them as separate words (the official ``labels_refined.txt`` uses
``tv`` and ``potted_plant``). The official arrays also hold a few hand-made rows this rule does not
reproduce (voc12 word2vec ``potted_plant`` is not the mean of ``potted`` and ``plant``; Pascal
Context ``diningtable`` is the vector of ``table``; Pascal Context rows are not normalised).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from cagnet.errors import EmbeddingError

_SEPARATORS = re.compile(r"[\s\-_/]+")


def split_class_name(name: str) -> list[str]:
    """Splits a class name into lowercase words on spaces, '-', '_' and '/'.

    Args:
        name: A class name such as ``"Wall-concrete"`` or ``"potted_plant"``.

    Returns:
        The words, e.g. ``["wall", "concrete"]``; empty when the name has no word.
    """
    return [word for word in _SEPARATORS.split(name.lower()) if word]


def words_of(class_names: Iterable[str]) -> set[str]:
    """Returns every word that :func:`split_class_name` yields for the given names."""
    return {word for name in class_names for word in split_class_name(name)}


def l2_normalize_rows(matrix: np.ndarray, source: str, labels: Sequence[str] = ()) -> np.ndarray:
    """Scales every row to unit L2 norm.

    Args:
        matrix: (K, d) float array.
        source: Where the rows come from, for error messages.
        labels: Optional K class names, for error messages.

    Returns:
        (K, d) float32 array whose rows have norm 1.

    Raises:
        EmbeddingError: If a row is zero or not finite (it has no direction).
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    bad = np.flatnonzero(~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0))
    if bad.size:
        row = int(bad[0])
        what = f"class {labels[row]!r}" if row < len(labels) else f"row {row}"
        raise EmbeddingError(
            f"{source}: the embedding of {what} is zero or not finite and cannot be normalised"
        )
    return (matrix / norms).astype(np.float32)


def compose_class_vectors(
    class_names: Sequence[str], word_vectors: Mapping[str, np.ndarray], source: str
) -> np.ndarray:
    """Embeds class names from word vectors: mean of the known words, then L2-normalised.

    Words of a multi-word name that the vocabulary lacks are left out of the mean (with a
    warning); a name with no known word is an error.

    Args:
        class_names: K class names in label order.
        word_vectors: Lowercase word -> (d,) vector.
        source: The vocabulary's name (a file path, ``"glove"``), for error messages.

    Returns:
        (K, d) float32 matrix, one unit-norm row per class.

    Raises:
        EmbeddingError: If there are no classes, or a class has no word in the vocabulary.
    """
    if not class_names:
        raise EmbeddingError(f"{source}: no class names were given")
    rows = []
    for name in class_names:
        words = split_class_name(name)
        known = [word_vectors[w] for w in words if w in word_vectors]
        if known and len(known) < len(words):
            missing = [w for w in words if w not in word_vectors]
            warnings.warn(
                f"class {name!r}: {missing} not in {source}; averaging the other words only",
                stacklevel=2,
            )
        if not known:
            raise EmbeddingError(
                f"class {name!r} has no word in the vocabulary of {source} "
                f"(words tried: {words}); rename it with known words, "
                "separated by spaces, '-', '_' or '/'"
            )
        rows.append(np.mean(np.asarray(known, dtype=np.float64), axis=0))
    return l2_normalize_rows(np.stack(rows), source, class_names)
