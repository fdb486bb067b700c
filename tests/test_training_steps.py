import dataclasses

import numpy as np
import pytest
import torch
from helpers import small_overrides, tiny_model

from cagnet import build, losses
from cagnet.build import build_data, prepare_dataset
from cagnet.config import Config, LossConfig, TrainConfig, load_config
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import UnseenLabelError
from cagnet.guards import check_training_labels
from cagnet.methods import get_method
from cagnet.training.label_maps import sample_generation_labels
from cagnet.training.loop import train
from cagnet.training.optim import build_optimizers
from cagnet.training.schedule import FINETUNING, TRAINING, parse_ratio, phase
from cagnet.training.steps import Precision, Replicas, finetuning_step, training_step

SEEN, UNSEEN = (0, 1, 2), (3, 4)


def _setup(**train):
    model = tiny_model()
    replicas = Replicas(model, model.encoder, model.generator, model.heads)
    return model, replicas, build_optimizers(model, TrainConfig(**train))


def _batch():
    torch.manual_seed(1)
    images = torch.randn(2, 3, 16, 16)
    labels = torch.randint(0, 5, (2, 16, 16))
    split = ZeroShotSplit(tuple("abcde"), UNSEEN)
    return images, split.training_labels(labels)


def test_training_labels_hide_every_unseen_pixel():
    split = ZeroShotSplit(tuple("abcde"), UNSEEN)
    labels = torch.tensor([[0, 3, 4, 255, 2]])
    assert split.training_labels(labels).tolist() == [[0, 255, 255, 255, 2]]


def test_the_label_guard_refuses_unseen_classes_and_passes_hidden_ones():
    torch.manual_seed(1)
    raw = torch.randint(0, 5, (2, 16, 16))  # not hidden: classes 3 and 4 are unseen
    split = ZeroShotSplit(tuple("abcde"), UNSEEN)
    with pytest.raises(UnseenLabelError, match=r"unseen class 3 \(d\), 4 \(e\) reached"):
        check_training_labels(raw, split.unseen, split.class_names)
    check_training_labels(split.training_labels(raw), split.unseen, split.class_names)


def test_no_unseen_label_reaches_a_training_loss(tmp_path, monkeypatch):
    """The raw training labels of the embedded benchmark hold unseen classes: the reader hides
    them, and were it not to, the loop's guard stops the run before any loss sees them."""
    overrides = small_overrides(tmp_path, iterations=2)
    targets = []
    original = losses.classification_loss

    def recording(logits, labels):
        targets.append(labels.clone())
        return original(logits, labels)

    monkeypatch.setattr(losses, "classification_loss", recording)
    config = load_config(None, overrides + ["train.pretrain_iterations=2"])  # training steps only
    train(config, run_dir=tmp_path / "hidden", progress=False, evaluate_at_end=False)
    data = build_data(prepare_dataset(config, progress=False))
    unseen = torch.tensor(data.split.unseen)
    assert targets and not any(torch.isin(t, unseen).any() for t in targets)
    raw = [data.train.reader.load_label(i) for i in range(len(data.train))]
    assert np.isin(np.concatenate([r.ravel() for r in raw]), data.split.unseen).any()

    monkeypatch.setattr(build, "hide_unseen", lambda reader, split: reader)
    targets.clear()
    with pytest.raises(UnseenLabelError, match="reached a training loss"):
        train(config, run_dir=tmp_path / "leaked", progress=False, evaluate_at_end=False)
    assert targets == []


