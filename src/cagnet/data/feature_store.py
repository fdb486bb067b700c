"""The feature store: a frozen backbone's outputs on disk, content-addressed.

With the backbone E frozen, its output F for an image never changes, so a comparison of many
methods and seeds need not run E again and again. The cache is content-addressed: one folder
per backbone, one float16 ``.npy`` file per image named by a hash of its pixels (plus the F of
the mirrored image when it is cached), so every split, subset or relabelled view of the same
images shares the files::

    <folder>/<backbone>-<key digest>/key.json                      the manifest: what F depends on
    <folder>/<backbone>-<key digest>/<pixel digest>.npy            F, (C, h, w) float16
    <folder>/<backbone>-<key digest>/<pixel digest>-flipped.npy    F of the mirrored image
    <folder>/image_digests.json      "path|size|mtime_ns" -> pixel digest (saves decoding)

The key digest hashes the cache format version, the backbone config, the backbone's class and a
hash of its weights, and the preprocessing (whole image, ImageNet normalisation, float16). A
changed image has another pixel digest, a changed backbone another folder. A ``key.json`` that
disagrees with its folder's key (stale), or a feature file that cannot be read in full
(corrupt), is a ``FeatureCacheError`` naming what to delete. Files are written atomically, so
an interrupted build resumes where it stopped.

This module holds the files, their keys and their building (``build_store``); what reads them
for training and evaluation, and switches a model onto them, is ``cagnet.data.feature_cache``.
"""

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from cagnet.atomic import atomic_save_npy, atomic_write_text
from cagnet.config_io import to_dict
from cagnet.data.readers import FilePairReader, FilterUnseenImages, RemappedReader
from cagnet.data.sample import Sample
from cagnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD, to_tensors
from cagnet.errors import DataError
from cagnet.models.backbones import BackboneConfig

CACHE_VERSION = 1
KEY_NAME = "key.json"
DIGESTS_NAME = "image_digests.json"
PLAIN, FLIPPED = "plain", "flipped"
VARIANTS = (PLAIN, FLIPPED)
_FILE_SUFFIX = {PLAIN: "", FLIPPED: "-flipped"}


class FeatureCacheError(DataError):
    """A feature cache on disk is stale (built for another backbone) or corrupt."""


def _delete_hint(folder: Path) -> str:
    return (
        f"delete {folder} (or run `cagnet cache CONFIG --rebuild`); it is rebuilt on the next run"
    )


# ----------------------------------------------------------------------------- keys


def pixel_digest(image: np.ndarray) -> str:
    """128-bit hex digest of an (H, W, 3) uint8 image's shape and pixels."""
    image = np.ascontiguousarray(image)
    digest = hashlib.sha256(f"{image.shape}|{image.dtype};".encode())
    digest.update(image)
    return digest.hexdigest()[:32]


def _image_files(reader) -> list[Path] | None:
    """The image file of every item, for readers over files (None for any other reader)."""
    if isinstance(reader, FilePairReader):
        return [pair.image for pair in reader.pairs]
    if isinstance(reader, RemappedReader):  # relabels, same images
        return _image_files(reader.reader)
    if isinstance(reader, FilterUnseenImages):
        files = _image_files(reader.reader)
        return None if files is None else [files[i] for i in reader.kept]
    return None


def image_digests(reader: Sequence[Sample], root: Path, progress: bool = False) -> list[str]:
    """The pixel digest of every item of ``reader``.

    For readers over files (also seen through ``RemappedReader``/``FilterUnseenImages``) the
    digests are remembered in ``root/image_digests.json`` under "path|size|mtime_ns", so a later
    run decodes nothing; other readers (subsets, pseudo-labelled views...) decode every image.
    """
    files = _image_files(reader)
    if files is None:
        items = tqdm(range(len(reader)), desc="hash images", disable=not progress, leave=False)
        return [pixel_digest(reader[index].image) for index in items]
    memo_path = Path(root) / DIGESTS_NAME
    try:
        memo = json.loads(memo_path.read_text()) if memo_path.is_file() else {}
    except (OSError, ValueError):
        memo = {}  # derived data only: rebuild it
    digests, added = [], False
    for index, path in enumerate(files):
        try:
            stat = Path(path).stat()
        except FileNotFoundError:
            raise DataError(f"image file {path} does not exist; restore it or remove it") from None
        identity = f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        if identity not in memo:
            memo[identity], added = pixel_digest(reader[index].image), True
        digests.append(memo[identity])
    if added:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(memo_path, json.dumps(memo))
    return digests


def weights_digest(module: nn.Module) -> str:
    """SHA-256 of every tensor of ``module``'s state dict (names, dtypes, shapes and values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        data = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{data.dtype}|{tuple(tensor.shape)};".encode())
        digest.update(data.view(torch.uint8).numpy())
    return digest.hexdigest()


def backbone_key(backbone: nn.Module, config: BackboneConfig) -> dict:
    """Everything a cached F depends on besides the image, as JSON-ready values."""
    key = {
        "version": CACHE_VERSION,
        "backbone": {
            "class": f"{type(backbone).__module__}.{type(backbone).__qualname__}",
            "config": to_dict(config),
            "weights": weights_digest(backbone),
        },
        "preprocessing": {
            "input": "whole image, ImageNet mean/std",
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "dtype": "float16",
        },
    }
    return json.loads(json.dumps(key))  # tuples -> lists, as key.json reads back


def store_folder(root: Path, key: dict) -> Path:
    """``root/<backbone name>-<first 16 hex digits of the key's hash>``."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    name = str(key["backbone"]["config"].get("name", "backbone"))
    return Path(root) / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}-{digest}"


