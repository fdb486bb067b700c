import json

import pytest
import yaml
from helpers import small_overrides

from cagnet.cli import main
from cagnet.config_io import parse_overrides


def _config_file(tmp_path, iterations=2):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(parse_overrides(small_overrides(tmp_path, iterations))))
    return path


def test_train_then_eval_through_the_cli(tmp_path, capsys):
    config = _config_file(tmp_path)
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "hIoU" in out and "run folder" in out
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    assert main(["eval", str(config), "--checkpoint", str(checkpoint)]) == 0
    assert main(["eval", str(config), "--checkpoint", str(checkpoint)]) == 0
    evaluations = sorted((tmp_path / "run").glob("eval-*"))
    assert len(evaluations) == 2  # a second evaluation does not overwrite the first
    metrics = json.loads((evaluations[0] / "metrics.json").read_text())
    trained = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["hiou"] == pytest.approx(trained["hiou"])


def test_bad_config_key_is_a_clear_error(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("train:\n  iteratoins: 3\n")
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert "train.iteratoins" in err and str(config) in err


def test_missing_config_file_is_a_clear_error(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_unseen_class_not_in_the_class_list(tmp_path, capsys):
    overrides = small_overrides(tmp_path, 2) + ["dataset.unseen=[purple hexagon]"]
    args = ["train", str(_config_file(tmp_path))]
    for item in overrides[-1:]:
        args += ["--set", item]
    assert main(args + ["--quiet"]) == 2
    assert "purple hexagon" in capsys.readouterr().err


def test_demo_command_runs_its_packaged_config(tmp_path, capsys):
    args = ["demo", "--quiet", "--run-dir", str(tmp_path / "demo")]
    for item in small_overrides(tmp_path, iterations=2):
        args += ["--set", item]
    assert main(args) == 0
    saved = yaml.safe_load((tmp_path / "demo" / "config.yaml").read_text())
    assert saved["loss"]["content"] == "mmd" and saved["train"]["optimizer"] == "adam"
    assert "unseen mIoU" in capsys.readouterr().out
