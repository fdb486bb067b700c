import pytest

from cagnet.config import Config, load_config
from cagnet.config_io import from_dict, parse_overrides, to_dict
from cagnet.errors import ConfigError


def test_defaults_and_overrides():
    config = load_config(
        None, ["train.iterations=7", "model.generator_hidden=[8, 4]", "train.lr=1e-3"]
    )
    assert config.train.iterations == 7
    assert config.model.generator_hidden == (8, 4)
    assert config.train.lr == pytest.approx(1e-3)
    assert config.loss.reconstruction_weight == 10.0 and config.loss.kl_weight == 100.0


def test_yaml_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  iterations: 5\n  batch_size: 3\nname: x\n")
    config = load_config(path, ["train.iterations=9"])
    assert (config.train.iterations, config.train.batch_size, config.name) == (9, 3, "x")


def test_unknown_key_names_the_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  iteratons: 5\n")
    with pytest.raises(ConfigError, match="train.iteratons") as error:
        load_config(path)
    assert str(path) in str(error.value)
    with pytest.raises(ConfigError, match="model.backbone.nam"):
        load_config(None, ["model.backbone.nam=x"])


def test_wrong_types_are_rejected():
    with pytest.raises(ConfigError, match="train.iterations"):
        load_config(None, ["train.iterations=many"])
    with pytest.raises(ConfigError, match="augment.flip"):
        load_config(None, ["augment.flip=3"])
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["train.iterations"])


def test_round_trip_through_dict():
    config = load_config(None, ["model.contextual.dilations=[1, 3]"])
    assert from_dict(Config, to_dict(config), "test") == config


def test_ratios_survive_overrides_and_unquoted_yaml_ratios_are_explained(tmp_path):
    assert load_config(None, ["train.unseen_ratio=1:10"]).train.unseen_ratio == "1:10"
    path = tmp_path / "r.yaml"
    path.write_text("train:\n  unseen_ratio: 1:1\n")
    with pytest.raises(ConfigError, match="quote"):
        load_config(path)