def check_key_file(folder: Path, key: dict) -> None:
    """Write ``folder/key.json`` if missing, else check that it holds ``key``.

    Raises:
        FeatureCacheError: when key.json is unreadable (corrupt) or holds another key (stale).
    """
    path = Path(folder) / KEY_NAME
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(key, indent=1))
        return
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise FeatureCacheError(
            f"the feature cache {folder} is corrupt: unreadable {KEY_NAME} ({error}); "
            + _delete_hint(folder)
        ) from error
    if stored != key:
        names = set(key) | set(stored) if isinstance(stored, dict) else set(key)
        differs = sorted(
            n for n in names if not isinstance(stored, dict) or stored.get(n) != key[n]
        )
        raise FeatureCacheError(
            f"the feature cache {folder} is stale: its {KEY_NAME} was written for another "
            f"backbone or preprocessing (differs in: {', '.join(differs)}); " + _delete_hint(folder)
        )


# ----------------------------------------------------------------------------- the store


@dataclasses.dataclass(frozen=True)
class FeatureStore:
    """The cached F of one split's images.

    Attributes:
        folder: the backbone's cache folder.
        digests: the pixel digest of every item.
        shapes: (C, h, w) of F for every item.
        variants: ``plain`` (F of the image) and, if cached, ``flipped`` (F of its mirror).
    """

    folder: Path
    digests: tuple[str, ...]
    shapes: tuple[tuple[int, int, int], ...]
    variants: tuple[str, ...]

    def path(self, index: int, variant: str = PLAIN) -> Path:
        return self.folder / f"{self.digests[index]}{_FILE_SUFFIX[variant]}.npy"

    def load(self, index: int, variant: str = PLAIN) -> np.ndarray:
        """F of item ``index``: (C, h, w) float16, memory-mapped (read lazily).

        Raises:
            FeatureCacheError: when the file is unreadable or holds another shape or dtype.
        """
        path = self.path(index, variant)
        array = _open_features(path)
        if array.shape != self.shapes[index]:
            raise FeatureCacheError(
                f"feature file {path} holds {array.shape}, the cache was opened with "
                f"{self.shapes[index]}: it changed while in use; " + _delete_hint(self.folder)
            )
        return array

    def paths(self) -> set[Path]:
        """The feature files this split uses."""
        return {self.path(i, v) for v in self.variants for i in range(len(self.digests))}

    def size_bytes(self) -> int:
        """Bytes of the files this split uses."""
        return sum(path.stat().st_size for path in self.paths())

    def __len__(self) -> int:
        return len(self.shapes)


def _open_features(path: Path) -> np.ndarray:
    """A feature file, memory-mapped; FeatureCacheError when it is not a whole (C, h, w)
    float16 array (e.g. truncated)."""
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as error:
        raise FeatureCacheError(
            f"feature file {path} is corrupt ({error}); " + _delete_hint(path.parent)
        ) from error
    if array.dtype != np.float16 or array.ndim != 3:
        raise FeatureCacheError(
            f"feature file {path} holds {array.dtype} {array.shape}, not a (C, h, w) float16 "
            "map; " + _delete_hint(path.parent)
        )
    return array


@torch.no_grad()
def _compute_missing(reader, backbone: nn.Module, store: FeatureStore, device, progress) -> None:
    """Write the feature files of ``store`` that do not exist yet."""
    todo = [
        i for i in range(len(reader)) if not all(store.path(i, v).is_file() for v in store.variants)
    ]
    # No bar when the cache is complete: "cache ... 0it" on every run said nothing.
    for index in tqdm(todo, desc=f"cache {reader.name}", disable=not progress or not todo):
        image, _ = to_tensors(reader[index])
        for variant in store.variants:
            path = store.path(index, variant)
            if path.is_file():
                continue
            batch = (image.flip(-1) if variant == FLIPPED else image)[None].to(device)
            features = backbone(batch)[0].float().cpu().numpy().astype(np.float16)
            if not np.isfinite(features).all():
                raise FeatureCacheError(
                    f"the backbone's features of item {index} of {reader.name} overflow float16 "
                    "(or are not finite), so they cannot be cached; set feature_cache.enabled=false"
                )
            atomic_save_npy(path, features)


def build_store(
    reader: Sequence[Sample],
    backbone: nn.Module,
    backbone_config: BackboneConfig,
    root: Path,
    variants: Sequence[str] = (PLAIN,),
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> FeatureStore:
    """Open the cached F of ``reader``'s images under ``root``, computing what is missing.

    Args:
        reader: the split; images are decoded only when not cached (or not hashed) yet.
        backbone: the frozen E, on ``device``, in eval mode.
        backbone_config: its config (part of the key).
        root: the folder of all caches (``feature_cache.folder``); nothing is written elsewhere.
        variants: ``plain`` and optionally ``flipped`` (F of the mirrored image).

    Returns:
        The store of ``reader``'s items.

    Raises:
        FeatureCacheError: a stale or corrupt cache is in the way, or F overflows float16.
    """
    key = backbone_key(backbone, backbone_config)
    folder = store_folder(root, key)
    check_key_file(folder, key)
    digests = tuple(image_digests(reader, root, progress))
    wanted = tuple(v for v in VARIANTS if v in variants)
    pending = FeatureStore(folder, digests, (), wanted)
    _compute_missing(reader, backbone, pending, device, progress)
    shapes = []
    for index in range(len(reader)):
        found = {tuple(_open_features(pending.path(index, v)).shape) for v in wanted}
        if len(found) != 1:
            raise FeatureCacheError(
                f"the feature files of {pending.path(index)} disagree in shape ({found}); "
                + _delete_hint(folder)
            )
        shapes.append(found.pop())
    return dataclasses.replace(pending, shapes=tuple(shapes))
