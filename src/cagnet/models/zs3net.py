"""ZS3Net (Bucher et al., NeurIPS 2019): a segmentation network whose 1x1 classifier is
retrained on generated features of unseen classes, made by a GMMN from class embeddings."""

import torch
from torch import nn

from cagnet.models.cagnet import ContextEncoder
from cagnet.models.generator import Generator
from cagnet.models.pixelwise import apply_to_map


class ZS3Net(nn.Module):
    """Backbone E, classifier C over all K classes, and the feature generator G.

    Args:
        encoder: E (a ``ContextEncoder`` without CM, so ``encoder.backbone`` is E).
        classifier: C, the 1x1 conv as a per-pixel linear layer, l -> K.
        generator: G(noise, w_c) -> (N, l) fake pixel features (a GMMN: an MLP).
        class_embeddings: (K, d) embeddings of every class; a buffer.
    """

    def __init__(
        self,
        encoder: ContextEncoder,
        classifier: nn.Linear,
        generator: Generator,
        class_embeddings: torch.Tensor,
    ):
        super().__init__()
        self.encoder = encoder
        self.classifier = classifier
        self.generator = generator
        self.register_buffer("class_embeddings", class_embeddings.float().clone())

    @property
    def num_classes(self) -> int:
        return self.class_embeddings.shape[0]

    def generate(self, class_ids: torch.Tensor) -> torch.Tensor:
        """(N,) class indices -> (N, l) fake features from noise ~ N(0, 1)."""
        noise = torch.randn(
            class_ids.shape[0], self.generator.latent_dim, device=self.class_embeddings.device
        )
        return self.generator(noise, self.class_embeddings[class_ids])

    def segment(self, images: torch.Tensor) -> torch.Tensor:
        """Class scores at feature resolution, (B, K, h, w), for (B, 3, H, W) images."""
        return apply_to_map(self.classifier, self.encoder(images).features)
