import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from helpers import small_overrides

from cagnet.cli import build_parser, main
from cagnet.config_io import parse_overrides

SOURCES = Path(__file__).resolve().parents[1] / "src"


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


def test_eval_of_a_run_folder_alone_reuses_its_config_and_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the data at its default place, data/ under this folder
    values = parse_overrides(o for o in small_overrides(tmp_path, 2) if "dataset.root" not in o)
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(values))
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--quiet"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the saved config's paths do not depend on the folder
    assert main(["eval", str(run), "--set", "eval.num_overlays=2"]) == 0
    assert not (elsewhere / "data").exists()  # it read the run's data, made none anew
    (evaluation,) = run.glob("eval-*")
    metrics = json.loads((evaluation / "metrics.json").read_text())
    trained = json.loads((run / "metrics.json").read_text())
    assert metrics["hiou"] == pytest.approx(trained["hiou"])
    assert metrics["torch_threads"] == torch.get_num_threads()
    # overlays spread over the 4 val images (the 2nd and the 4th), named after their images
    assert sorted(p.name for p in (evaluation / "overlays").iterdir()) == [
        "00001.png",
        "00003.png",
    ]


def test_eval_of_a_config_without_checkpoint_says_what_to_give(tmp_path, capsys):
    assert main(["eval", str(_config_file(tmp_path))]) == 2
    assert "--checkpoint" in capsys.readouterr().err


def test_train_eval_and_demo_describe_themselves():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("train", "eval", "demo"):
        assert len(commands.choices[name].description or "") > 40, name
    checkpoint = next(
        a for a in commands.choices["eval"]._actions if "--checkpoint" in a.option_strings
    )
    assert checkpoint.help


def test_a_comma_list_without_brackets_shows_the_bracket_syntax(tmp_path, capsys):
    args = ["train", str(_config_file(tmp_path)), "--set", "dataset.unseen=car,pedestrian"]
    assert main(args) == 2
    assert "--set 'dataset.unseen=[car, pedestrian]'" in capsys.readouterr().err


def test_a_closed_pipe_ends_the_listing_quietly():
    environment = {**os.environ, "PYTHONPATH": str(SOURCES)}
    command = [sys.executable, "-m", "cagnet.cli", "compare", "--list"]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head`) has gone before anything is written
    try:
        result = subprocess.run(
            command, env=environment, stdout=write_end, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)
    assert b"Traceback" not in result.stderr and b"BrokenPipeError" not in result.stderr
    assert result.returncode == 1
