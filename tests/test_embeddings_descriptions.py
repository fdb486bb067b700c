"""Source "minilm:PATH": MiniLM embeds each class's description from a user's YAML file."""

from importlib import resources

import numpy as np
import pytest

import cagnet.embeddings as embeddings
from cagnet.data.synthetic import SYNTHETIC_CLASSES
from cagnet.embeddings import class_embeddings
from cagnet.embeddings.descriptions import read_descriptions
from cagnet.errors import EmbeddingError


def fake_encoder(sentences, labels):
    """One-hot row per distinct sentence: equal rows exactly when the texts are equal."""
    vocabulary = sorted(set(sentences))
    rows = np.zeros((len(sentences), len(vocabulary)), np.float32)
    for row, sentence in enumerate(sentences):
        rows[row, vocabulary.index(sentence)] = 1.0
    fake_encoder.seen = list(sentences)
    return rows


def test_descriptions_not_names_are_encoded_and_concatenate_with_other_sources(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(embeddings, "embed_sentences_minilm", fake_encoder)
    path = tmp_path / "descriptions.yaml"
    path.write_text("sky: the blue sky\nsand: yellow sand\nextra: a class of another data set\n")
    rows = class_embeddings(["minilm:descriptions.yaml"], ["sand", "sky"], base_dir=tmp_path)
    assert fake_encoder.seen == ["yellow sand", "the blue sky"]  # label order, the texts
    assert rows.shape == (2, 2)
    both = class_embeddings(
        [f"minilm:{path}", f"minilm:{path}"], ["sand", "sky"]
    )  # blocks side by side, each unit-norm
    np.testing.assert_allclose(both.norm(dim=1).numpy(), np.sqrt(2.0), atol=1e-6)


def test_a_missing_class_or_a_wrong_file_names_the_file(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("sky: the blue sky\n")
    with pytest.raises(EmbeddingError, match=r"d\.yaml.*\['sand'\]"):
        read_descriptions(path, ["sky", "sand"])
    for text in ("- sky\n- sand\n", "sky: ''\n", "sky: [unclosed\n"):
        path.write_text(text)
        with pytest.raises(EmbeddingError, match=r"d\.yaml"):
            read_descriptions(path, ["sky"])
    with pytest.raises(EmbeddingError, match="nothing.yaml"):
        read_descriptions(tmp_path / "nothing.yaml", ["sky"])


def test_the_shipped_descriptions_cover_the_embedded_benchmark():
    path = resources.files("cagnet") / "assets" / "synthetic_descriptions.yaml"
    texts = read_descriptions(path, SYNTHETIC_CLASSES)
    assert len(set(texts)) == len(SYNTHETIC_CLASSES)
    assert texts[SYNTHETIC_CLASSES.index("green square")].startswith("a green square")
