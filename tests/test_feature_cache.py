"""The feature cache: aligned crops, the training stream, the precomputed backbone, config
checks, and a training run on cached features that matches one on images."""

import csv

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import KEY_CONFIG, STRIDE, PatchBackbone, Subset, small_overrides, write_folder
from torch import nn

from cagnet.cli import main
from cagnet.config import load_config
from cagnet.data import feature_cache
from cagnet.data.feature_cache import CachedReader, crop_window, feature_training_loader
from cagnet.data.feature_store import FLIPPED, PLAIN, build_store
from cagnet.data.sample import IGNORE_INDEX
from cagnet.data.transforms import to_tensors
from cagnet.errors import ConfigError
from cagnet.models.backbones.precomputed import PrecomputedBackbone
from cagnet.training.loop import load_trained_model, train


def files_under(path):
    return {p for p in path.rglob("*") if p.is_file()}


@pytest.mark.parametrize("flip_mode", ["images", "features"])
def test_feature_crops_are_aligned_with_label_crops(tmp_path, flip_mode):
    reader = write_folder(tmp_path / "data")
    backbone = PatchBackbone()
    store = build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache", (PLAIN, FLIPPED))
    cached = CachedReader(reader, store, STRIDE, flip_mode)
    size, seen_mirrored = 4, set()
    for index in range(len(reader)):
        image, label = to_tensors(reader[index])
        height, width = label.shape
        grid_h, grid_w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
        for seed in range(8):
            features, labels = cached.training_sample(
                index, size, True, torch.Generator().manual_seed(seed)
            )
            _, rows, columns = store.shapes[index]
            top, left, mirrored = crop_window(
                rows, columns, size, True, torch.Generator().manual_seed(seed)
            )
            seen_mirrored.add(mirrored)
            # Reference: E on the image crop at (top * stride, left * stride), same mirroring.
            padded_image = F.pad(image, (0, grid_w - width, 0, grid_h - height))
            padded_label = F.pad(label, (0, grid_w - width, 0, grid_h - height), value=255)
            if mirrored and flip_mode == "images":
                padded_image = F.pad(image.flip(-1), (0, grid_w - width, 0, grid_h - height))
                padded_label = F.pad(
                    label.flip(-1), (0, grid_w - width, 0, grid_h - height), value=255
                )
            elif mirrored:
                padded_label = padded_label.flip(-1)
            window = (
                slice(top * STRIDE, (top + size) * STRIDE),
                slice(left * STRIDE, (left + size) * STRIDE),
            )
            with torch.no_grad():
                expected = backbone(padded_image[None, :, window[0], window[1]])[0]
            if mirrored and flip_mode == "features":
                with torch.no_grad():
                    full = backbone(padded_image[None])[0].flip(-1)
                expected = full[:, top : top + size, left : left + size]
            assert features.shape == (5, size, size) and labels.shape == (8, 8)
            torch.testing.assert_close(features, expected, atol=2e-3, rtol=2e-3)
            assert torch.equal(labels, padded_label[window])
    assert seen_mirrored == {True, False}


def test_small_maps_are_padded_with_zero_features_and_ignored_labels(tmp_path):
    reader = write_folder(tmp_path / "data", sizes=((6, 8),))
    store = build_store(reader, PatchBackbone(), KEY_CONFIG, tmp_path / "cache")
    features, labels = CachedReader(reader, store, STRIDE).training_sample(
        0, 5, False, torch.Generator().manual_seed(0)
    )
    assert features.shape == (5, 5, 5) and labels.shape == (10, 10)
    assert torch.all(features[:, 3:] == 0) and torch.all(labels[6:] == IGNORE_INDEX)


def test_the_training_stream_depends_on_the_position_only(tmp_path):
    reader = write_folder(tmp_path / "data")
    store = build_store(reader, PatchBackbone(), KEY_CONFIG, tmp_path / "cache", (PLAIN, FLIPPED))
    cached = CachedReader(reader, store, STRIDE)
    augment = load_config(None, ["augment.crop_size=7", "augment.scale_range=[1,1]"]).augment
    whole = list(feature_training_loader(cached, augment, 2, seed=3, start=0, stop=4))
    resumed = list(feature_training_loader(cached, augment, 2, seed=3, start=2, stop=4))
    assert whole[0][0].shape == (2, 5, 4, 4) and whole[0][1].shape == (2, 8, 8)
    for (a, b), (c, d) in zip(whole[2:], resumed, strict=True):
        assert torch.equal(a, c) and torch.equal(b, d)


def test_precomputed_backbone_is_the_identity_with_the_sources_state_dict():
    source = PatchBackbone()
    precomputed = PrecomputedBackbone(source)
    assert precomputed.state_dict().keys() == source.state_dict().keys()
    assert (precomputed.out_channels, precomputed.output_stride) == (5, STRIDE)
    features = torch.randn(2, 5, 3, 4)
    assert precomputed(features) is features
    assert not precomputed.train().training
    with pytest.raises(ConfigError, match="feeds images"):
        precomputed(torch.randn(2, 3, 6, 8))


