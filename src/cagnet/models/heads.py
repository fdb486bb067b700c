"""Classifier C and discriminator D: two 1x1 conv layers each, sharing the first (section 4.2)."""

from typing import NamedTuple

import torch
from torch import nn


class HeadOutput(NamedTuple):
    """Attributes:
    logits: (N, K) class scores of C (before softmax).
    realness: (N,) D's score in [0, 1] (sigmoid), 1 = real.
    """

    logits: torch.Tensor
    realness: torch.Tensor


class SharedHeads(nn.Module):
    """C and D on pixel features; both read the same first layer."""

    def __init__(self, feature_dim: int, num_classes: int, hidden: int = 256, dropout: float = 0.1):
        super().__init__()
        self.shared = nn.Sequential(
            nn.Linear(feature_dim, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout)
        )
        self.classifier = nn.Linear(hidden, num_classes)
        self.discriminator = nn.Linear(hidden, 1)

    def forward(self, pixels: torch.Tensor) -> HeadOutput:
        """Args: pixels (N, feature_dim). Returns HeadOutput with (N, K) logits, (N,) realness."""
        hidden = self.shared(pixels)
        realness = torch.sigmoid(self.discriminator(hidden)).squeeze(1)
        return HeadOutput(logits=self.classifier(hidden), realness=realness)

    def classify(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, feature_dim) -> (N, K) logits, without running D."""
        return self.classifier(self.shared(pixels))
