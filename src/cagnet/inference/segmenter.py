"""``Segmenter``: segment any image with any class names (the Python API behind ``predict``)."""

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import nn

from cagnet.atomic import atomic_torch_save
from cagnet.data.image_io import read_rgb, to_rgb
from cagnet.errors import DataError
from cagnet.inference.adapt import (
    AdaptSettings,
    adapted_model,
    clean_names,
    known_rows,
    requested_embeddings,
)
from cagnet.inference.export import build_model
from cagnet.inference.model_file import ModelFile, ModelFileError, load_model_file

SHIPPED_MODELS = ("camvid-streets", "camvid-streets-fast")
ImageInput = str | Path | Image.Image | np.ndarray


def shipped_model_path(name: str) -> Path:
    """The file of a model that ships inside the package (``cagnet/models_zoo/NAME.cagnet.pt``)."""
    return Path(str(resources.files("cagnet") / "models_zoo" / f"{name}.cagnet.pt"))


def default_cache_dir() -> Path:
    """``$CAGNET_CACHE`` or ``~/.cache/cagnet``: where adapted classifiers are kept."""
    return Path(os.environ.get("CAGNET_CACHE") or Path.home() / ".cache" / "cagnet")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Prediction:
    """One image's result.

    Attributes:
        labels: (H, W) int64, an index into ``class_names`` per pixel.
        scores: (C, H, W) float32 softmax probabilities at the image's resolution.
        class_names: the C classes, in the order of ``scores``.
    """

    labels: np.ndarray
    scores: np.ndarray
    class_names: list[str]