def test_cache_reader_works_after_the_backbone_was_replaced(tmp_path):
    reader = write_folder(tmp_path / "data", sizes=((14, 18), (15, 17), (10, 12), (12, 12)))
    first = Subset(reader, [0, 1])
    model = nn.Module()
    model.encoder = nn.Module()
    model.encoder.backbone = PatchBackbone()
    config = load_config(None, ["model.backbone.freeze=true", f"feature_cache.folder={tmp_path}"])
    feature_cache.cache_reader(model, first, config, progress=False)
    source = model.encoder.backbone
    model.encoder.backbone = PrecomputedBackbone(source)
    source.calls = 0
    later = feature_cache.cache_reader(model, Subset(reader, [1, 3]), config, progress=False)
    assert source.calls == 1  # item 3 is new; item 1 was cached through the other view
    assert later.features(1).shape == (5, 6, 6)


def _cache_overrides(tmp_path, iterations=4):
    """The smoke config, with a frozen small CNN, whole-image crops and no scaling: the data
    stream of the image path and of the cache path is then the same."""
    return small_overrides(tmp_path, iterations) + [
        "augment.crop_size=48",
        "augment.scale_range=[1.0,1.0]",
        "model.backbone.freeze=true",
        f"feature_cache.folder={tmp_path / 'cache'}",
    ]


def test_config_problems_are_config_errors(tmp_path):
    model_overrides = _cache_overrides(tmp_path) + ["feature_cache.enabled=true"]
    for extra, message in [
        (["model.backbone.freeze=false"], "model.backbone.freeze=true"),
        (["augment.scale_range=[0.5,1.5]"], "augment.scale_range"),
        (["feature_cache.flip=sideways"], "feature_cache.flip"),
    ]:
        config = load_config(None, model_overrides + extra)
        with pytest.raises(ConfigError, match=message):
            feature_cache.check_feature_cache_config(config)


def _losses(run_dir):
    with (run_dir / "losses.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_training_on_cached_features_matches_training_on_images(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    overrides = _cache_overrides(tmp_path)
    images = train(load_config(None, overrides), run_dir=tmp_path / "images", progress=False)
    before = files_under(tmp_path)
    config = load_config(None, overrides + ["feature_cache.enabled=true"])
    cached = train(config, run_dir=tmp_path / "cached", progress=False)
    new_files = files_under(tmp_path) - before
    assert all(
        p.is_relative_to(tmp_path / "cache") or p.is_relative_to(tmp_path / "cached")
        for p in new_files
    ), sorted(new_files)
    assert any(p.name == "key.json" for p in new_files)
    cache_files = files_under(tmp_path / "cache")
    assert list((cached.run_dir / "overlays").glob("*.png"))

    first, second = _losses(images.run_dir), _losses(cached.run_dir)
    assert [r["phase"] for r in first] == [r["phase"] for r in second]
    for a, b in zip(first, second, strict=True):
        for key in ("loss_cls", "loss_rec", "loss_kl", "ft_loss_cls"):
            if a.get(key):
                assert float(b[key]) == pytest.approx(float(a[key]), rel=2e-3, abs=1e-4), key
    assert cached.metrics["hiou"] == pytest.approx(images.metrics["hiou"], abs=0.02)

    # The cache-mode checkpoint holds E's weights: it segments images without the cache.
    plain = load_config(None, overrides)
    model, _, _ = load_trained_model(plain, cached.run_dir / "checkpoint.pt", torch.device("cpu"))
    assert not isinstance(model.encoder.backbone, PrecomputedBackbone)
    cached_model, data, _ = load_trained_model(
        config, cached.run_dir / "checkpoint.pt", torch.device("cpu")
    )
    assert isinstance(data.val, CachedReader)
    assert files_under(tmp_path / "cache") == cache_files  # the val features of training, reused
    features = torch.from_numpy(np.asarray(data.val.features(0), dtype=np.float32))[None]
    image = to_tensors(data.val[0])[0][None]
    with torch.no_grad():
        torch.testing.assert_close(
            cached_model.segment(features), model.segment(image), atol=1e-2, rtol=1e-2
        )


def test_cache_command_builds_once_and_reports_size(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    overrides = [f"--set={item}" for item in _cache_overrides(tmp_path)]
    assert main(["cache", "configs/none.yaml", *overrides]) == 2  # missing file: an error
    config_file = tmp_path / "cache.yaml"
    config_file.write_text("feature_cache:\n  enabled: true\n")
    assert main(["cache", str(config_file), "--quiet", *overrides]) == 0
    output = capsys.readouterr().out
    assert "train: 12 images, plain+flipped" in output and "val: 4 images, plain" in output
    assert "feature cache ready in" in output
    files = files_under(tmp_path / "cache")
    assert len(files) == 2 + 12 * 2 + 4  # key.json, image_digests.json, features
    # A corrupt cache is an error that --rebuild clears.
    feature_file = sorted(p for p in files if p.suffix == ".npy")[0]
    feature_file.write_bytes(feature_file.read_bytes()[:-10])
    assert main(["cache", str(config_file), "--quiet", *overrides]) == 2
    assert "is corrupt" in capsys.readouterr().err
    assert main(["cache", str(config_file), "--quiet", "--rebuild", *overrides]) == 0
    assert "deleting" in capsys.readouterr().out
    assert files_under(tmp_path / "cache") == files
