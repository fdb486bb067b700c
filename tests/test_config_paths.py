"""Relative paths in a config file resolve against the file's folder; --set against the
current folder (issue 12)."""

import os
from pathlib import Path

import yaml

from cagnet.config import load_config

REPO = Path(__file__).resolve().parents[1]


def test_paths_in_a_file_are_relative_to_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "project" / "configs"
    folder.mkdir(parents=True)
    (folder / "run.yaml").write_text(
        yaml.safe_dump(
            {
                "dataset": {"kind": "folder", "root": "../data/set"},
                "embeddings": {
                    "sources": [
                        "glove",
                        "vectors:vec/w.txt",
                        "minilm:d.yaml",
                        "rows.npy",
                        "/abs/x.npy",
                    ]
                },
                "model": {"backbone": {"pretrained": "../weights/e.pth"}},
                "output_dir": "runs",
            }
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("../project/configs/run.yaml"))
    assert config.dataset.root == str(tmp_path / "project" / "data" / "set")
    assert config.embeddings.sources == (
        "glove",
        f"vectors:{folder / 'vec' / 'w.txt'}",
        f"minilm:{folder / 'd.yaml'}",
        str(folder / "rows.npy"),
        "/abs/x.npy",
    )
    assert config.model.backbone.pretrained == str(tmp_path / "project" / "weights" / "e.pth")
    assert config.output_dir == "runs"  # where runs are written: the current folder
    overridden = load_config(
        Path("../project/configs/run.yaml"),
        ["dataset.root=mine", "embeddings.sources=[minilm:d.yaml,glove]"],
    )
    # Typed in a shell: the current folder's, made absolute so that a run's saved config
    # (read again from the run's folder) names the same files.
    assert overridden.dataset.root == str(elsewhere / "mine")
    assert overridden.embeddings.sources == (f"minilm:{elsewhere / 'd.yaml'}", "glove")


def test_the_shipped_configs_point_where_they_did(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the answer must not depend on the current folder
    camvid = load_config(REPO / "configs" / "camvid.yaml")
    assert camvid.dataset.root == os.path.normpath(REPO / ".." / "shared" / "datasets" / "camvid")
    issue4 = load_config(REPO / "configs" / "camvid_issue4.yaml")  # base: camvid.yaml
    assert issue4.dataset.root == camvid.dataset.root
    for path in sorted((REPO / "configs").glob("*.yaml")):
        config = load_config(path)
        files = [config.dataset.root, config.model.backbone.pretrained]
        files += [s for s in config.embeddings.sources if s not in ("glove", "minilm")]
        for file in files:
            if file and file != "imagenet" and not path.name.startswith("camvid"):
                assert file.startswith(str(REPO / "data") + os.sep), (path.name, file)
