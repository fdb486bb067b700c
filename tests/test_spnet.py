"""SPNet: scores are projected features . fixed embeddings; training ignores unseen classes."""

import copy
import json

import pytest
import torch
from helpers import assert_scores_follow_from_class_iou, small_overrides
from torch import nn

from cagnet.config import Config, load_config
from cagnet.methods import get_method
from cagnet.methods.spnet import SPNetReplicas, build_spnet, spnet_step
from cagnet.models.backbones.base import Backbone
from cagnet.models.cagnet import ContextEncoder
from cagnet.models.spnet import SPNet
from cagnet.training.loop import train

SEEN, UNSEEN = (0, 1, 3), (2, 4)


class FirstChannels(Backbone):
    """F = the first two image channels, at full resolution (no parameters)."""

    out_channels, output_stride = 2, 1

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images[:, :2]


def test_scores_are_the_projected_features_dot_the_fixed_embeddings():
    projection = nn.Linear(2, 2)
    with torch.no_grad():
        projection.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, 1.0]]))
        projection.bias.copy_(torch.tensor([0.5, -1.0]))
    embeddings = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    model = SPNet(ContextEncoder(FirstChannels(), None), projection, embeddings)
    images = torch.zeros(1, 3, 1, 2)
    images[0, :2, 0, 0] = torch.tensor([1.0, 2.0])  # projected: (1 + 4 + 0.5, 2 - 1) = (5.5, 1)
    images[0, :2, 0, 1] = torch.tensor([0.0, -1.0])  # projected: (-2 + 0.5, -1 - 1) = (-1.5, -2)
    scores = model.segment(images)
    assert scores.shape == (1, 3, 1, 2)
    assert scores[0, :, 0, 0].tolist() == pytest.approx([5.5, 1.0, 6.5])
    assert scores[0, :, 0, 1].tolist() == pytest.approx([-1.5, -2.0, -3.5])
    assert dict(model.named_buffers())["class_embeddings"].requires_grad is False
    assert all(p is not model.class_embeddings for p in model.parameters())


def _tiny_spnet(config: Config) -> tuple[SPNet, object]:
    torch.manual_seed(0)
    embeddings = nn.functional.normalize(torch.randn(5, 6), dim=1)
    model = build_spnet(config, embeddings)
    return model, get_method("spnet").build_optimizers(model, config)


def _step(model, optimizers, seed=1):
    torch.manual_seed(seed)
    images = torch.randn(2, 3, 16, 16)
    labels = torch.tensor(SEEN)[torch.randint(0, 3, (2, 16, 16))]
    labels[:, :2] = 255
    replicas = SPNetReplicas(model, model.encoder, model.projection)
    return spnet_step(replicas, optimizers, images, labels, torch.tensor(SEEN))


def test_unseen_embeddings_take_no_part_in_training():
    config = load_config(None, ["model.backbone.out_channels=8"])
    model, optimizers = _tiny_spnet(config)
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.class_embeddings[list(UNSEEN)] = torch.randn(len(UNSEEN), 6) * 10
    other_optimizers = get_method("spnet").build_optimizers(other, config)
    before = [p.clone() for p in model.parameters()]

    log = _step(model, optimizers)
    other_log = _step(other, other_optimizers)

    assert log["loss_cls"] == pytest.approx(other_log["loss_cls"], abs=1e-6)
    assert log["labelled_pixels"] == 2 * 3 * 4  # 4x4 features; nearest row 0 is ignored
    for after, twin in zip(model.parameters(), other.parameters(), strict=True):
        assert torch.allclose(after, twin, atol=1e-6)  # same gradients: unseen rows unused
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), before, strict=True))


def test_spnet_trains_evaluates_and_writes_its_run_folder(tmp_path):
    config = load_config(None, small_overrides(tmp_path, iterations=4) + ["model.method=spnet"])
    result = train(config, run_dir=tmp_path / "spnet", progress=False)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert_scores_follow_from_class_iou(metrics)
    assert "calibrated" not in metrics
    assert (result.run_dir / "checkpoint.pt").is_file()
    assert "loss_cls" in (result.run_dir / "losses.csv").read_text()
