"""Frozen-backbone mode: E's outputs computed once per image and reused by every run.

With the backbone E frozen, its output F for an image never changes, so a comparison of many
methods and seeds need not run E again and again. ``cagnet.data.feature_store`` keeps F on
disk (content-addressed files, their keys, stale and corrupt caches); this module reads it for
training and evaluation (``CachedReader``, ``feature_training_loader``) and switches a run onto
it (``use_feature_cache``: the config checks, the cache folder, and E replaced by a
``PrecomputedBackbone``).

Training samples are crops in feature space: ``n = ceil(crop_size / stride)`` feature pixels at
a random offset (t, l), with the label window of ``n * stride`` pixels at ``(t * stride,
l * stride)``, so a crop's feature pixel (i, j) lines up with label pixel
``((t + i) * stride, (l + j) * stride)`` exactly as when E runs on the image crop at that offset
and the step downsamples the labels. The random choices come from the sample's seed alone
(``StreamSampler``). Unlike the image path, E has seen the whole image (context beyond the
crop), offsets are multiples of the stride, and there is no scale augmentation.
"""

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from cagnet.config import AugmentConfig, Config
from cagnet.data.feature_store import FLIPPED, PLAIN, FeatureCacheError, FeatureStore, build_store
from cagnet.data.loader import StreamSampler, evaluation_loader
from cagnet.data.sample import IGNORE_INDEX, Sample
from cagnet.errors import ConfigError
from cagnet.models.backbones.precomputed import PrecomputedBackbone

DEFAULT_FOLDER = Path("data") / "feature_cache"
FLIP_MODES = ("images", "features")


# ----------------------------------------------------------------------------- reading


def _fit(array: np.ndarray, height: int, width: int, value: float) -> np.ndarray:
    """Cut or pad (with ``value``, bottom and right) the last two axes to (height, width)."""
    array = array[..., :height, :width]
    pad_h, pad_w = height - array.shape[-2], width - array.shape[-1]
    if pad_h or pad_w:
        padding = [(0, 0)] * (array.ndim - 2) + [(0, pad_h), (0, pad_w)]
        array = np.pad(array, padding, constant_values=value)
    return array


def crop_window(
    height: int, width: int, size: int, flip: bool, generator: torch.Generator
) -> tuple[int, int, bool]:
    """A random size x size window of a (height, width) feature map, and whether to mirror.

    Draws in the order of ``transforms.augment`` (scale, top, left, flip), so where both paths
    have one choice only (image = crop, no scaling) a seed gives the same decisions.

    Returns:
        (top, left, mirrored) in feature pixels; maps smaller than the window are padded.
    """
    torch.rand((), generator=generator)  # augment's scale draw; cached features are unscaled
    top = int(torch.randint(0, max(height, size) - size + 1, (), generator=generator))
    left = int(torch.randint(0, max(width, size) - size + 1, (), generator=generator))
    mirrored = flip and bool(torch.rand((), generator=generator) < 0.5)
    return top, left, mirrored