def test_finetuning_step_leaves_backbone_and_cm_unchanged():
    model, replicas, optimizers = _setup(lr=0.1)
    # Run E and CM with gradients enabled, so that they hold gradients a stray step would apply.
    images, _ = _batch()
    encoded = model.encoder(images)
    (encoded.features.square().mean() + encoded.context.mu.square().mean()).backward()
    encoder_parameters = list(model.encoder.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder_parameters)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    heads_before = [p.clone() for p in model.heads.parameters()]
    generator_before = [p.clone() for p in model.generator.parameters()]
    finetuning_step(replicas, optimizers, 64, SEEN, UNSEEN, (1.0, 1.0), LossConfig())
    after = model.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    optimizers.segmentation.step()  # the control: E's optimiser would have moved them
    assert not all(torch.equal(before[k], after[k]) for k in before)
    assert any(
        not torch.equal(a, b) for a, b in zip(heads_before, model.heads.parameters(), strict=True)
    )
    assert any(
        not torch.equal(a, b)
        for a, b in zip(generator_before, model.generator.parameters(), strict=True)
    )


def test_training_step_updates_every_part():
    model, replicas, optimizers = _setup(lr=0.1)
    parts = [model.encoder.backbone, model.encoder.contextual_module, model.generator, model.heads]
    before = [[p.clone() for p in part.parameters()] for part in parts]
    images, labels = _batch()
    training_step(replicas, optimizers, images, labels, LossConfig())
    for old, part in zip(before, parts, strict=True):
        assert any(not torch.equal(a, b) for a, b in zip(old, part.parameters(), strict=True))


def _rec_gradient_on_cm(detach: bool) -> float:
    model, replicas, optimizers = _setup()
    images, labels = _batch()
    config = LossConfig(
        classification_weight=0.0,
        generated_classification_weight=0.0,
        adversarial_weight=0.0,
        kl_weight=0.0,
        reconstruction_weight=1.0,
    )
    captured = {}

    def capture(_optimizer):
        captured["grad"] = sum(
            p.grad.abs().sum().item()
            for p in model.encoder.contextual_module.parameters()
            if p.grad is not None
        )

    optimizers.segmentation.register_step_pre_hook(lambda opt, args, kwargs: capture(opt))
    training_step(replicas, optimizers, images, labels, config, detach_generator_input=detach)
    return captured["grad"]


def test_reconstruction_gradient_reaches_the_contextual_module_by_default():
    assert _rec_gradient_on_cm(detach=False) > 0


def test_official_detached_generator_input_cuts_that_gradient():
    assert _rec_gradient_on_cm(detach=True) == 0


def test_generated_ratio_follows_r():
    torch.manual_seed(0)
    labels = sample_generation_labels(20000, SEEN, UNSEEN, (1.0, 1.0))
    unseen_fraction = torch.isin(labels, torch.tensor(UNSEEN)).float().mean().item()
    assert unseen_fraction == pytest.approx(0.5, abs=0.02)
    labels = sample_generation_labels(20000, SEEN, UNSEEN, (1.0, 10.0))
    assert torch.isin(labels, torch.tensor(UNSEEN)).float().mean().item() == pytest.approx(
        10 / 11, abs=0.02
    )
    only_unseen = sample_generation_labels(1000, SEEN, UNSEEN, (0.0, 1.0))
    assert torch.isin(only_unseen, torch.tensor(UNSEEN)).all()
    assert set(labels.unique().tolist()) == set(SEEN + UNSEEN)
    assert parse_ratio("classes", 15, 5) == (15.0, 5.0)
    with pytest.raises(ValueError, match="unseen_ratio"):
        parse_ratio("1-1", 1, 1)


def test_schedule_alternates_every_block_and_ends_with_finetuning():
    config = TrainConfig(iterations=50, pretrain_iterations=10, alternate_every=10)
    phases = [phase(i, config) for i in range(50)]
    assert phases[:10] == [TRAINING] * 10
    assert phases[10:20] == [TRAINING] * 10
    assert phases[20:30] == [FINETUNING] * 10
    assert phases[30:40] == [TRAINING] * 10
    assert phases[40:50] == [FINETUNING] * 10
    uneven = TrainConfig(iterations=45, pretrain_iterations=10, alternate_every=10)
    uneven_phases = [phase(i, uneven) for i in range(45)]
    assert uneven_phases[10:15] == [TRAINING] * 5  # a partial block, counted from the end
    assert uneven_phases[15:25] == [FINETUNING] * 10
    assert uneven_phases[-1] == FINETUNING
    assert all(phase(i, config, has_generator=False) == TRAINING for i in range(50))


