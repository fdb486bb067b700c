"""DeepLab v3+ ResNet-101 (the ZS3Net setting): encoder at stride 16, decoder at stride 4.

F is the decoder output (the last features before DeepLab v3+'s 1x1 classifier), 256-d by
default, at output stride 4.
"""

import torch
import torch.nn.functional as F
from torch import nn

from cagnet.models.backbones.freezing import FreezableBackbone
from cagnet.models.backbones.resnet import RESNET101_BLOCKS, ResNet

ASPP_RATES_AT_STRIDE_16 = (6, 12, 18)


def conv_bn_relu(
    in_channels: int, out_channels: int, kernel_size: int = 1, dilation: int = 1
) -> nn.Sequential:
    """Conv (no bias, "same" padding) -> BN -> ReLU."""
    padding = dilation * (kernel_size // 2)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, 1, padding, dilation, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class PooledASPP(nn.Module):
    """DeepLab v3 ASPP: a 1x1 branch, three dilated 3x3 branches and image pooling, concatenated
    and projected by a 1x1 conv.

    The image-pooling branch has batch norm on a 1x1 map, so training it with unfrozen batch
    norm needs batches of more than one image.

    Args:
        in_channels: channels of the encoder output.
        channels: channels of every branch and of the output.
        rates: dilations of the 3x3 branches.
    """

    def __init__(self, in_channels: int, channels: int, rates: tuple[int, ...]) -> None:
        super().__init__()
        self.rates = tuple(rates)
        self.branches = nn.ModuleList(
            [conv_bn_relu(in_channels, channels)]
            + [conv_bn_relu(in_channels, channels, 3, rate) for rate in self.rates]
        )
        self.image_pooling = conv_bn_relu(in_channels, channels)
        self.project = conv_bn_relu(channels * (len(self.rates) + 2), channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, h, w) -> (B, channels, h, w)."""
        pooled = self.image_pooling(F.adaptive_avg_pool2d(x, 1))
        pooled = F.interpolate(pooled, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.project(torch.cat([branch(x) for branch in self.branches] + [pooled], dim=1))


class Decoder(nn.Module):
    """DeepLab v3+ decoder: reduce the stride-4 features to 48 channels, concatenate with the
    upsampled ASPP output, refine with two 3x3 conv-BN-ReLU layers.
    """

    def __init__(
        self,
        low_level_in: int,
        aspp_channels: int,
        out_channels: int,
        low_level_channels: int = 48,
    ) -> None:
        super().__init__()
        self.reduce_low_level = conv_bn_relu(low_level_in, low_level_channels)
        self.fuse = nn.Sequential(
            conv_bn_relu(aspp_channels + low_level_channels, out_channels, 3),
            conv_bn_relu(out_channels, out_channels, 3),
        )

    def forward(self, low_level: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Fuse (B, C_low, h4, w4) and (B, C_aspp, h16, w16) into (B, out_channels, h4, w4)."""
        context = F.interpolate(
            context, size=low_level.shape[-2:], mode="bilinear", align_corners=False
        )
        return self.fuse(torch.cat([context, self.reduce_low_level(low_level)], dim=1))


class DeepLabV3PlusBackbone(FreezableBackbone):
    """ResNet encoder (torchvision-style, stride in the 3x3 convs; multi-grid (1, 2, 4) in
    layer4) + image-pooling ASPP + decoder.

    Args:
        out_channels: l, channels of F (the decoder output), 256 in DeepLab v3+.
        encoder_output_stride: 16 (rates 6/12/18) or 8 (rates doubled).
        blocks: bottleneck blocks per stage; ``(3, 4, 23, 3)`` is ResNet-101.
        base_width: stem width, 64 for ResNet-101 (smaller only for tests).
        aspp_channels: channels of the ASPP branches, 256 in DeepLab v3+.
        low_level_channels: channels of the reduced stride-4 features, 48 in DeepLab v3+.
    """

    output_stride = 4

    def __init__(
        self,
        out_channels: int = 256,
        encoder_output_stride: int = 16,
        blocks: tuple[int, ...] = RESNET101_BLOCKS,
        base_width: int = 64,
        aspp_channels: int = 256,
        low_level_channels: int = 48,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.resnet = ResNet(
            blocks, base_width, encoder_output_stride, stride_in_1x1=False, multi_grid=(1, 2, 4)
        )
        rates = tuple(r * 16 // encoder_output_stride for r in ASPP_RATES_AT_STRIDE_16)
        self.aspp = PooledASPP(self.resnet.out_channels, aspp_channels, rates)
        self.decoder = Decoder(
            self.resnet.low_level_channels, aspp_channels, out_channels, low_level_channels
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Compute F.

        Args:
            images: (B, 3, H, W) ImageNet-normalised.

        Returns:
            F: (B, out_channels, ceil(H / 4), ceil(W / 4)).
        """
        features = self.resnet(images)
        return self.decoder(features.low_level, self.aspp(features.high_level))


def deeplabv3plus_resnet101(out_channels: int = 256, small: bool = False) -> DeepLabV3PlusBackbone:
    """DeepLab v3+ ResNet-101, or with ``small=True`` a tiny copy (1 block per stage, width 8,
    32-channel ASPP, 8-channel low-level reduction) for tests."""
    if small:
        return DeepLabV3PlusBackbone(out_channels, 16, (1, 1, 1, 1), 8, 32, 8)
    return DeepLabV3PlusBackbone(out_channels)