class SegmentationNetwork(nn.Module):
    """Images in [0, 1] RGB -> class logits at the input resolution; traceable for ONNX.

    Args:
        model: a method's model (``segment``: normalised images -> (B, C, h, w) logits).
        mean, std: the input normalisation, 3 values each.
    """

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float32 in [0, 1] -> (B, C, H, W) float32 logits (before softmax)."""
        logits = self.model.segment((images - self.mean) / self.std)
        return F.interpolate(
            logits.float(), size=images.shape[-2:], mode="bilinear", align_corners=False
        )


def image_array(image: ImageInput) -> np.ndarray:
    """A path, PIL image or array as (H, W, 3) uint8 RGB (EXIF orientation applied).

    Raises:
        DataError: naming the file or the array's shape and dtype when it is not an image.
    """
    if isinstance(image, str | Path):
        return np.asarray(read_rgb(Path(image)))
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(ImageOps.exif_transpose(image), "the given PIL image"))
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise DataError(
            f"an image array must be (H, W, 3) uint8 RGB, got {array.shape} {array.dtype}"
        )
    return array


class Segmenter:
    """A trained model ready to segment images with its own or any other class names.

    Build it with ``Segmenter.load``. Adapted classifiers are kept in memory and, per name
    set, in ``cache_dir`` (see ``default_cache_dir``).
    """

    def __init__(
        self,
        model: nn.Module,
        model_file: ModelFile,
        device: torch.device,
        cache_dir: Path,
        identity: str,
        settings: AdaptSettings | None = None,
    ):
        self.model = model.to(device).eval()
        self.model_file = model_file
        self.config = model_file.config
        self.device = device
        self.cache_dir = Path(cache_dir)
        self.identity = identity
        self.settings = settings or AdaptSettings()
        self._adapted: dict[tuple[str, ...], nn.Module] = {}

    @classmethod
    def load(
        cls, model: str | Path, device: str = "cpu", cache_dir: Path | None = None
    ) -> "Segmenter":
        """Load a model file, or a shipped model by name (``SHIPPED_MODELS``).

        Raises:
            ModelFileError: when the file is missing, unsafe, damaged or of a newer format.
        """
        path = shipped_model_path(str(model)) if str(model) in SHIPPED_MODELS else Path(model)
        if str(model) in SHIPPED_MODELS and not path.is_file():
            raise ModelFileError(f"the shipped model {model!r} is missing from {path.parent}")
        model_file = load_model_file(path)
        network = build_model(model_file)
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        return cls(network, model_file, torch.device(device), cache, file_digest(path))

    @property
    def class_names(self) -> list[str]:
        """The model's own classes, in order."""
        return list(self.model_file.meta["class_names"])

    @property
    def seen(self) -> list[bool]:
        """Whether each of the model's own classes was seen (labelled) in training."""
        return list(self.model_file.meta["seen"])

    @property
    def method(self) -> str:
        """ "cagnet", "spnet" or "zs3net"."""
        return str(self.model_file.meta["method"])

    def _names(self, classes: Sequence[str] | None) -> tuple[str, ...]:
        return tuple(self.class_names if classes is None else clean_names(classes))

    def seen_mask(self, classes: Sequence[str] | None = None) -> list[bool]:
        """Per requested class: True when it is one of the model's seen classes."""
        names = self._names(classes)
        return [i is not None and self.seen[i] for i in known_rows(self.class_names, names)]

    def _cache_path(self, names: tuple[str, ...]) -> Path:
        key = json.dumps([self.identity, list(names), self.settings.__dict__])
        return self.cache_dir / "adapted" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.pt"

    def adapt(self, classes: Sequence[str]) -> None:
        """Make (or read from the cache) the classifier for ``classes``.

        Raises:
            ClassNameError: for an empty list, duplicates or a name that cannot be embedded.
        """
        names = self._names(classes)
        if names in self._adapted:
            return
        if names == tuple(self.class_names):
            self._adapted[names] = self.model
            return
        known = known_rows(self.class_names, names)
        cache_path = self._cache_path(names)
        head_state, embeddings = None, None
        if any(i is None for i in known) and cache_path.is_file():
            try:
                cached = torch.load(cache_path, map_location="cpu", weights_only=True)
                head_state, embeddings = cached["head"], cached["embeddings"]
            except Exception:  # a damaged cache entry is rebuilt, never trusted
                head_state, embeddings = None, None
        if embeddings is None:
            own = self.model.class_embeddings
            embeddings = requested_embeddings(own, self.config, names, known)
        model, state = adapted_model(
            self.model,
            self.config,
            embeddings,
            self.seen_mask(names),
            known,
            self.settings,
            head_state,
        )
        if head_state is None and any(i is None for i in known):
            self._write_cache(cache_path, {"head": state, "embeddings": embeddings})
        self._adapted[names] = model.eval()

    @staticmethod
    def _write_cache(path: Path, payload: dict) -> None:
        try:
            atomic_torch_save(payload, path)
        except OSError:  # a read-only cache folder only costs the retraining next time
            pass

    def network(self, classes: Sequence[str] | None = None) -> nn.Module:
        """A plain module: (B, 3, H, W) float32 RGB in [0, 1] (not normalised) -> (B, C, H, W)
        float32 logits at the input resolution, C = len(classes) (default the model's own)."""
        names = self._names(classes)
        self.adapt(names)
        norm = self.model_file.meta["input_normalisation"]
        return SegmentationNetwork(self._adapted[names], norm["mean"], norm["std"]).eval()

    def gamma(self, calibrate: float | str | None) -> float:
        """The calibration: None = 0, "saved" = the model's own gamma, a number = itself."""
        if calibrate is None:
            return 0.0
        if calibrate == "saved":
            return float(self.model_file.meta.get("calibration_gamma", 0.0))
        return float(calibrate)

    @torch.no_grad()
    def predict_batch(
        self,
        images: Sequence[ImageInput],
        classes: Sequence[str] | None = None,
        calibrate: float | str | None = None,
        batch_size: int = 8,
    ) -> list[Prediction]:
        """Segment several images; images of one size are run ``batch_size`` at a time.

        Args:
            images: paths, PIL images or (H, W, 3) uint8 arrays.
            classes: the class names to segment; None = the model's own.
            calibrate: gamma subtracted from the scores of the model's seen classes before
                the softmax; "saved" = the gamma the model was saved with.

        Returns:
            One ``Prediction`` per image, in order.
        """
        names = self._names(classes)
        network = self.network(names)
        gamma = self.gamma(calibrate)
        offset = gamma * torch.tensor(self.seen_mask(names), dtype=torch.float32)
        offset = offset.to(self.device).view(1, -1, 1, 1)
        arrays = [image_array(image) for image in images]
        results: list[Prediction | None] = [None] * len(arrays)
        groups: dict[tuple[int, int], list[int]] = {}
        for index, array in enumerate(arrays):
            groups.setdefault(array.shape[:2], []).append(index)
        for indices in groups.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                batch = torch.from_numpy(np.stack([arrays[i] for i in chunk]))
                batch = batch.to(self.device).permute(0, 3, 1, 2).float() / 255.0
                scores = torch.softmax(network(batch) - offset, dim=1)
                labels = scores.argmax(dim=1).cpu().numpy().astype(np.int64)
                scores = scores.cpu().numpy().astype(np.float32)
                for k, i in enumerate(chunk):
                    results[i] = Prediction(labels[k], scores[k], list(names))
        return results

    def predict(
        self,
        image: ImageInput,
        classes: Sequence[str] | None = None,
        calibrate: float | str | None = None,
    ) -> Prediction:
        """Segment one image (see ``predict_batch``)."""
        return self.predict_batch([image], classes, calibrate)[0]
