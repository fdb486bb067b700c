"""CaGNet: backbone E, Contextual Module CM, generator G and shared heads C/D (Figure 2)."""

from typing import NamedTuple

import torch
from torch import nn

from cagnet.models.backbones.base import Backbone
from cagnet.models.contextual_module import ContextOutput, ContextualModule, residual_attention
from cagnet.models.generator import Generator
from cagnet.models.heads import SharedHeads
from cagnet.models.neck import Neck
from cagnet.models.pixelwise import apply_to_map


class Encoded(NamedTuple):
    """The segmentation network's view of a batch.

    Attributes:
        backbone_features: F, (B, l, h, w).
        features: X, (B, l, h, w): F + F * sigmoid(Z) with a residual CM, else F.
        context: the CM's output, or None without a CM.
    """

    backbone_features: torch.Tensor
    features: torch.Tensor
    context: ContextOutput | None


class ContextEncoder(nn.Module):
    """E followed by CM: the part of the segmentation network that makes X.

    Args:
        backbone: E (or its frozen part, when a neck follows).
        contextual_module: CM, or None (Table 2 rows without CM).
        residual: X = F + F * sigmoid(Z) when True; X = F ("w/o residual") when False.
        neck: standardisation and/or a trainable projection after the backbone
            (``cagnet.models.neck``); F is its output. None: F is the backbone's.
    """

    def __init__(
        self,
        backbone: Backbone,
        contextual_module: ContextualModule | None,
        residual: bool = True,
        neck: Neck | None = None,
    ):
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.contextual_module = contextual_module
        self.residual = residual and contextual_module is not None

    @property
    def feature_dim(self) -> int:
        return self.backbone.out_channels if self.neck is None else self.neck.out_channels

    def forward(self, images: torch.Tensor) -> Encoded:
        """Args: images (B, 3, H, W), ImageNet-normalised (or cached backbone features)."""
        backbone_features = self.backbone(images)
        if self.neck is not None:
            backbone_features = self.neck(backbone_features)
        if self.contextual_module is None:
            return Encoded(backbone_features, backbone_features, None)
        context = self.contextual_module(backbone_features)
        features = (
            residual_attention(backbone_features, context.z) if self.residual else backbone_features
        )
        return Encoded(backbone_features, features, context)


class CaGNet(nn.Module):
    """The unified segmentation and feature-generation network (Figure 2).

    Args:
        encoder: E and CM.
        generator: G, or None (Table 2's "E & C" rows).
        heads: C and D sharing their first layer.
        class_embeddings: (K, d) semantic embeddings of every class, seen and unseen.
    """

    def __init__(
        self,
        encoder: ContextEncoder,
        generator: Generator | None,
        heads: SharedHeads,
        class_embeddings: torch.Tensor,
    ):
        super().__init__()
        self.encoder = encoder
        self.generator = generator
        self.heads = heads
        self.register_buffer("class_embeddings", class_embeddings.float().clone())

    @property
    def num_classes(self) -> int:
        return self.class_embeddings.shape[0]

    def segment(self, images: torch.Tensor) -> torch.Tensor:
        """Class scores at feature resolution, (B, K, h, w), for (B, 3, H, W) images."""
        return apply_to_map(self.heads.classify, self.encoder(images).features)

    def generate(self, latent: torch.Tensor, class_ids: torch.Tensor) -> torch.Tensor:
        """G(z, w_c): (N, l) fake features from (N, l) codes and (N,) class indices."""
        if self.generator is None:
            raise RuntimeError("this model has no generator (a Table 2 'E & C' variant)")
        return self.generator(latent, self.class_embeddings[class_ids])
