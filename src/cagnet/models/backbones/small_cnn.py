"""A few conv-BN-ReLU blocks: the backbone for tests and the CPU demo."""

import torch
from torch import nn

from cagnet.errors import ConfigError
from cagnet.models.backbones.freezing import FreezableBackbone

SUPPORTED_STRIDES = (4, 8)


def _conv_bn_relu(
    in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride, dilation, dilation, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SmallCNN(FreezableBackbone):
    """Stride-2 conv blocks down to the output stride, two dilated blocks (dilation 2 and 4)
    for context, then a linear 1x1 projection to F. At stride 4 each feature pixel sees
    55 x 55 input pixels (111 x 111 at stride 8).

    Args:
        out_channels: l, channels of F.
        output_stride: 4 or 8.
        width: channels of the hidden blocks.
    """

    def __init__(self, out_channels: int = 64, output_stride: int = 4, width: int = 32) -> None:
        super().__init__()
        if output_stride not in SUPPORTED_STRIDES:
            raise ConfigError(
                f"SmallCNN output_stride must be one of {SUPPORTED_STRIDES}, got {output_stride}"
            )
        self.out_channels = out_channels
        self.output_stride = output_stride
        layers = [_conv_bn_relu(3, width // 2, stride=2), _conv_bn_relu(width // 2, width, 2)]
        if output_stride == 8:
            layers.append(_conv_bn_relu(width, width, stride=2))
        layers += [_conv_bn_relu(width, width, dilation=2), _conv_bn_relu(width, width, dilation=4)]
        self.body = nn.Sequential(*layers)
        self.project = nn.Conv2d(width, out_channels, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Compute F.

        Args:
            images: (B, 3, H, W) ImageNet-normalised.

        Returns:
            F: (B, out_channels, ceil(H / output_stride), ceil(W / output_stride)).
        """
        return self.project(self.body(images))