class CachedReader:
    """A reader whose items also have cached backbone features.

    Items (``Sample``), labels and class names come from ``reader``; ``features`` from ``store``.

    Args:
        reader: the split.
        store: its feature cache.
        stride: the backbone's output stride (feature pixel -> label pixels).
        flip_mode: "images" (mirrored features are cached) or "features" (cached maps are
            mirrored).
    """

    def __init__(self, reader, store: FeatureStore, stride: int, flip_mode: str = "images"):
        if len(store) != len(reader):
            raise FeatureCacheError(
                f"a feature store of {len(store)} items for {reader.name} of {len(reader)} "
                "items; build the store from this reader (build_store)"
            )
        self.reader, self.store, self.stride, self.flip_mode = reader, store, stride, flip_mode
        self.name = reader.name
        self.class_names = reader.class_names
        self.valid_classes = reader.valid_classes

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, index: int) -> Sample:
        return self.reader[index]

    def load_label(self, index: int) -> np.ndarray:
        """(H, W) int64 label of item ``index``."""
        return self.reader.load_label(index)

    def features(self, index: int) -> np.ndarray:
        """F of item ``index``, (C, h, w) float16 (memory-mapped)."""
        return self.store.load(index, PLAIN)

    def training_sample(
        self, index: int, size: int, flip: bool, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A random crop of F and the aligned label crop.

        Args:
            size: the crop in feature pixels.
            flip: mirror with probability 1/2 (needs the ``flipped`` variant in "images" mode).

        Returns:
            (C, size, size) float32 features and (size * stride, size * stride) int64 labels
            (padding: 0 features, IGNORE_INDEX labels).
        """
        _, height, width = self.store.shapes[index]
        top, left, mirrored = crop_window(height, width, size, flip, generator)
        full_h, full_w = height * self.stride, width * self.stride
        label = self.reader.load_label(index)
        if mirrored and self.flip_mode == "images":  # F of the mirrored image, grid from its left
            features = self.store.load(index, FLIPPED)
            label = _fit(label[:, ::-1], full_h, full_w, IGNORE_INDEX)
        else:
            features = self.store.load(index, PLAIN)
            label = _fit(label, full_h, full_w, IGNORE_INDEX)
            if mirrored:  # mirror the map and the (grid-padded) label together
                features, label = features[:, :, ::-1], label[:, ::-1]
        rows, columns = slice(top, top + size), slice(left, left + size)
        window = _fit(features[:, rows, columns], size, size, 0.0)
        s = self.stride
        label_window = label[top * s : (top + size) * s, left * s : (left + size) * s]
        label_window = _fit(label_window, size * s, size * s, IGNORE_INDEX)
        return (
            torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(label_window, dtype=np.int64)),
        )

    def evaluation_item(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (C, h, w) float32, label (H, W)) of item ``index``, for evaluation."""
        features = torch.from_numpy(np.asarray(self.features(index), dtype=np.float32))
        return features, torch.from_numpy(self.load_label(index))

    def evaluation_loader(
        self, indices: Sequence[int], batch_size: int, num_workers: int = 0
    ) -> DataLoader:
        """Batches of (features (B, C, h, w), labels (B, H, W), indices), padded, in order."""
        return evaluation_loader(self, indices, batch_size, num_workers, load=self.evaluation_item)

    def __repr__(self) -> str:
        return f"CachedReader({self.reader!r}, {self.store.folder})"


class _TrainingSet(Dataset):
    """(index, crop seed) keys -> (features, labels) crops; see ``CachedReader.training_sample``."""

    def __init__(self, reader: CachedReader, size: int, flip: bool):
        self.reader, self.size, self.flip = reader, size, flip

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, crop_seed = key
        generator = torch.Generator().manual_seed(crop_seed)
        return self.reader.training_sample(index, self.size, self.flip, generator)


def feature_training_loader(
    reader: CachedReader,
    augment_config: AugmentConfig,
    batch_size: int,
    seed: int,
    start: int,
    stop: int,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
) -> DataLoader:
    """``loader.training_loader`` on cached features: (B, C, n, n) crops of F and
    (B, n * stride, n * stride) labels, n = ceil(crop_size / stride), same sample order."""
    if not isinstance(reader, CachedReader):
        raise ConfigError(
            "feature_cache.enabled=true but the training split has no feature cache; build "
            "the data with cagnet.data.feature_cache.use_feature_cache"
        )
    size = math.ceil(augment_config.crop_size / reader.stride)
    sampler = StreamSampler(len(reader), batch_size, seed, start, stop, rank, world_size)
    return DataLoader(
        _TrainingSet(reader, size, augment_config.flip),
        batch_sampler=sampler,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),  # as training_loader: no global draw
    )


# ----------------------------------------------------------------------------- the switch


def check_feature_cache_config(config: Config, training: bool = True) -> None:
    """ConfigError when ``config`` cannot run on cached features, saying what to set."""
    cache = config.feature_cache
    if cache.flip not in FLIP_MODES:
        raise ConfigError(f"feature_cache.flip={cache.flip!r}; choose one of {list(FLIP_MODES)}")
    if not config.model.backbone.freeze:
        raise ConfigError(
            "feature_cache.enabled=true needs a frozen backbone (cached features of a trained "
            "one would go stale); set model.backbone.freeze=true or feature_cache.enabled=false"
        )
    evaluation = config.eval
    if getattr(evaluation, "warp_size", 0) or getattr(evaluation, "scales", ()):
        raise ConfigError(
            "feature_cache.enabled=true evaluates cached features of whole images, so test-time "
            "warping or rescaling (eval.warp_size, eval.scales) cannot apply; set them to 0 and []"
        )
    if getattr(evaluation, "flip", False):
        raise ConfigError(
            "feature_cache.enabled=true evaluates cached features, which cannot be mirrored at "
            "test time as images; set eval.flip=false"
        )
    if training and tuple(config.augment.scale_range) != (1.0, 1.0):
        raise ConfigError(
            f"feature_cache.enabled=true caches unscaled images, but augment.scale_range="
            f"{list(config.augment.scale_range)}; set augment.scale_range=[1.0,1.0]"
        )