def test_alternation_factors_scale_the_rates_once_the_phases_alternate():
    config = Config(
        train=TrainConfig(
            iterations=20,
            pretrain_iterations=10,
            lr=0.1,
            lr_generator=0.02,
            lr_heads=0.04,
            poly_power=0.0,  # no decay: the factors alone move the rates
            alternation_lr_factor=0.25,
            alternation_backbone_lr_factor=0.0,
        )
    )
    _, _, optimizers = _setup(**dataclasses.asdict(config.train))
    method = get_method("cagnet")
    assert method.set_learning_rates(optimizers, config, 9) == pytest.approx(0.1)
    assert optimizers.generator.param_groups[0]["lr"] == pytest.approx(0.02)
    assert optimizers.heads.param_groups[0]["lr"] == pytest.approx(0.04)
    assert method.set_learning_rates(optimizers, config, 10) == 0.0
    assert [g["lr"] for g in optimizers.segmentation.param_groups] == [0.0, 0.0]
    assert optimizers.generator.param_groups[0]["lr"] == pytest.approx(0.005)
    assert optimizers.heads.param_groups[0]["lr"] == pytest.approx(0.01)


def test_a_zero_backbone_factor_freezes_backbone_and_cm_in_alternating_training_steps():
    config = Config(
        train=TrainConfig(
            iterations=20, pretrain_iterations=10, lr=0.1, alternation_backbone_lr_factor=0.0
        )
    )
    model, replicas, optimizers = _setup(**dataclasses.asdict(config.train))
    get_method("cagnet").set_learning_rates(optimizers, config, 12)
    frozen = [model.encoder.backbone, model.encoder.contextual_module]
    before = [[p.clone() for p in part.parameters()] for part in frozen]
    heads_before = [p.clone() for p in model.heads.parameters()]
    images, labels = _batch()
    training_step(replicas, optimizers, images, labels, LossConfig())
    for old, part in zip(before, frozen, strict=True):
        assert all(torch.equal(a, b) for a, b in zip(old, part.parameters(), strict=True))
    heads_after = list(model.heads.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(heads_before, heads_after, strict=True))


def test_training_step_logs_the_gradient_norms_it_applied():
    model, replicas, optimizers = _setup(lr=0.1)
    images, labels = _batch()
    log = training_step(replicas, optimizers, images, labels, LossConfig())

    def norm(optimizer):  # the step leaves E's, CM's and G's gradients in place
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        return float(torch.sqrt(sum(g.pow(2).sum() for g in grads)))

    assert log["grad_norm_segmentation"] == pytest.approx(norm(optimizers.segmentation), rel=1e-5)
    assert log["grad_norm_generator"] == pytest.approx(norm(optimizers.generator), rel=1e-5)
    assert log["grad_norm_segmentation"] > 0.0
    assert {"logvar_mean", "logvar_max", "feature_norm"} <= set(log)


def test_grad_clip_bounds_the_update_of_backbone_and_cm():
    def change(grad_clip):
        model, replicas, optimizers = _setup(lr=0.1, weight_decay=0.0)
        parts = [
            *model.encoder.backbone.parameters(),
            *model.encoder.contextual_module.parameters(),
        ]
        before = [p.detach().clone() for p in parts]
        images, labels = _batch()
        precision = Precision(None, None, grad_clip)  # train.grad_clip reaches the steps here
        log = training_step(replicas, optimizers, images, labels, LossConfig(), precision=precision)
        moved = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(parts, before, strict=True)))
        return float(moved), log["grad_norm_segmentation"]

    free, norm = change(0.0)
    clipped, norm_clipped = change(1e-3)
    assert norm == pytest.approx(norm_clipped)  # the log shows the norm before clipping
    assert norm > 1e-2
    assert free > 10 * clipped
    # SGD's first step moves by lr * gradient: the clipped gradient has norm 1e-3.
    assert clipped == pytest.approx(0.1 * 1e-3, rel=0.05)
