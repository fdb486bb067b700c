"""ZS3Net: stages by iteration, frozen E, the GMMN's MMD, C's seen + generated unseen pixels."""

import csv
import dataclasses
import json

import pytest
import torch
from helpers import assert_scores_follow_from_class_iou, small_overrides
from torch import nn

from cagnet.config import Config, load_config
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import ConfigError
from cagnet.methods import get_method
from cagnet.methods.base import StepInputs
from cagnet.methods.zs3net import (
    CLASSIFIER,
    GENERATOR,
    SEGMENTATION,
    ZS3NetReplicas,
    build_zs3net,
    classifier_step,
    generator_step,
)
from cagnet.models.backbones.base import Backbone
from cagnet.models.cagnet import ContextEncoder
from cagnet.models.generator import Generator
from cagnet.models.zs3net import ZS3Net
from cagnet.training.loop import train
from cagnet.training.steps import FLOAT32

SPLIT = ZeroShotSplit(tuple("abcde"), (2, 4))  # seen 0, 1, 3
STAGES = ["train.pretrain_iterations=3", "zs3net.generator_iterations=2"]


def _config(*overrides: str) -> Config:
    base = ["model.backbone.out_channels=8", "zs3net.noise_dim=4", "zs3net.generator_hidden=[16]"]
    return load_config(None, [*base, *overrides])


def _setup(config: Config):
    torch.manual_seed(0)
    model = build_zs3net(config, nn.functional.normalize(torch.randn(5, 6), dim=1))
    replicas = ZS3NetReplicas(model, model.encoder, model.classifier, model.generator)
    return model, replicas, get_method("zs3net").build_optimizers(model, config)


def _batch(seed: int = 1):
    torch.manual_seed(seed)
    images = torch.randn(2, 3, 16, 16)
    return images, torch.tensor(SPLIT.seen)[torch.randint(0, 3, (2, 16, 16))]


def test_stages_are_a_function_of_the_iteration():
    config = _config("train.iterations=9", *STAGES, "zs3net.classifier_iterations=4")
    method = get_method("zs3net")
    phases = [method.phase(i, config, None) for i in range(9)]
    assert phases == [SEGMENTATION] * 3 + [GENERATOR] * 2 + [CLASSIFIER] * 4
    assert all(method.reads_images(p, config) for p in phases)
    _, _, optimizers = _setup(config)
    rates = [method.set_learning_rates(optimizers, config, i) for i in range(9)]
    assert rates[0] == config.train.lr and rates[1] > rates[2] > 0.0 == rates[3] == rates[8]
    method.set_learning_rates(optimizers, config, 2)
    assert optimizers.heads.param_groups[0]["lr"] == config.train.lr_heads
    method.set_learning_rates(optimizers, config, 5)
    assert optimizers.heads.param_groups[0]["lr"] == config.zs3net.lr_classifier


def test_iterations_must_be_the_sum_of_the_stages():
    config = _config("train.iterations=10", *STAGES, "zs3net.classifier_iterations=4")
    with pytest.raises(ConfigError, match="train.iterations=10"):
        get_method("zs3net").build_model(config, torch.randn(5, 6))
    config = _config("train.iterations=9", *STAGES, "zs3net.classifier_iterations=4")
    with pytest.raises(ConfigError, match="no real seen pixels"):
        get_method("zs3net").build_model(
            dataclasses.replace(
                config, zs3net=dataclasses.replace(config.zs3net, unseen_ratio="0:1")
            ),
            torch.randn(5, 6),
        )


def test_encoder_stays_frozen_while_generator_then_classifier_train():
    config = _config()
    model, replicas, optimizers = _setup(config)
    model.train()
    encoder = {k: v.clone() for k, v in model.encoder.state_dict().items()}  # BN stats too
    generator = [p.clone() for p in model.generator.parameters()]
    classifier = [p.clone() for p in model.classifier.parameters()]

    images, labels = _batch()
    generator_step(replicas, optimizers, images, labels, config, FLOAT32)
    assert any(
        not torch.equal(a, b) for a, b in zip(model.generator.parameters(), generator, strict=True)
    )
    assert all(
        torch.equal(a, b) for a, b in zip(model.classifier.parameters(), classifier, strict=True)
    )

    generator = [p.clone() for p in model.generator.parameters()]
    model.train()
    classifier_step(replicas, optimizers, images, labels, SPLIT, config, FLOAT32)
    assert any(
        not torch.equal(a, b)
        for a, b in zip(model.classifier.parameters(), classifier, strict=True)
    )
    assert all(
        torch.equal(a, b) for a, b in zip(model.generator.parameters(), generator, strict=True)
    )
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(value, encoder[key]), key


class ColourFeatures(Backbone):
    """A fixed E: F = 4 x (the first 3 image channels), no parameters."""

    out_channels, output_stride = 3, 1

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return 4.0 * images


