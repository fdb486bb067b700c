"""DeepLab v2 ResNet-101 (the paper's backbone E): dilated ResNet-101 + summed ASPP.

As in the official CaGNet code, the feature map F is the ASPP output itself (l = 600 there):
four parallel 3x3 convs with dilations 6, 12, 18 and 24 whose outputs are summed.
"""

import torch
from torch import nn

from cagnet.models.backbones.freezing import FreezableBackbone
from cagnet.models.backbones.resnet import RESNET101_BLOCKS, ResNet

ASPP_RATES = (6, 12, 18, 24)
SMALL_BLOCKS = (1, 1, 1, 1)
SMALL_BASE_WIDTH = 8


class SummedASPP(nn.Module):
    """DeepLab v2 ASPP: parallel dilated 3x3 convs (with bias) whose outputs are added.

    Args:
        in_channels: channels of the trunk output (2048 for ResNet-101).
        out_channels: channels of F.
        rates: dilation (= padding) of each branch.
    """

    def __init__(
        self, in_channels: int, out_channels: int, rates: tuple[int, ...] = ASPP_RATES
    ) -> None:
        super().__init__()
        self.rates = tuple(rates)
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, 3, padding=rate, dilation=rate, bias=True)
            for rate in self.rates
        )
        for branch in self.branches:
            # The caffe model's initialisation of the ASPP (classifier) layers.
            nn.init.normal_(branch.weight, mean=0.0, std=0.01)
            nn.init.zeros_(branch.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, h, w) -> (B, out_channels, h, w), the sum over branches."""
        output = self.branches[0](x)
        for branch in self.branches[1:]:
            output = output + branch(x)
        return output


class DeepLabV2Backbone(FreezableBackbone):
    """Caffe-style dilated ResNet (stride in the 1x1 convs) followed by the summed ASPP.

    With the default ``output_stride=8``, layer2 has stride 2 and layer3/layer4 use dilations
    2 and 4, so F has ceil(H / 8) x ceil(W / 8) pixels.

    Args:
        out_channels: l, channels of F (the ASPP output); 600 in the official code.
        output_stride: 8 (DeepLab v2) or 16.
        blocks: bottleneck blocks per stage; ``(3, 4, 23, 3)`` is ResNet-101.
        base_width: stem width, 64 for ResNet-101 (smaller only for tests).
        aspp_rates: dilations of the ASPP branches.
    """

    def __init__(
        self,
        out_channels: int = 600,
        output_stride: int = 8,
        blocks: tuple[int, ...] = RESNET101_BLOCKS,
        base_width: int = 64,
        aspp_rates: tuple[int, ...] = ASPP_RATES,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.output_stride = output_stride
        self.resnet = ResNet(blocks, base_width, output_stride, stride_in_1x1=True)
        self.aspp = SummedASPP(self.resnet.out_channels, out_channels, aspp_rates)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Compute F.

        Args:
            images: (B, 3, H, W) ImageNet-normalised.

        Returns:
            F: (B, out_channels, ceil(H / output_stride), ceil(W / output_stride)).
        """
        return self.aspp(self.resnet(images).high_level)


def deeplabv2_resnet101(
    out_channels: int = 600, output_stride: int = 8, small: bool = False
) -> DeepLabV2Backbone:
    """DeepLab v2 ResNet-101, or with ``small=True`` a 1-block-per-stage, width-8 copy for tests."""
    if small:
        return DeepLabV2Backbone(out_channels, output_stride, SMALL_BLOCKS, SMALL_BASE_WIDTH)
    return DeepLabV2Backbone(out_channels, output_stride)
