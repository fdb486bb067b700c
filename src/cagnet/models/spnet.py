"""SPNet (Xian et al., CVPR 2019): pixel features projected into the word-embedding space.

The class score of a pixel is the dot product of its projected feature with the FIXED
embedding w_c of the class, so an unseen class gets scores from its embedding alone.
"""

import torch
from torch import nn

from cagnet.models.cagnet import ContextEncoder
from cagnet.models.pixelwise import apply_to_map


class SPNet(nn.Module):
    """Backbone E, a 1x1 conv projection to d channels, and fixed class embeddings.

    Args:
        encoder: E (a ``ContextEncoder`` without CM, so ``encoder.backbone`` is E).
        projection: the 1x1 conv as a per-pixel linear layer, l -> d.
        class_embeddings: (K, d) embeddings of every class, seen and unseen; a buffer, never
            trained.
    """

    def __init__(
        self, encoder: ContextEncoder, projection: nn.Linear, class_embeddings: torch.Tensor
    ):
        super().__init__()
        self.encoder = encoder
        self.projection = projection
        self.register_buffer("class_embeddings", class_embeddings.float().clone())

    @property
    def num_classes(self) -> int:
        return self.class_embeddings.shape[0]

    def scores(self, pixels: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        """Class scores of pixel features.

        Args:
            pixels: (N, l) features F.
            classes: (C,) indices of the classes to score; None = all K.

        Returns:
            (N, C) scores projection(F) . w_c.
        """
        embeddings = self.class_embeddings if classes is None else self.class_embeddings[classes]
        return self.projection(pixels) @ embeddings.t().to(pixels.dtype)

    def segment(self, images: torch.Tensor) -> torch.Tensor:
        """Scores of every class at feature resolution, (B, K, h, w), for (B, 3, H, W) images."""
        return apply_to_map(self.scores, self.encoder(images).features)
