"""Checkpoints: safe loading, clear errors for bad files, the newest K kept, a good one resumed."""

import random

import numpy as np
import pytest
import torch
from torch import nn

from cagnet.errors import CheckpointError, NonFiniteError
from cagnet.training.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    load_newest_good,
    numbered_checkpoints,
    restore,
    save_checkpoint,
)


def _save(folder, iteration, model, keep=2):
    optimizer = torch.optim.Adam(model.parameters())
    config = {"train": {"iterations": 5, "scales": [0.5, 1.0]}, "name": "x"}
    return save_checkpoint(
        folder / CHECKPOINT_NAME, iteration, model, {"o": optimizer}, config, keep=keep
    )


class WritesAFile:
    """A pickle payload that would create ``path`` when unpickled."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_checkpoint_holds_only_safe_types_and_restores_every_generator(tmp_path):
    model = nn.Linear(3, 2)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    _save(tmp_path, 4, model)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    payload = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)  # no error: safe types
    assert payload["config"]["train"]["scales"] == [0.5, 1.0]
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    assert restore(load_checkpoint(tmp_path / CHECKPOINT_NAME), model, {}) == 4
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_a_pickle_with_a_code_payload_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "created-by-the-payload"
    path = tmp_path / "evil.pt"
    torch.save({"iteration": 1, "model": {}, "extra": WritesAFile(marker)}, path)
    with pytest.raises(CheckpointError, match="refusing to open checkpoint .*evil.pt.*io.open"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_or_truncated_checkpoint_gets_a_clear_error(tmp_path, damage):
    _save(tmp_path, 2, nn.Linear(3, 2))
    path = tmp_path / "checkpoint-2.pt"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a checkpoint")
    with pytest.raises(CheckpointError, match="checkpoint-2.pt cannot be read .truncated or"):
        load_checkpoint(path)


def test_the_newest_k_checkpoints_stay_and_checkpoint_pt_is_the_newest(tmp_path):
    model = nn.Linear(3, 2)
    for iteration in (1, 2, 3):
        _save(tmp_path, iteration, model, keep=2)
    assert [i for i, _ in numbered_checkpoints(tmp_path)] == [3, 2]
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["iteration"] == 3


def test_resume_skips_a_damaged_newest_checkpoint_for_the_previous_good_one(tmp_path):
    model = nn.Linear(3, 2)
    _save(tmp_path, 1, model)
    _save(tmp_path, 2, model)
    newest = tmp_path / "checkpoint-2.pt"
    (tmp_path / CHECKPOINT_NAME).unlink()
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.warns(UserWarning, match="checkpoint-2.pt cannot be read"):
        payload, path = load_newest_good(tmp_path)
    assert (payload["iteration"], path.name) == (1, "checkpoint-1.pt")


def test_non_finite_weights_are_never_saved(tmp_path):
    model = nn.Linear(3, 2)
    _save(tmp_path, 1, model)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="iteration 2 .*weight"):
        _save(tmp_path, 2, model)
    assert [i for i, _ in numbered_checkpoints(tmp_path)] == [1]
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["iteration"] == 1


def test_a_checkpoint_of_the_older_format_still_loads_and_restores(tmp_path):
    # Before the RNG states became tensors, NumPy's and Python's states were saved as tuples.
    model = nn.Linear(3, 2)
    np.random.seed(5), random.seed(6)
    rng = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    expected = (random.random(), np.random.rand())
    payload = {"iteration": 7, "model": model.state_dict(), "optimizers": {}, "rng": rng}
    torch.save({**payload, "scaler": None, "config": {}}, tmp_path / "old.pt")
    assert restore(load_checkpoint(tmp_path / "old.pt"), model, {}) == 7
    assert (random.random(), np.random.rand()) == expected