def cache_root(config: Config) -> Path:
    """``feature_cache.folder``, or ``data/feature_cache`` under the working folder."""
    return Path(config.feature_cache.folder) if config.feature_cache.folder else DEFAULT_FOLDER


def training_variants(config: Config) -> tuple[str, ...]:
    """The variants the training split needs: ``flipped`` too when mirrored images are cached."""
    mirrored = config.augment.flip and config.feature_cache.flip == "images"
    return (PLAIN, FLIPPED) if mirrored else (PLAIN,)


def frozen_backbone(model: nn.Module, config: Config) -> nn.Module:
    """E of ``model`` (at ``model.encoder.backbone``) that computes F, checked to be frozen; for
    a model already on cached features, the backbone its ``PrecomputedBackbone`` stands in for."""
    backbone = getattr(getattr(model, "encoder", None), "backbone", None)
    if backbone is None:
        raise ConfigError(
            f"model.method={config.model.method!r} keeps no backbone at model.encoder.backbone, "
            "so the feature cache cannot replace it; set feature_cache.enabled=false"
        )
    if isinstance(backbone, PrecomputedBackbone):
        backbone = backbone.source
    if any(parameter.requires_grad for parameter in backbone.parameters()):
        raise ConfigError(
            f"the {config.model.backbone.name} backbone has trainable parameters, so its "
            "outputs cannot be cached; set model.backbone.freeze=true"
        )
    return backbone


def cache_reader(
    model: nn.Module,
    reader: Sequence[Sample],
    config: Config,
    device: torch.device | str = "cpu",
    progress: bool = True,
    variants: Sequence[str] = (PLAIN,),
) -> CachedReader:
    """``reader`` with the cached F of ``model``'s frozen backbone (computed where missing).

    Works before and after ``use_feature_cache`` replaced the backbone, e.g. for a subset of the
    training images that a post-processing step evaluates.
    """
    check_feature_cache_config(config, training=False)
    backbone = frozen_backbone(model, config).to(device).eval()
    root = cache_root(config)
    store = build_store(reader, backbone, config.model.backbone, root, variants, device, progress)
    return CachedReader(reader, store, backbone.output_stride, config.feature_cache.flip)


def use_feature_cache(
    model: nn.Module,
    data,
    config: Config,
    device: torch.device | str = "cpu",
    progress: bool = True,
    training: bool = True,
):
    """Replace E of ``model`` by its cached outputs and give ``data`` readers that carry them.

    Missing features are computed first with ``model``'s own backbone (so its weights, whatever
    the seed, are what the cache holds). Afterwards ``model.encoder.backbone`` is a
    ``PrecomputedBackbone`` that keeps E's weights, and ``model.segment`` takes features.

    Args:
        model: a method's model with a frozen backbone at ``model.encoder.backbone``.
        data: a ``cagnet.build.Data``.
        training: also cache the training split (with its mirrored variant if needed);
            False for evaluation only.

    Returns:
        ``data`` with ``CachedReader``s (``train`` only when ``training``).

    Raises:
        ConfigError: when the config or the model cannot use the cache.
        FeatureCacheError: on a stale or corrupt cache.
    """
    check_feature_cache_config(config, training)
    splits = {}
    if training:
        variants = training_variants(config)
        splits["train"] = cache_reader(model, data.train, config, device, progress, variants)
    splits["val"] = cache_reader(model, data.val, config, device, progress)
    if not isinstance(model.encoder.backbone, PrecomputedBackbone):
        model.encoder.backbone = PrecomputedBackbone(model.encoder.backbone)
    return dataclasses.replace(data, **splits)
