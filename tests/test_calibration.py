"""Calibration: the wrapper, the one-pass sweep, the bounded choice and ``cagnet calibrate``."""

import json

import pytest
import torch
import yaml
from helpers import small_overrides

from cagnet.build import build_data, prepare_dataset
from cagnet.cli import main
from cagnet.config import CalibrationConfig, load_config
from cagnet.config_io import parse_overrides
from cagnet.errors import ConfigError
from cagnet.evaluation.calibration import (
    GammaSweep,
    calibrated,
    choose_gamma,
    gamma_grid,
    label_source,
    largest_safe_gamma,
    top_scores,
)
from cagnet.evaluation.calibration_cli import bound_on_model, proxy_data
from cagnet.evaluation.metrics import confusion_matrix

SEEN_MASK = torch.tensor([True, True, False])  # classes 0, 1 seen; 2 unseen


def test_calibrated_subtracts_gamma_from_seen_scores_only():
    scores = torch.randn(2, 3, 4, 5)
    shifted = calibrated(lambda images: scores, SEEN_MASK, 0.7)(None)
    assert torch.allclose(shifted[:, :2], scores[:, :2] - 0.7)
    assert torch.equal(shifted[:, 2], scores[:, 2])
    segment = lambda images: scores  # noqa: E731
    assert calibrated(segment, SEEN_MASK, 0.0) is segment


def test_one_pass_sweep_equals_scoring_every_gamma_separately():
    torch.manual_seed(0)
    scores, labels = torch.randn(500, 5), torch.randint(0, 5, (500,))
    seen_mask = torch.tensor([True, False, True, True, False])
    gammas = torch.linspace(-1.0, 2.0, 13)
    sweep = GammaSweep(gammas, 5)
    sweep.add(labels[:200], top_scores(scores[:200], seen_mask))  # in two batches
    sweep.add(labels[200:], top_scores(scores[200:], seen_mask))
    for gamma, confusion in zip(gammas, sweep.confusions(), strict=True):
        predictions = (scores - gamma * seen_mask.float()).argmax(dim=1)
        assert torch.equal(confusion, confusion_matrix(predictions, labels, 5)), float(gamma)


def _pixels(margin: float, label: int, best_seen: int, count: int):
    """``count`` pixels of class ``label``: best seen class scores 1, class 2 scores 1 - margin."""
    scores = torch.zeros(count, 3)
    scores[:, best_seen] = 1.0
    scores[:, 2] = 1.0 - margin
    return scores, torch.full((count,), label)


def test_choose_gamma_maximises_hiou_within_the_seen_bound():
    # Unseen pixels: 5 flip at gamma > 0.12, 20 more at gamma > 0.52. Seen class 1 loses 30 of
    # its 40 pixels at gamma > 0.32. Unbounded, gamma 0.55 wins (hIoU 0.53 against 0.32), but
    # it drops seen mIoU from 0.72 to 0.63, below 0.9 x 0.72.
    groups = [
        _pixels(2.0, 0, 0, 20),
        _pixels(2.0, 1, 1, 10),
        _pixels(0.32, 1, 1, 30),
        _pixels(0.12, 2, 0, 5),
        _pixels(0.52, 2, 0, 20),
    ]
    scores = torch.cat([s for s, _ in groups])
    labels = torch.cat([label for _, label in groups])
    gammas = gamma_grid(CalibrationConfig(search_max=1.0, search_steps=21))
    sweep = GammaSweep(gammas, 3)
    sweep.add(labels, top_scores(scores, SEEN_MASK))
    choice = choose_gamma(gammas, sweep.confusions(), (0, 1), (2,), max_seen_drop=0.1)
    assert choice.gamma == pytest.approx(0.15)
    assert choice.unbounded_gamma == pytest.approx(0.55)
    assert choice.raw.seen.miou == pytest.approx((20 / 45 + 1.0) / 2)
    assert choice.calibrated.seen.miou >= choice.seen_floor
    assert choice.calibrated.unseen.miou == pytest.approx(5 / 25)
    unbounded = choice.reports[int(torch.nonzero(gammas == choice.unbounded_gamma))]
    assert unbounded.hiou > choice.calibrated.hiou and unbounded.seen.miou < choice.seen_floor
    loose = choose_gamma(gammas, sweep.confusions(), (0, 1), (2,), max_seen_drop=1.0)
    assert loose.gamma == pytest.approx(0.55)


