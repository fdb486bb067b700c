"""The run-time guards: a diverging run stops with a clear message and keeps its good state;
gradients are clipped in one place; evaluation refuses NaN scores."""

import pytest
import torch
import yaml
from helpers import small_overrides, write_folder

from cagnet import guards, losses
from cagnet.cli import main
from cagnet.config import load_config
from cagnet.config_io import parse_overrides
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import NonFiniteError
from cagnet.evaluation.evaluator import evaluate
from cagnet.training.checkpoint import CHECKPOINT_NAME, load_checkpoint, numbered_checkpoints
from cagnet.training.loop import train
from cagnet.training.steps import Precision


def test_a_nan_loss_term_stops_the_run_naming_term_iteration_and_folder(
    tmp_path, monkeypatch, capsys
):
    # 6 iterations: training at 0, 1, 2 and 4, finetuning at 3 and 5; saves after 2 and 4.
    calls = []
    original = losses.reconstruction_loss

    def nan_at_the_fourth_call(real, fake):
        calls.append(1)
        value = original(real, fake)
        return value * float("nan") if len(calls) == 4 else value

    monkeypatch.setattr(losses, "reconstruction_loss", nan_at_the_fourth_call)
    config_path = tmp_path / "run.yaml"
    overrides = small_overrides(tmp_path, iterations=6) + ["train.checkpoint_every=2"]
    config_path.write_text(yaml.safe_dump(parse_overrides(overrides)))
    run = tmp_path / "run"
    assert main(["train", str(config_path), "--run-dir", str(run), "--quiet"]) == 2
    message = capsys.readouterr().err
    assert "loss term rec" in message and "iteration 4 " in message and str(run) in message
    assert "Traceback" not in message
    assert [i for i, _ in numbered_checkpoints(run)] == [4, 2]
    payload = load_checkpoint(run / CHECKPOINT_NAME)
    assert payload["iteration"] == 4
    assert all(torch.isfinite(v).all() for v in payload["model"].values() if v.is_floating_point())


def _one_step(grad, grad_clip):
    parameter = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    parameter.grad = torch.tensor(grad)
    Precision(None, None, grad_clip).step(optimizer)
    return parameter.detach()


def test_grad_clip_bounds_the_step_and_zero_leaves_it_alone():
    assert torch.allclose(_one_step([3.0, 4.0], 0.0), torch.tensor([-3.0, -4.0]))
    assert torch.allclose(_one_step([3.0, 4.0], 1.0), torch.tensor([-0.6, -0.8]))
    assert torch.allclose(_one_step([0.3, 0.4], 1.0), torch.tensor([-0.3, -0.4]))


def test_an_infinite_gradient_is_refused_before_the_step():
    with pytest.raises(NonFiniteError, match="gradient norm is inf"):
        _one_step([float("inf"), 1.0], 0.0)


def test_the_loop_clips_with_train_grad_clip(tmp_path, monkeypatch):
    norms = []
    original = guards.clip_gradients

    def recording(optimizer, max_norm=0.0, scaler=None):
        norms.append(max_norm)
        return original(optimizer, max_norm, scaler)

    monkeypatch.setattr(guards, "clip_gradients", recording)
    overrides = small_overrides(tmp_path, iterations=2) + ["train.grad_clip=0.25"]
    train(
        load_config(None, overrides), run_dir=tmp_path / "r", progress=False, evaluate_at_end=False
    )
    assert norms and set(norms) == {0.25}


def test_evaluation_refuses_nan_scores_naming_the_image(tmp_path):
    reader = write_folder(tmp_path / "data", split="val")
    split = ZeroShotSplit(("sky", "road", "car"), (2,))

    seen_images = []

    def segment(images):  # NaN in the scores of the split's third image only
        scores = torch.zeros(images.shape[0], 3, 4, 4)
        for row in range(images.shape[0]):
            seen_images.append(row)
            if len(seen_images) == 3:
                scores[row, 0, 0, 0] = float("nan")
        return scores

    with pytest.raises(NonFiniteError, match=r"image\(s\) \[2\]"):
        evaluate(segment, reader, split, torch.device("cpu"), batch_size=3, progress=False)
    finite = evaluate(
        lambda x: torch.zeros(x.shape[0], 3, 4, 4),
        reader,
        split,
        torch.device("cpu"),
        batch_size=1,
        progress=False,
    )
    assert finite[1].sum() > 0
