"""Test-time options (warp, multi-scale, flip) on fake segment functions."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cagnet.config import EvalConfig, load_config
from cagnet.data.sample import Sample
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import ConfigError
from cagnet.evaluation.run import evaluate_and_save
from cagnet.evaluation.test_time import (
    configured_segment,
    multi_scale,
    warped,
    with_test_time_options,
)


class Recorder:
    """A fake segment function: scores (B, 2, H/2, W/2) from the image, input sizes recorded."""

    def __init__(self):
        self.sizes: list[tuple[int, int]] = []

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self.sizes.append(tuple(images.shape[-2:]))
        return F.avg_pool2d(images[:, :2], 2, ceil_mode=True)


def height_scores(images: torch.Tensor) -> torch.Tensor:
    """Constant (B, 3, 4, 4) scores equal to the input height: tells the copies apart."""
    return torch.full((images.shape[0], 3, 4, 4), float(images.shape[-2]))


def test_no_option_returns_the_segment_function_itself():
    segment = Recorder()
    assert with_test_time_options(segment) is segment


def test_warp_feeds_a_square_and_returns_scores_at_the_image_size():
    segment = Recorder()
    images = torch.randn(1, 3, 20, 30)
    scores = warped(segment, 16)(images)
    assert segment.sizes == [(16, 16)]
    assert scores.shape == (1, 2, 20, 30)
    square = F.interpolate(images, size=(16, 16), mode="bilinear", align_corners=False)
    expected = F.interpolate(
        F.avg_pool2d(square[:, :2], 2), size=(20, 30), mode="bilinear", align_corners=False
    )
    torch.testing.assert_close(scores, expected)


def test_multi_scale_runs_every_scale_and_flip_and_fuses_by_max_or_mean():
    images = torch.randn(2, 3, 20, 30)
    segment = Recorder()
    scores = multi_scale(segment, (0.5, 1.0), flip=True)(images)
    assert segment.sizes == [(10, 15), (10, 15), (20, 30), (20, 30)]
    assert scores.shape == (2, 2, 20, 30)
    fused_max = multi_scale(height_scores, (0.5, 0.75, 1.0), reduce="max")(images)
    fused_mean = multi_scale(height_scores, (0.5, 0.75, 1.0), reduce="mean")(images)
    assert fused_max.shape == (2, 3, 20, 30)
    torch.testing.assert_close(fused_max, torch.full_like(fused_max, 20.0))
    torch.testing.assert_close(fused_mean, torch.full_like(fused_mean, (10 + 15 + 20) / 3))


def test_flipped_scores_are_flipped_back():
    # Scores equal to the first channel of the input: the mirrored copy, mirrored back, is the
    # image again, so the mean over both copies is the image itself.
    images = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
    scores = multi_scale(lambda x: x[:, :1], (1.0,), flip=True, reduce="mean")(images)
    torch.testing.assert_close(scores, images[:, :1])


def test_warp_applies_before_the_scales():
    segment = Recorder()
    wrapped = with_test_time_options(segment, warp_size=16, scales=(0.5, 1.0))
    assert wrapped(torch.randn(1, 3, 20, 30)).shape == (1, 2, 20, 30)
    assert segment.sizes == [(8, 8), (16, 16)]


def test_the_eval_section_picks_the_options():
    segment = Recorder()
    assert configured_segment(segment, EvalConfig()) is segment
    options = EvalConfig(warp_size=16, scales=(0.5, 1.0), batch_size=1)
    assert configured_segment(segment, options)(torch.randn(1, 3, 20, 30)).shape == (1, 2, 20, 30)
    assert segment.sizes == [(8, 8), (16, 16)]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["eval.warp_size=513", "eval.batch_size=1", "eval.resolution=feature"], "label"),
        (["eval.scales=[0.5, -1.0]"], "positive"),
        (["eval.scales=[1.0]", "eval.scale_reduce=median"], "max"),
        (["eval.warp_size=-1"], "warp_size"),
    ],
)
def test_bad_test_time_fields_are_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_the_defaults_and_the_official_warp_are_valid_configs():
    assert load_config(None).eval.warp_size == 0
    config = load_config(None, ["eval.warp_size=513", "eval.batch_size=1"])
    assert config.eval.warp_size == 513
    # Batches are never padded, so a warp no longer needs eval.batch_size=1.
    assert load_config(None, ["eval.warp_size=513"]).eval.batch_size == 4


def test_evaluate_and_save_applies_the_configured_options(tmp_path):
    rng = np.random.default_rng(0)
    samples = [
        Sample(rng.integers(0, 255, (12, 18, 3), dtype=np.uint8), np.zeros((12, 18)), "a"),
        Sample(rng.integers(0, 255, (10, 14, 3), dtype=np.uint8), np.ones((10, 14)), "b"),
    ]
    segment = Recorder()
    model = SimpleNamespace(segment=segment, eval=lambda: None)
    data = SimpleNamespace(val=samples, split=ZeroShotSplit(("a", "b"), (1,)))
    config = load_config(None, ["eval.warp_size=8", "eval.batch_size=1", "eval.scales=[0.5, 1.0]"])
    evaluate_and_save(model, data, config, tmp_path, torch.device("cpu"), progress=False)
    assert segment.sizes == [(4, 4), (8, 8)] * 2
    payload = json.loads((tmp_path / "metrics.json").read_text())
    assert payload["test_time"]["warp_size"] == 8
    assert payload["test_time"]["scales"] == [0.5, 1.0]
