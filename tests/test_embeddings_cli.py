"""The `cagnet embed` sub-command handler."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from cagnet.embeddings.cli import add_embed_parser, read_class_names


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cagnet")
    add_embed_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    classes = tmp_path / "classes.txt"
    classes.write_text("0\tsky\n1\tred circle\n\n")
    vectors = tmp_path / "tiny.vec"
    vectors.write_text("sky 3 4\nred 1 0\ncircle 0 2\n")
    return classes, vectors


def test_embed_writes_matrix_and_refuses_overwrite(tmp_path: Path, inputs, capsys) -> None:
    classes, vectors = inputs
    output = tmp_path / "out.npy"
    argv = ["embed", "--classes", str(classes), "--source", f"vectors:{vectors}"]
    args = _parse(argv + ["--source", f"vectors:{vectors}", "--output", str(output)])
    assert args.func(args) == 0
    matrix = np.load(output)
    assert matrix.shape == (2, 4) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[0], [0.6, 0.8, 0.6, 0.8], atol=1e-6)
    np.testing.assert_allclose(matrix[1, :2], [5**-0.5, 2 * 5**-0.5], atol=1e-6)  # mean (0.5, 1)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    before = output.read_bytes()
    args = _parse(argv + ["--output", str(output)])
    assert args.func(args) == 1
    assert "--force" in capsys.readouterr().err
    assert output.read_bytes() == before

    args = _parse(argv + ["--output", str(output), "--force"])
    assert args.func(args) == 0
    assert np.load(output).shape == (2, 2)


def test_embed_reports_errors_without_writing(tmp_path: Path, inputs, capsys) -> None:
    classes, _ = inputs
    output = tmp_path / "out.npy"
    args = _parse(
        ["embed", "--classes", str(classes), "--source", "nonsense", "--output", str(output)]
    )
    assert args.func(args) == 1
    assert "unknown embedding source" in capsys.readouterr().err
    assert not output.exists()
    args = _parse(["embed", "--classes", str(classes), "--source", "glove", "--output", "x.txt"])
    assert args.func(args) == 1


def test_read_class_names(tmp_path: Path) -> None:
    path = tmp_path / "labels.txt"
    path.write_text("background\n1\tpotted_plant\n\n  tv  \n")
    assert read_class_names(path) == ["background", "potted_plant", "tv"]
