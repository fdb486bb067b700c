"""The paper's schedule option (lr / 10 when the loss stops decreasing) and the cheap switches
DEVIATIONS.md lists."""

import csv
import dataclasses

import pytest
import torch
from helpers import small_overrides, tiny_model

from cagnet.config import LossConfig, TrainConfig, load_config
from cagnet.models.contextual_module import ContextualModule, ContextualModuleConfig
from cagnet.training.loop import train
from cagnet.training.optim import build_optimizers
from cagnet.training.plateau import Plateau
from cagnet.training.schedule import FINETUNING, TRAINING, phase
from cagnet.training.steps import Replicas, training_step


def _plateau(**changes):
    config = dataclasses.replace(
        TrainConfig(lr_schedule="plateau", plateau_window=2, plateau_patience=1), **changes
    )
    return Plateau.from_config(config)


def test_the_rate_is_divided_by_10_only_when_the_loss_stops_falling():
    plateau = _plateau()
    for loss in (4.0, 4.0, 3.0, 3.0, 2.0, 2.0):  # windows 4, 3, 2: falling
        plateau.observe({"loss_cls": loss, "lr": 1.0})
    plateau.observe({"ft_loss_cls": 9.0})  # finetuning rows do not count
    assert plateau.scale == 1.0
    for loss in (2.0, 2.1):  # window mean 2.05: no fall
        plateau.observe({"loss_cls": loss})
    assert plateau.scale == pytest.approx(0.1)
    copy = _plateau()
    copy.load_state_dict(plateau.state_dict())
    for tracker in (plateau, copy):
        for loss in (2.0, 2.1, 2.0):
            tracker.observe({"loss_cls": loss})
    assert copy.state_dict() == plateau.state_dict() and copy.scale == pytest.approx(0.01)
    assert Plateau.from_config(TrainConfig()) is None  # poly by default


def _rates(run_dir):
    with (run_dir / "losses.csv").open() as stream:
        return [float(r["lr"]) for r in csv.DictReader(stream)]


def test_the_loop_follows_the_plateau_schedule_and_resumes_it(tmp_path):
    # Training at iterations 0, 1, 2, 4; a one-iteration window that never falls by 99 %.
    overrides = small_overrides(tmp_path, iterations=6) + [
        "train.lr_schedule=plateau",
        "train.plateau_window=1",
        "train.plateau_patience=1",
        "train.plateau_threshold=0.99",
    ]
    config = load_config(None, overrides)
    straight = train(config, run_dir=tmp_path / "a", progress=False, evaluate_at_end=False)
    rates = _rates(straight.run_dir)
    expected = [2.5e-4 * 0.1**k for k in (0, 0, 1, 2, 2, 3)]
    assert rates == pytest.approx(expected, rel=1e-9)
    stopped = train(config, run_dir=tmp_path / "b", progress=False, stop_after=3)
    resumed = train(config, resume=stopped.run_dir, progress=False, evaluate_at_end=False)
    assert _rates(resumed.run_dir) == pytest.approx(expected, rel=1e-9)


def test_adam_betas_are_a_switch():
    optimizers = build_optimizers(tiny_model(), TrainConfig(adam_betas=(0.9, 0.99)))
    assert optimizers.heads.param_groups[0]["betas"] == (0.9, 0.99)
    assert optimizers.generator.param_groups[0]["betas"] == (0.9, 0.99)


def test_the_alternation_may_start_with_finetuning_instead_of_ending_with_it():
    config = TrainConfig(iterations=7, pretrain_iterations=2, alternate_every=2)
    ends = [phase(i, config) for i in range(7)]
    starts = [phase(i, dataclasses.replace(config, end_with_finetuning=False)) for i in range(7)]
    t, f = TRAINING, FINETUNING
    assert ends == [t, t, f, t, t, f, f]
    assert starts == [t, t, f, f, t, t, f]


def test_the_logvar_clamp_can_be_switched_off():
    torch.manual_seed(0)
    features = torch.randn(1, 4, 5, 5) * 100
    clamped = ContextualModule(4, ContextualModuleConfig())
    free = ContextualModule(4, ContextualModuleConfig(logvar_clamp=0.0))
    free.load_state_dict(clamped.state_dict())
    clamped.eval(), free.eval()
    assert clamped(features).logvar.abs().max() <= 10.0
    assert free(features).logvar.abs().max() > 10.0


def _backbone_gradient(detach_target: bool) -> float:
    model = tiny_model()
    replicas = Replicas(model, model.encoder, model.generator, model.heads)
    optimizers = build_optimizers(model, TrainConfig())
    torch.manual_seed(1)
    images, labels = torch.randn(2, 3, 16, 16), torch.randint(0, 3, (2, 16, 16))
    config = LossConfig(
        classification_weight=0.0,
        generated_classification_weight=0.0,
        adversarial_weight=0.0,
        kl_weight=0.0,
        detach_reconstruction_target=detach_target,
    )
    captured = {}
    optimizers.segmentation.register_step_pre_hook(
        lambda *_: captured.update(
            grad=sum(
                float(p.grad.abs().sum())
                for p in model.encoder.backbone.parameters()
                if p.grad is not None
            )
        )
    )
    training_step(replicas, optimizers, images, labels, config, detach_generator_input=True)
    return captured["grad"]


def test_the_reconstruction_target_is_detached_unless_switched():
    assert _backbone_gradient(detach_target=True) == 0.0
    assert _backbone_gradient(detach_target=False) > 0.0
