"""A failed start leaves no run folder behind (issue 12)."""

import numpy as np
import pytest
import yaml
from helpers import small_overrides, write_folder
from PIL import Image

from cagnet import extras
from cagnet.cli import main
from cagnet.config_io import parse_overrides


def _train(tmp_path, *overrides: str) -> int:
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(parse_overrides(small_overrides(tmp_path, 2))))
    args = ["train", str(config), "--quiet"]
    for item in overrides:
        args += ["--set", item]
    return main(args)


def _runs_left(tmp_path) -> list:
    runs = tmp_path / "runs"
    return sorted(runs.iterdir()) if runs.is_dir() else []


def _folder_data(tmp_path) -> tuple[str, ...]:
    """Overrides for a tiny 3-class folder data set with its own embedding file."""
    root = tmp_path / "folder"
    for split in ("train", "val"):
        write_folder(root, split=split)
    np.save(tmp_path / "embeddings.npy", np.random.default_rng(0).normal(size=(3, 4)))
    return (
        "dataset.kind=folder",
        f"dataset.root={root}",
        "dataset.unseen=[car]",
        f"embeddings.sources=[{tmp_path / 'embeddings.npy'}]",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("dataset.kind=folder", "dataset.root=RUNS/missing"), "missing"),
        (("dataset.unseen=[purple hexagon]",), "purple hexagon"),
        (("embeddings.sources=[glove]",), "cagnet[glove]"),
    ],
    ids=["missing root", "bad unseen name", "missing extra"],
)
def test_bad_input_fails_before_a_run_folder_exists(
    tmp_path, capsys, monkeypatch, overrides, message
):
    monkeypatch.setattr(extras, "_installed", lambda module: False)
    overrides = [o.replace("RUNS", str(tmp_path)) for o in overrides]
    assert _train(tmp_path, *overrides) == 2
    assert message in capsys.readouterr().err
    assert _runs_left(tmp_path) == []


def test_a_bad_label_found_while_training_removes_the_new_folder(tmp_path, capsys):
    args = _folder_data(tmp_path)
    for path in (tmp_path / "folder" / "labels" / "train").glob("*.png"):  # class 7 of 3
        Image.fromarray(np.full((14, 18), 7, np.uint8)).save(path)
    assert _train(tmp_path, *args) == 2
    assert "7" in capsys.readouterr().err
    assert _runs_left(tmp_path) == []


def test_a_good_start_keeps_its_folder(tmp_path):
    assert _train(tmp_path, *_folder_data(tmp_path)) == 0
    assert len(_runs_left(tmp_path)) == 1
