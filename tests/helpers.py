"""Tiny models and configs shared by the tests."""

from pathlib import Path

import torch
from torch import nn

from cagnet.models.backbones.base import Backbone
from cagnet.models.cagnet import CaGNet, ContextEncoder
from cagnet.models.contextual_module import ContextualModule
from cagnet.models.generator import Generator
from cagnet.models.heads import SharedHeads

SHARED = Path(__file__).resolve().parents[2] / "shared"


class TinyBackbone(Backbone):
    """One strided conv: (B, 3, H, W) -> (B, channels, H/2, W/2)."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.out_channels, self.output_stride = channels, 2
        self.conv = nn.Conv2d(3, channels, 3, stride=2, padding=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(images))


def tiny_model(num_classes: int = 5, channels: int = 8, embedding_dim: int = 6) -> CaGNet:
    torch.manual_seed(0)
    backbone = TinyBackbone(channels)
    encoder = ContextEncoder(backbone, ContextualModule(channels))
    generator = Generator(channels, embedding_dim, channels, hidden=(16,), dropout=0.0)
    heads = SharedHeads(channels, num_classes, hidden=16, dropout=0.0)
    embeddings = torch.nn.functional.normalize(torch.randn(num_classes, embedding_dim), dim=1)
    return CaGNet(encoder, generator, heads, embeddings)


def small_overrides(tmp_path: Path, iterations: int = 6) -> list[str]:
    """A config small enough for a smoke test: a few images, a few iterations."""
    return [
        f"output_dir={tmp_path / 'runs'}",
        f"dataset.root={tmp_path / 'synthetic'}",
        "synthetic.num_train=12",
        "synthetic.num_val=4",
        "synthetic.image_size=48",
        "augment.crop_size=40",
        "train.batch_size=2",
        f"train.iterations={iterations}",
        f"train.pretrain_iterations={iterations // 2}",
        "train.alternate_every=1",
        "train.log_every=1",
        "train.checkpoint_every=100",
        "model.backbone.out_channels=16",
        "model.generator_hidden=[32]",
        "model.heads_hidden=16",
        "eval.num_overlays=1",
    ]
