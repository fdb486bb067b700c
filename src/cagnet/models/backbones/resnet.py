"""Dilated bottleneck ResNet trunk shared by the DeepLab v2 and v3+ backbones.

Parameter names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``, ...), so ImageNet state dicts load by name; see
``checkpoint_loading`` for the caffe-style DeepLab names.
"""

from typing import NamedTuple

import torch
from torch import nn

from cagnet.errors import ConfigError

RESNET101_BLOCKS = (3, 4, 23, 3)
BOTTLENECK_EXPANSION = 4

# output stride -> (stride, dilation) of layer1..layer4 (layer1 follows the stride-4 stem).
_STRIDES_AND_DILATIONS = {
    8: ((1, 2, 1, 1), (1, 1, 2, 4)),
    16: ((1, 2, 2, 1), (1, 1, 1, 2)),
    32: ((1, 2, 2, 2), (1, 1, 1, 1)),
}


class ResNetOutput(NamedTuple):
    """Feature maps of the trunk.

    Attributes:
        low_level: (B, 4 * base_width, ceil(H / 4), ceil(W / 4)), output of layer1.
        high_level: (B, 32 * base_width, ceil(H / s), ceil(W / s)), output of layer4 at the
            trunk's output stride s.
    """

    low_level: torch.Tensor
    high_level: torch.Tensor


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (dilated), 1x1 expand, plus a shortcut; BN after every conv.

    Args:
        in_channels: channels entering the block.
        mid_channels: channels of the 3x3 conv; the block outputs ``4 * mid_channels``.
        stride: 1 or 2.
        dilation: dilation (and padding) of the 3x3 conv.
        stride_in_1x1: put the stride in the first 1x1 conv (MSRA/caffe ResNet, as in DeepLab
            v2's released model) instead of the 3x3 conv (torchvision "ResNet v1.5").
    """

    def __init__(
        self,
        in_channels: int,
        mid_channels: int,
        stride: int = 1,
        dilation: int = 1,
        stride_in_1x1: bool = True,
    ) -> None:
        super().__init__()
        out_channels = mid_channels * BOTTLENECK_EXPANSION
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, stride_1x1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(
            mid_channels, mid_channels, 3, stride_3x3, dilation, dilation, bias=False
        )
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> (B, 4 * mid_channels, ceil(H / stride), ceil(W / stride))."""
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


class ResNet(nn.Module):
    """Bottleneck ResNet without its classifier, with dilation instead of late strides.

    The stem is a 7x7 stride-2 conv and a 3x3 stride-2 max pool (``ceil_mode=False``, so every
    input size gives ceil(H / output_stride); for the 8k+1 crops DeepLab uses, e.g. 321 or 513,
    this equals the caffe model's ceil-mode pooling).

    Args:
        blocks: bottleneck blocks per stage, (3, 4, 23, 3) for ResNet-101.
        base_width: stem channels; stage i has ``base_width * 2**i`` mid channels (64 for the
            real network, smaller for tests).
        output_stride: 8, 16 or 32; the later stages use dilation instead of stride.
        stride_in_1x1: see ``Bottleneck``.
        multi_grid: per-block multipliers of layer4's dilation (DeepLab v3 "multi-grid"),
            cycled over the blocks; ``(1,)`` disables it.
    """

    def __init__(
        self,
        blocks: tuple[int, ...] = RESNET101_BLOCKS,
        base_width: int = 64,
        output_stride: int = 8,
        stride_in_1x1: bool = True,
        multi_grid: tuple[int, ...] = (1,),
    ) -> None:
        super().__init__()
        if output_stride not in _STRIDES_AND_DILATIONS:
            raise ConfigError(
                f"ResNet output_stride must be one of {sorted(_STRIDES_AND_DILATIONS)}, "
                f"got {output_stride}"
            )
        if len(blocks) != 4 or min(blocks) < 1:
            raise ConfigError(f"ResNet needs 4 stages of >= 1 block each, got blocks={blocks}")
        strides, dilations = _STRIDES_AND_DILATIONS[output_stride]
        self.output_stride = output_stride
        self.conv1 = nn.Conv2d(3, base_width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_channels = base_width
        stages = []
        for index, (num_blocks, stride, dilation) in enumerate(
            zip(blocks, strides, dilations, strict=True)
        ):
            mid_channels = base_width * 2**index
            grid = multi_grid if index == 3 else (1,)
            stage = []
            for block in range(num_blocks):
                stage.append(
                    Bottleneck(
                        in_channels,
                        mid_channels,
                        stride=stride if block == 0 else 1,
                        dilation=dilation * grid[block % len(grid)],
                        stride_in_1x1=stride_in_1x1,
                    )
                )
                in_channels = mid_channels * BOTTLENECK_EXPANSION
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.low_level_channels = base_width * BOTTLENECK_EXPANSION
        self.out_channels = in_channels
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images: torch.Tensor) -> ResNetOutput:
        """Run the trunk.

        Args:
            images: (B, 3, H, W) ImageNet-normalised.

        Returns:
            ResNetOutput with the stride-4 and the final feature maps.
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        low_level = self.layer1(x)
        high_level = self.layer4(self.layer3(self.layer2(low_level)))
        return ResNetOutput(low_level, high_level)
