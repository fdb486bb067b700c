"""Helpers to run per-pixel modules (1x1 convolutions written as linear layers) on maps."""

from collections.abc import Callable

import torch


def to_pixels(feature_map: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) -> (B*h*w, C), pixels in row-major order."""
    batch, channels, height, width = feature_map.shape
    return feature_map.permute(0, 2, 3, 1).reshape(batch * height * width, channels)


def to_map(pixels: torch.Tensor, batch: int, height: int, width: int) -> torch.Tensor:
    """(B*h*w, C) -> (B, C, h, w), the inverse of ``to_pixels``."""
    return pixels.reshape(batch, height, width, -1).permute(0, 3, 1, 2)


def apply_to_map(
    function: Callable[[torch.Tensor], torch.Tensor], feature_map: torch.Tensor
) -> torch.Tensor:
    """Apply a per-pixel function (N, C) -> (N, C') to a (B, C, h, w) map -> (B, C', h, w).

    A linear layer applied pixel by pixel is exactly a 1x1 convolution.
    """
    batch, _, height, width = feature_map.shape
    return to_map(function(to_pixels(feature_map)), batch, height, width)
