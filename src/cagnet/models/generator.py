"""The feature generator G(z, w), section 3.3: a per-pixel MLP (1x1 convs as linear layers)."""

from collections.abc import Sequence

import torch
from torch import nn


class Generator(nn.Module):
    """Makes a pixel feature from a latent code and a class embedding.

    Each hidden layer is linear -> LeakyReLU(0.2) -> dropout, as in section 4.2 (512 hidden units).
    """

    def __init__(
        self,
        latent_dim: int,
        embedding_dim: int,
        feature_dim: int,
        hidden: Sequence[int] = (512,),
        dropout: float = 0.2,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = latent_dim + embedding_dim
        for units in hidden:
            layers += [nn.Linear(width, units), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            width = units
        layers.append(nn.Linear(width, feature_dim))
        self.mlp = nn.Sequential(*layers)
        self.latent_dim = latent_dim

    def forward(self, latent: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Generate features.

        Args:
            latent: z, (N, latent_dim).
            embedding: w, (N, embedding_dim), the class embedding of each pixel.

        Returns:
            (N, feature_dim) generated pixel features.
        """
        return self.mlp(torch.cat([latent, embedding], dim=1))