def test_generator_mmd_decreases_on_a_fixed_toy_distribution():
    torch.manual_seed(0)
    config = _config("zs3net.lr_generator=0.01")
    generator = Generator(4, 6, 3, hidden=(32,), dropout=0.0)
    model = ZS3Net(
        ContextEncoder(ColourFeatures(), None), nn.Linear(3, 5), generator, torch.eye(5, 6)
    )
    replicas = ZS3NetReplicas(model, model.encoder, model.classifier, model.generator)
    optimizers = get_method("zs3net").build_optimizers(model, config)
    labels = torch.tensor([0, 1, 3]).repeat_interleave(8)[None].expand(2, 24)[:, :, None]
    labels = labels.expand(2, 24, 4).contiguous()  # (2, 24, 4): 3 classes in bands
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.5, 1.0]])
    images = colours[labels].permute(0, 3, 1, 2) + 0.1 * torch.randn(2, 3, 24, 4)
    losses = [
        generator_step(replicas, optimizers, images, labels, config, FLOAT32)["loss_mmd"]
        for _ in range(60)
    ]
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10, losses


def test_classifier_learns_from_real_seen_and_generated_unseen_pixels(monkeypatch):
    config = _config("zs3net.unseen_ratio='1:3'")  # quoted: YAML reads 1:3 as 63
    model, replicas, optimizers = _setup(config)
    targets = []
    original = nn.functional.cross_entropy

    def recording(logits, labels, **kwargs):
        targets.append(labels.clone())
        return original(logits, labels, **kwargs)

    monkeypatch.setattr(nn.functional, "cross_entropy", recording)
    images, labels = _batch()
    log = classifier_step(replicas, optimizers, images, labels, SPLIT, config, FLOAT32)
    seen_pixels = 2 * 4 * 4  # every pixel of the 4x4 feature maps is labelled and seen
    assert log["classifier_unseen_fraction"] == pytest.approx(0.75)
    (recorded,) = targets
    assert recorded.numel() == 4 * seen_pixels
    assert torch.isin(recorded[:seen_pixels], torch.tensor(SPLIT.seen)).all()
    assert torch.isin(recorded[seen_pixels:], torch.tensor(SPLIT.unseen)).all()
    assert set(recorded[seen_pixels:].tolist()) == set(SPLIT.unseen)


def test_the_classifier_restarts_from_a_fresh_init_when_stage_c_begins():
    # lr 0: the weights after the step are the fresh init itself
    config = _config(
        "train.iterations=6", *STAGES, "zs3net.classifier_iterations=1", "train.lr_heads=0"
    )
    method = get_method("zs3net")
    inits = []
    for rank in range(2):
        model, replicas, optimizers = _setup(config)
        with torch.no_grad():
            model.classifier.weight.fill_(7.0)
        images, labels = _batch()
        torch.manual_seed(100 + rank)  # each DDP rank's global RNG differs
        inputs = StepInputs(
            replicas, optimizers, images, labels, SPLIT, config, FLOAT32, 0, (1.0, 1.0), 5
        )
        method.step(CLASSIFIER, inputs)
        inits.append(model.classifier.weight.detach().clone())
    assert (inits[0].abs() < 1.0).all()  # re-initialised (|w| <= 1/sqrt(8))
    assert torch.equal(inits[0], inits[1])  # the same draw every time (DDP ranks, resume)


def test_zs3net_trains_through_its_stages_and_resumes_identically(tmp_path):
    overrides = small_overrides(tmp_path, iterations=6) + [
        "model.method=zs3net",
        "train.pretrain_iterations=2",
        "zs3net.generator_iterations=2",
        "zs3net.classifier_iterations=2",
        "zs3net.noise_dim=8",
        "zs3net.generator_hidden=[16]",
    ]
    config = load_config(None, overrides)
    straight = train(config, run_dir=tmp_path / "straight", progress=False)
    assert_scores_follow_from_class_iou(json.loads((straight.run_dir / "metrics.json").read_text()))
    interrupted = train(config, run_dir=tmp_path / "resumed", progress=False, stop_after=3)
    resumed = train(config, resume=interrupted.run_dir, progress=False)

    def rows(run):
        with (run.run_dir / "losses.csv").open() as stream:
            return list(csv.DictReader(stream))

    first, second = rows(straight), rows(resumed)
    assert [r["phase"] for r in first] == ["segmentation"] * 2 + ["generator"] * 2 + [
        "classifier"
    ] * 2
    for a, b in zip(first, second, strict=True):
        for key in ("loss_cls", "loss_mmd", "classifier_loss"):
            if a.get(key):
                assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-5), (key, a, b)
    assert resumed.metrics["hiou"] == pytest.approx(straight.metrics["hiou"], abs=1e-9)
