"""Backbones E (images -> feature map F) and the one place that builds them from a config.

=========================  ==========================  =========================================
name                       output stride, F channels    notes
=========================  ==========================  =========================================
small_cnn                  4 or 8, any (64)             tests and the CPU demo, random init
deeplabv2_resnet101        8 (or 16), any (600)         the paper's backbone; F = summed ASPP
deeplabv3plus_resnet101    4, any (256)                 ZS3Net setting; F = decoder output
efficientnet_lite0         8 (or 16/32), any (320)      packaged ImageNet weights ("imagenet")
efficientnet_lite0_        8, 496                       undilated; stages at strides 4/8/16/32
hypercolumn                                             resized to stride 8 and concatenated
=========================  ==========================  =========================================
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from cagnet.errors import ConfigError
from cagnet.models.backbones.base import Backbone
from cagnet.models.backbones.checkpoint_loading import LoadReport, load_backbone_weights
from cagnet.models.backbones.deeplabv2 import DeepLabV2Backbone, deeplabv2_resnet101
from cagnet.models.backbones.deeplabv3plus import DeepLabV3PlusBackbone, deeplabv3plus_resnet101
from cagnet.models.backbones.efficientnet_hypercolumn import (
    HYPERCOLUMN_CHANNELS,
    EfficientNetLite0Hypercolumn,
)
from cagnet.models.backbones.efficientnet_lite import EfficientNetLite0Backbone
from cagnet.models.backbones.freezing import FreezableBackbone
from cagnet.models.backbones.multiscale import MultiScaleBackbone
from cagnet.models.backbones.small_cnn import SmallCNN

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackboneConfig:
    """The ``model.backbone`` config section.

    Attributes:
        name: a key of ``BACKBONES``.
        out_channels: l, the channels of F (600 for deeplabv2 as in the official code).
        output_stride: input size / feature size; must be one the backbone supports (see the
            table above: 8 for deeplabv2_resnet101, 4 for deeplabv3plus_resnet101).
        pretrained: "" (random init), "imagenet" (the packaged weights, efficientnet_lite0
            only: nothing is downloaded) or a checkpoint path (see ``load_backbone_weights``).
        freeze: frozen backbone (eval mode, requires_grad False).
        freeze_batchnorm: keep batch-norm statistics and affine parameters fixed; applies only
            with pretrained weights (fixed statistics of a random init would be meaningless).
        multi_scale: input scales whose features are max-pooled, e.g. (1.0, 0.75, 0.5);
            () for single scale.
        small: tiny depth/width variant of the ResNet backbones, for tests.
    """

    name: str = "small_cnn"
    out_channels: int = 64
    output_stride: int = 4
    pretrained: str = ""
    freeze: bool = False
    freeze_batchnorm: bool = True
    multi_scale: tuple[float, ...] = ()
    small: bool = False


def _check_stride(config: BackboneConfig, supported: tuple[int, ...]) -> None:
    if config.output_stride not in supported:
        raise ConfigError(
            f"backbone {config.name!r} supports model.backbone.output_stride in {supported}, "
            f"got {config.output_stride}"
        )


def _small_cnn(config: BackboneConfig) -> Backbone:
    _check_stride(config, (4, 8))
    return SmallCNN(config.out_channels, config.output_stride)


def _deeplabv2(config: BackboneConfig) -> Backbone:
    _check_stride(config, (8, 16))
    return deeplabv2_resnet101(config.out_channels, config.output_stride, config.small)


def _deeplabv3plus(config: BackboneConfig) -> Backbone:
    _check_stride(config, (4,))
    return deeplabv3plus_resnet101(config.out_channels, config.small)


def _efficientnet_lite0(config: BackboneConfig) -> Backbone:
    _check_stride(config, (8, 16, 32))
    pretrained = config.pretrained == "imagenet"
    return EfficientNetLite0Backbone(config.out_channels, config.output_stride, pretrained)


def _efficientnet_lite0_hypercolumn(config: BackboneConfig) -> Backbone:
    _check_stride(config, (8,))
    if config.out_channels != HYPERCOLUMN_CHANNELS:
        raise ConfigError(
            f"efficientnet_lite0_hypercolumn has {HYPERCOLUMN_CHANNELS} channels, got "
            f"model.backbone.out_channels={config.out_channels}; set it to "
            f"{HYPERCOLUMN_CHANNELS} and project with model.neck.kind (trainable, also on "
            "cached features)"
        )
    return EfficientNetLite0Hypercolumn(pretrained=config.pretrained == "imagenet")


BACKBONES: dict[str, Callable[[BackboneConfig], Backbone]] = {
    "small_cnn": _small_cnn,
    "deeplabv2_resnet101": _deeplabv2,
    "deeplabv3plus_resnet101": _deeplabv3plus,
    "efficientnet_lite0": _efficientnet_lite0,
    "efficientnet_lite0_hypercolumn": _efficientnet_lite0_hypercolumn,
}
PACKAGED_IMAGENET_WEIGHTS = ("efficientnet_lite0", "efficientnet_lite0_hypercolumn")


def build_backbone(config: BackboneConfig) -> Backbone:
    """Build, load, freeze and (optionally) wrap for multi-scale inputs the configured backbone.

    Args:
        config: the ``model.backbone`` section.

    Returns:
        The backbone; F has ``config.out_channels`` channels at ``config.output_stride``.

    Raises:
        ConfigError: unknown name, unsupported stride, "imagenet" for a backbone without
            packaged weights, bad scales, or a missing optional dependency.
        CheckpointError: the checkpoint path is missing, unreadable or fits nothing.
    """
    if config.name not in BACKBONES:
        raise ConfigError(
            f"unknown model.backbone.name {config.name!r}; known: {', '.join(BACKBONES)}"
        )
    if config.out_channels < 1:
        raise ConfigError(f"model.backbone.out_channels must be >= 1, got {config.out_channels}")
    if config.pretrained == "imagenet" and config.name not in PACKAGED_IMAGENET_WEIGHTS:
        raise ConfigError(
            f"no offline ImageNet weights for {config.name!r} (only for "
            f"{', '.join(PACKAGED_IMAGENET_WEIGHTS)}); set model.backbone.pretrained to a "
            "checkpoint path, e.g. deeplabv2_resnet101_init.pth or a torchvision resnet101 "
            "state dict"
        )
    backbone = BACKBONES[config.name](config)
    if config.pretrained not in ("", "imagenet"):
        report = load_backbone_weights(backbone, config.pretrained)
        log = logger.warning if report.missing or report.shape_mismatch else logger.info
        log("backbone weights: %s", report.summary())
    if isinstance(backbone, FreezableBackbone):
        if config.freeze_batchnorm and config.pretrained:
            backbone.freeze_batchnorm()
        if config.freeze:
            backbone.freeze()
    if config.multi_scale:
        backbone = MultiScaleBackbone(backbone, config.multi_scale)
    return backbone


__all__ = [
    "BACKBONES",
    "Backbone",
    "BackboneConfig",
    "DeepLabV2Backbone",
    "DeepLabV3PlusBackbone",
    "EfficientNetLite0Backbone",
    "EfficientNetLite0Hypercolumn",
    "FreezableBackbone",
    "LoadReport",
    "MultiScaleBackbone",
    "SmallCNN",
    "build_backbone",
    "load_backbone_weights",
]