def test_largest_safe_gamma_stops_at_the_first_gamma_below_the_floor():
    gammas = torch.tensor([0.0, 0.1, 0.2, 0.3])
    # Floor 0.9 x 0.8 = 0.72: 0.2 breaks it, so 0.3 is not reached although it recovers.
    assert largest_safe_gamma(gammas, [0.8, 0.78, 0.70, 0.75], 0.1) == pytest.approx(0.1)
    assert largest_safe_gamma(gammas, [0.8, 0.5, 0.8, 0.8], 0.1) == 0.0
    assert largest_safe_gamma(gammas, [0.8, 0.8, 0.8, 0.8], 0.1) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="start at 0"):
        largest_safe_gamma(gammas[1:], [0.8, 0.8, 0.8], 0.1)


def test_grid_includes_zero_and_stretches_to_the_margins_when_automatic():
    grid = gamma_grid(CalibrationConfig(search_min=0.5, search_max=2.0, search_steps=4))
    assert grid.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    margins = torch.cat([torch.linspace(0.0, 10.0, 1001), -torch.ones(50)])
    automatic = gamma_grid(CalibrationConfig(search_steps=11), margins)
    assert automatic[0] == 0.0 and automatic[-1] == pytest.approx(9.9, abs=0.02)


def test_label_sources_are_checked():
    assert label_source("split:holdout") == ("split", "holdout")
    assert label_source("pseudo_unseen") == ("pseudo_unseen", "")
    for wrong in ("split:", "split", "test", ""):
        with pytest.raises(ConfigError, match="calibration.labels"):
            label_source(wrong)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A few iterations of SPNet on the embedded benchmark, trained through the CLI."""
    folder = tmp_path_factory.mktemp("calibrate")
    overrides = small_overrides(folder, iterations=4) + ["model.method=spnet", "device=cpu"]
    config = folder / "spnet.yaml"
    config.write_text(yaml.safe_dump(parse_overrides(overrides)))
    assert main(["train", str(config), "--run-dir", str(folder / "run"), "--quiet"]) == 0
    return config, folder / "run" / "checkpoint.pt"


def test_calibrate_writes_calibration_json_once_and_eval_reports_both(trained, capsys):
    config, checkpoint = trained
    command = ["calibrate", str(config), "--checkpoint", str(checkpoint), "--quiet"]
    assert main([*command, "--set", "calibration.labels=val"]) == 0
    written = checkpoint.parent / "calibration.json"
    payload = json.loads(written.read_text())
    assert payload["labels"] == "val" and payload["tuned_on_test_labels"] is True
    assert payload["search"]["min"] == 0.0 and payload["search"]["steps"] >= 101
    assert payload["after"]["seen_miou"] >= payload["search"]["seen_miou_floor"]
    assert {"before", "after", "gamma", "curve", "use"} <= set(payload)

    assert main([*command, "--set", "calibration.labels=val"]) == 2  # refuses to overwrite
    assert "refuses to overwrite" in capsys.readouterr().err
    assert json.loads(written.read_text()) == payload

    gamma = payload["gamma"] or 0.5  # a raw optimum still checks the side-by-side report
    output = checkpoint.parent / "eval-calibrated"
    eval_command = ["eval", str(config), "--checkpoint", str(checkpoint), "--output", str(output)]
    overrides = ["--set", f"calibration.gamma={gamma!r}", "--set", "calibration.labels=val"]
    assert main([*eval_command, *overrides]) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    block = metrics["calibrated"]
    assert block["gamma"] == gamma and block["labels"] == "val" and block["tuned_on_test_labels"]
    if payload["gamma"]:  # the sweep's numbers are those of a real calibrated evaluation
        assert block["hiou"] == pytest.approx(payload["after"]["hiou"], abs=1e-9)
        assert block["seen"]["miou"] == pytest.approx(payload["after"]["seen_miou"], abs=1e-9)
    assert metrics["seen"]["miou"] == pytest.approx(payload["before"]["seen_miou"], abs=1e-9)
    assert "Calibrated: gamma" in (output / "metrics.md").read_text()


def test_default_calibration_trains_a_proxy_with_pseudo_unseen_classes(trained):
    config, checkpoint = trained
    output = checkpoint.parent / "honest" / "calibration.json"
    command = ["calibrate", str(config), "--checkpoint", str(checkpoint), "--quiet"]
    assert main([*command, "--output", str(output)]) == 0
    payload = json.loads(output.read_text())
    assert payload["labels"] == "pseudo_unseen" and payload["tuned_on_test_labels"] is False
    assert len(payload["pseudo_unseen"]) == 3  # as many as the true unseen classes
    assert "held out" in payload["reader"] and payload["images"] == 2  # 20% of 12 images
    assert (output.parent / "calibration-proxy" / "checkpoint.pt").is_file()


def test_a_proxy_gamma_is_capped_where_the_real_model_would_lose_seen_miou(trained, monkeypatch):
    from cagnet.training import loop

    def with_fixed_scores(*args):
        model, data, config = real_loader(*args)
        scores = torch.zeros(data.split.num_classes)
        scores[data.split.seen[0]] = 1.0  # every pixel: the first seen class ...
        scores[list(data.split.unseen)] = 0.5  # ... until gamma passes 0.5, then unseen

        def segment(images: torch.Tensor) -> torch.Tensor:
            return scores.view(1, -1, 1, 1).expand(images.shape[0], -1, 4, 4)

        model.segment = segment
        return model, data, config

    real_loader = loop.load_trained_model
    monkeypatch.setattr(loop, "load_trained_model", with_fixed_scores)
    config_path, checkpoint = trained
    bound = bound_on_model(load_config(config_path), checkpoint, 1.0, torch.device("cpu"), False)
    assert bound["seen_miou_raw"] > 0 and bound["seen_miou_at_proxy_gamma"] == 0.0
    assert 0.45 <= bound["gamma"] <= 0.5  # the grid's last gamma before every pixel flips
    assert bound["seen_miou_at_gamma"] >= bound["seen_miou_floor"]
    assert bound["seen_miou_floor"] == pytest.approx(0.9 * bound["seen_miou_raw"])
    assert bound["images"] == 2  # the proxy's held-out 20% of the 12 training images


def test_calibrate_refuses_a_split_that_is_the_reported_or_training_one(trained, capsys):
    config, checkpoint = trained
    for name in ("val", "train"):
        command = ["calibrate", str(config), "--checkpoint", str(checkpoint)]
        assert main([*command, "--set", f"calibration.labels=split:{name}"]) == 2
        assert "reported or the training split" in capsys.readouterr().err


def test_the_proxy_trains_without_pseudo_unseen_labels_or_held_out_images(trained):
    config = prepare_dataset(load_config(trained[0]), progress=False)
    data = build_data(config)
    proxy = proxy_data(data, config)
    pseudo = set(proxy.split.unseen) - set(data.split.unseen)
    assert len(pseudo) == 3 and pseudo <= set(data.split.seen)
    hidden = set(proxy.split.unseen)
    for index in range(len(proxy.train)):
        assert not hidden & set(proxy.train.load_label(index).ravel().tolist())
    assert len(proxy.train) + len(proxy.val) == len(data.train)
    assert not set(proxy.train.reader.indices) & set(proxy.val.indices)
    held_labels = {v for i in range(len(proxy.val)) for v in proxy.val.load_label(i).ravel()}
    assert held_labels & pseudo and not held_labels & set(data.split.unseen)


def test_calibrate_keeps_the_feature_cache_and_never_runs_the_backbone(tmp_path, monkeypatch):
    """A model trained on cached features calibrates on them: proxy training and the sweep read
    the cache (every training and val image is cached already), never E on images."""
    from cagnet.models.backbones.small_cnn import SmallCNN

    monkeypatch.chdir(tmp_path)
    overrides = small_overrides(tmp_path, iterations=4) + [
        "model.method=spnet",
        "device=cpu",
        "augment.crop_size=48",
        "augment.scale_range=[1.0,1.0]",
        "model.backbone.freeze=true",
        "feature_cache.enabled=true",
        f"feature_cache.folder={tmp_path / 'cache'}",
    ]
    config = tmp_path / "spnet.yaml"
    config.write_text(yaml.safe_dump(parse_overrides(overrides)))
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), "--quiet"]) == 0
    checkpoint = tmp_path / "run" / "checkpoint.pt"

    def no_images(self, images):
        raise AssertionError("calibrate ran the backbone on images despite the feature cache")

    monkeypatch.setattr(SmallCNN, "forward", no_images)
    command = ["calibrate", str(config), "--checkpoint", str(checkpoint), "--quiet"]
    for labels in ("val", "pseudo_unseen"):
        output = tmp_path / labels / "calibration.json"
        overrides = ["--set", f"calibration.labels={labels}", "--output", str(output)]
        assert main([*command, *overrides]) == 0
        payload = json.loads(output.read_text())
        assert payload["labels"] == labels and payload["images"] > 0
