"""Tiny models and configs shared by the tests."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from cagnet.data.readers import FolderReader
from cagnet.data.sample import IGNORE_INDEX
from cagnet.models.backbones import BackboneConfig
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


# ----------------------------------------------------------------------------- feature cache

STRIDE = 2
KEY_CONFIG = BackboneConfig(name="small_cnn", out_channels=5, output_stride=STRIDE, freeze=True)


class PatchBackbone(Backbone):
    """Non-overlapping stride x stride patches -> 5 channels (pads to a multiple of the stride),
    so F of an aligned image crop equals the crop of F exactly. Counts its forward calls."""

    def __init__(self, seed: int = 0):
        super().__init__()
        self.out_channels, self.output_stride = 5, STRIDE
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(3, 5, STRIDE, stride=STRIDE)
        self.requires_grad_(False)
        self.eval()
        self.calls = 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        height, width = images.shape[-2:]
        images = F.pad(images, (0, -width % STRIDE, 0, -height % STRIDE))
        return self.conv(images)


def write_folder(root, sizes=((14, 18), (15, 17), (10, 12)), split="train"):
    """A tiny data set in the plain folder format: random images and labels of 3 classes."""
    rng = np.random.default_rng(0)
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("sky\nroad\ncar\n")
    for k, (height, width) in enumerate(sizes):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        label = rng.integers(0, 3, (height, width)).astype(np.uint8)
        label[0, 0] = IGNORE_INDEX
        Image.fromarray(image).save(root / "images" / split / f"{k:03d}.png")
        Image.fromarray(label).save(root / "labels" / split / f"{k:03d}.png")
    return FolderReader(root, split)


class Subset:
    """A view of some items of a reader, of a kind the cache knows nothing about."""

    def __init__(self, reader, indices):
        self.reader, self.indices, self.name = reader, indices, "subset"
        self.class_names, self.valid_classes = reader.class_names, reader.valid_classes

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.reader[self.indices[index]]

    def load_label(self, index):
        return self.reader.load_label(self.indices[index])


def assert_scores_follow_from_class_iou(metrics: dict) -> None:
    """The seen, unseen and harmonic mIoU of a metrics.json, recomputed here from its per-class
    IoUs (NaN for classes absent from the ground truth), as eq. 8 of the paper defines them."""
    names, iou = metrics["class_names"], np.asarray(metrics["class_iou"], dtype=float)
    unseen = np.isin(names, metrics["unseen_classes"])
    seen_miou, unseen_miou = np.nanmean(iou[~unseen]), np.nanmean(iou[unseen])
    assert metrics["seen"]["miou"] == pytest.approx(seen_miou, abs=1e-9)
    assert metrics["unseen"]["miou"] == pytest.approx(unseen_miou, abs=1e-9)
    total = seen_miou + unseen_miou
    assert metrics["hiou"] == pytest.approx(2 * seen_miou * unseen_miou / total if total else 0.0)
