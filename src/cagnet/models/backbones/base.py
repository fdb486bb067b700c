"""The backbone interface E: images in, feature map F out."""

import torch
from torch import nn


class Backbone(nn.Module):
    """Base class of every backbone.

    Subclasses set ``out_channels`` (l, the channels of F) and ``output_stride`` (input size
    divided by feature size) and implement ``forward``.
    """

    out_channels: int
    output_stride: int

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Compute the feature map.

        Args:
            images: (B, 3, H, W) float, normalised with the ImageNet mean and std.

        Returns:
            F: (B, out_channels, ceil(H / output_stride), ceil(W / output_stride)).
        """
        raise NotImplementedError
