"""DeepLab v2 multi-scale inputs: the pixel-wise max of F over rescaled copies of the image."""

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from cagnet.errors import ConfigError
from cagnet.models.backbones.base import Backbone


class MultiScaleBackbone(Backbone):
    """Run a backbone on rescaled images and take the pixel-wise max of the resized features.

    Each image copy is resized bilinearly to ``int(H * s) x int(W * s)`` (as the official
    CaGNet/DeepLab code does), its F is resized bilinearly to the scale-1 feature size
    ceil(H / output_stride) x ceil(W / output_stride), and the maximum is taken over scales.

    Args:
        backbone: the single-scale backbone; its ``train``/``freeze`` behaviour is kept.
        scales: positive input scales, e.g. (1.0, 0.75, 0.5).
    """

    def __init__(self, backbone: Backbone, scales: Sequence[float] = (1.0, 0.75, 0.5)) -> None:
        super().__init__()
        if not scales or any(not scale > 0 for scale in scales):
            raise ConfigError(f"multi-scale input scales must be positive numbers, got {scales}")
        self.backbone = backbone
        self.scales = tuple(float(scale) for scale in scales)
        self.out_channels = backbone.out_channels
        self.output_stride = backbone.output_stride

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Compute the multi-scale F.

        Args:
            images: (B, 3, H, W) ImageNet-normalised.

        Returns:
            F: (B, out_channels, ceil(H / output_stride), ceil(W / output_stride)), the
            pixel-wise max over scales.
        """
        height, width = images.shape[-2:]
        size = (math.ceil(height / self.output_stride), math.ceil(width / self.output_stride))
        features = None
        for scale in self.scales:
            scaled = images
            if scale != 1.0:
                scaled_size = (max(1, int(height * scale)), max(1, int(width * scale)))
                scaled = F.interpolate(
                    images, size=scaled_size, mode="bilinear", align_corners=False
                )
            output = self.backbone(scaled)
            if output.shape[-2:] != size:
                output = F.interpolate(output, size=size, mode="bilinear", align_corners=False)
            features = output if features is None else torch.maximum(features, output)
        return features
