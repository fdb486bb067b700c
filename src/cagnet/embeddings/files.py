"""Class-embedding matrices stored in files: ``.npy``, pickled arrays (``.pkl``) and ``.pt``.

Examples are the official CaGNet ``word_vectors/word2vec.pkl`` / ``fasttext.pkl`` (pickled
float64 numpy arrays, 21 x 300 for voc12, 34 x 300 for Pascal-Context, 182 x 300 for
COCO-Stuff) and ZS3Net's ``norm_embed_arr_300.pkl`` (21 x 300 float32). Pickles written by
Python 2 are read with ``encoding="latin1"``.

Pickle and ``torch.load`` of arbitrary objects can run code, so neither is allowed: pickles are
read by an unpickler that accepts numpy arrays and plain containers only, ``.pt`` files with
``weights_only=True``.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cagnet.errors import EmbeddingError

FILE_SUFFIXES = (".npy", ".pkl", ".pickle", ".pt", ".pth")


# What a pickled numpy array (or a list/dict of them) refers to; nothing else is unpickled.
SAFE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _Refused(pickle.UnpicklingError):
    """A global outside SAFE_GLOBALS."""


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only, so that a file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in SAFE_GLOBALS:
            raise _Refused(f"refusing the global {module}.{name}")
        return super().find_class(module, name)


def _load_pickle(path: Path) -> Any:
    with path.open("rb") as stream:
        try:
            try:
                return _ArrayUnpickler(stream).load()
            except UnicodeDecodeError:  # a Python 2 pickle of numpy arrays
                stream.seek(0)
                return _ArrayUnpickler(stream, encoding="latin1").load()
        except _Refused as error:
            raise EmbeddingError(
                f"refusing to read embedding file {path}: {error}; a pickle may hold only "
                "numpy arrays (other objects could run code). Save the matrix with np.save"
            ) from error


def _load_raw(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix in (".pkl", ".pickle"):
        return _load_pickle(path)
    if suffix in (".pt", ".pth"):
        return torch.load(path, map_location="cpu", weights_only=True)
    raise EmbeddingError(
        f"embedding file {path} has suffix {path.suffix!r}; expected {FILE_SUFFIXES}"
    )


def load_embedding_file(path: Path, num_classes: int) -> np.ndarray:
    """Loads a (K, d) class-embedding matrix, one row per class in label order.

    The rows are returned as stored (not normalised); see
    :func:`cagnet.embeddings.class_embeddings` for the normalised matrix.

    Args:
        path: A ``.npy`` array, a pickled numpy array or list of rows (``.pkl``), or a
            ``.pt`` tensor / array.
        num_classes: K, the number of rows expected.

    Returns:
        (K, d) float32 matrix.

    Raises:
        EmbeddingError: If the file is missing or unreadable, does not hold a finite 2-D numeric
            matrix, or has a row count other than ``num_classes``.
    """
    path = Path(path)
    if not path.is_file():
        raise EmbeddingError(f"embedding file {path} does not exist")
    try:
        raw = _load_raw(path)
    except EmbeddingError:
        raise
    except Exception as err:  # numpy, pickle and torch raise many kinds of errors on bad files
        raise EmbeddingError(f"cannot read embedding file {path}: {err}") from err
    if isinstance(raw, torch.Tensor):
        raw = raw.detach().cpu().numpy()
    try:
        matrix = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise EmbeddingError(
            f"embedding file {path} holds a {type(raw).__name__}, not a numeric (K, d) matrix"
        ) from err
    if matrix.ndim != 2:
        raise EmbeddingError(
            f"embedding file {path} holds an array of shape {matrix.shape}; expected (K, d)"
        )
    if matrix.shape[0] != num_classes:
        raise EmbeddingError(
            f"embedding file {path} has {matrix.shape[0]} rows but {num_classes} classes "
            "were expected (one row per class, in label order)"
        )
    if not np.isfinite(matrix).all():
        raise EmbeddingError(f"embedding file {path} contains NaN or infinite values")
    return matrix.astype(np.float32)
