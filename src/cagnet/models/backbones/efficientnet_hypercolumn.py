"""Hypercolumn features of EfficientNet-Lite0: four stages at their native strides, at stride 8.

The network runs undilated, as it was trained. The last output at each of the strides 4, 8,
16 and 32 (24 + 40 + 112 + 320 = 496 channels) is resized bilinearly to the stride-8 grid and
the four are concatenated: F has early, local detail beside late, semantic channels. The
stride-4 map is shrunk with an antialiased (triangle) filter, the others enlarged. Without
dilation the late blocks run on 1/4 and 1/16 of the pixels, so F is much cheaper than the
dilated ``efficientnet_lite0`` backbone's (benchmarks/RESULTS.md, "Hypercolumn features").

The stage channels differ in scale by an order of magnitude; ``model.neck.standardize`` puts
them at unit scale with training-set statistics, and ``model.neck.kind`` adds a trainable
projection on top (``cagnet.models.neck``), also when F comes from the feature cache.
"""

import torch
from torch.nn import functional

from cagnet.models.backbones.efficientnet_lite import load_encoder, register_input_transform
from cagnet.models.backbones.freezing import FreezableBackbone

STAGE_STRIDES = (4, 8, 16, 32)
STAGE_CHANNELS = (24, 40, 112, 320)
HYPERCOLUMN_CHANNELS = sum(STAGE_CHANNELS)  # 496
OUTPUT_STRIDE = 8


class EfficientNetLite0Hypercolumn(FreezableBackbone):
    """EfficientNet-Lite0 stage outputs at strides 4, 8, 16, 32, concatenated at stride 8.

    Args:
        pretrained: load the packaged ImageNet weights.
        freeze: freeze the whole backbone (eval mode, no gradients).
    """

    def __init__(self, pretrained: bool = True, freeze: bool = False) -> None:
        super().__init__()
        self.encoder = load_encoder(pretrained)
        self.out_channels = HYPERCOLUMN_CHANNELS
        self.output_stride = OUTPUT_STRIDE
        register_input_transform(self)
        if freeze:
            self.freeze()

    def stage_outputs(self, images: torch.Tensor) -> dict[int, torch.Tensor]:
        """The last block output at each stride of ``STAGE_STRIDES``.

        Args:
            images: (B, 3, H, W) ImageNet-normalised.

        Returns:
            {stride s: (B, c_s, ceil(H / s), ceil(W / s))}, c_s from ``STAGE_CHANNELS``.
        """
        encoder = self.encoder
        x = images * self.input_scale + self.input_shift
        x = encoder._swish(encoder._bn0(encoder._conv_stem(x)))
        stride, outputs = 2, {}
        drop_connect_rate = encoder._global_params.drop_connect_rate or 0.0
        for index, block in enumerate(encoder._blocks):
            if block._depthwise_conv.stride[0] == 2:
                outputs[stride] = x  # the last output before the stride doubles
                stride *= 2
            x = block(x, drop_connect_rate=drop_connect_rate * index / len(encoder._blocks))
        outputs[stride] = x
        return {s: outputs[s] for s in STAGE_STRIDES}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Compute F.

        Args:
            images: (B, 3, H, W) ImageNet-normalised.

        Returns:
            F: (B, 496, ceil(H / 8), ceil(W / 8)), channels in stage order (24, 40, 112, 320).
        """
        outputs = self.stage_outputs(images)
        size = outputs[OUTPUT_STRIDE].shape[-2:]
        maps = [
            functional.interpolate(
                outputs[s], size=size, mode="bilinear", align_corners=False, antialias=s < 8
            )
            if outputs[s].shape[-2:] != size
            else outputs[s]
            for s in STAGE_STRIDES
        ]
        return torch.cat(maps, dim=1)


__all__ = ["HYPERCOLUMN_CHANNELS", "EfficientNetLite0Hypercolumn"]
