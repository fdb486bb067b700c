"""The one atomic-write helper: all or nothing, never a half-written file."""

import numpy as np
import pytest
import torch
from PIL import Image

from cagnet.atomic import (
    atomic_save_image,
    atomic_save_npy,
    atomic_torch_save,
    atomic_write,
    atomic_write_text,
)


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")

    def half_then_fail(stream):
        stream.write(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_every_format_round_trips_and_creates_the_folder(tmp_path):
    array = np.arange(6, dtype=np.float16).reshape(2, 3)
    atomic_save_npy(tmp_path / "a" / "x.npy", array)
    assert np.array_equal(np.load(tmp_path / "a" / "x.npy"), array)
    atomic_torch_save({"w": torch.ones(2)}, tmp_path / "b" / "c.pt")
    assert torch.equal(torch.load(tmp_path / "b" / "c.pt", weights_only=True)["w"], torch.ones(2))
    image = Image.fromarray(np.full((3, 4), 7, dtype=np.uint8))
    atomic_save_image(tmp_path / "i.png", image)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "i.png")), np.asarray(image))
    atomic_write_text(tmp_path / "t.txt", "é\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "é\n"
