"""Checkpoints: model, every optimiser, RNG states, iteration and config, written atomically.

Learning rates are a pure function of the iteration (``cagnet.training.schedule``), so the
iteration restores the schedulers; there is no scheduler object to save.

Files: every save writes ``checkpoint-<iteration>.pt`` and points ``checkpoint.pt`` (the name
users and the other commands open) at it, a hard link where the file system has them, a copy
elsewhere. The ``keep`` newest numbered files stay, older ones are deleted, so a bad checkpoint
never replaces the only good one; resuming takes the newest one that loads and holds finite
weights (``load_newest_good``).

Safety: the payload holds only tensors and plain containers (the config as a dict, RNG states
as tensors and lists), and every checkpoint is read with ``torch.load(weights_only=True)``, so
opening a checkpoint someone sent cannot run code.
"""

import os
import pickle
import random
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cagnet.atomic import atomic_torch_save
from cagnet.errors import CheckpointError, NonFiniteError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1
    from numpy.core.multiarray import _reconstruct

CHECKPOINT_NAME = "checkpoint.pt"
# Checkpoints written before the RNG states became tensors hold NumPy's state as an array;
# rebuilding a NumPy array runs no code, so these few globals are allowed for them.
NUMPY_ARRAY_GLOBALS = [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]
NUMBERED = re.compile(r"checkpoint-(\d+)\.pt")


def rng_states() -> dict[str, Any]:
    """Python, NumPy, torch CPU and (when present) CUDA generator states, as tensors and lists
    (types that ``weights_only`` loading accepts)."""
    version, internal, gauss = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    states = {
        "python": [version, list(internal), gauss],
        "numpy": {
            "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = states["numpy"]
    if isinstance(numpy_state, tuple):  # an older checkpoint: NumPy's own legacy tuple
        np.random.set_state(numpy_state)
    else:
        _set_numpy_state(numpy_state)
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _set_numpy_state(numpy_state: dict[str, Any]) -> None:
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {
                "key": numpy_state["key"].numpy().astype(np.uint32),
                "pos": numpy_state["pos"],
            },
            "has_gauss": numpy_state["has_gauss"],
            "gauss": numpy_state["gauss"],
        }
    )


def non_finite_tensors(state: dict[str, Any]) -> list[str]:
    """Names of the floating-point tensors of a state dict that hold NaN or Inf."""
    return [
        name
        for name, value in state.items()
        if torch.is_tensor(value)
        and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]


def numbered_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """``(iteration, path)`` of the ``checkpoint-<iteration>.pt`` files, newest first."""
    found = []
    for path in Path(folder).glob("checkpoint-*.pt"):
        match = NUMBERED.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def _point_at(target: Path, link: Path) -> None:
    """Make ``link`` the same file as ``target`` atomically (hard link, else a copy)."""
    handle, temporary = tempfile.mkstemp(dir=link.parent, prefix=f".{link.name}.", suffix=".tmp")
    os.close(handle)
    Path(temporary).unlink()
    try:
        try:
            os.link(target, temporary)
        except OSError:  # no hard links on this file system
            shutil.copyfile(target, temporary)
        os.replace(temporary, link)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: Path,
    iteration: int,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer | None],
    config: dict,
    scaler: torch.amp.GradScaler | None = None,
    keep: int = 1,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write everything needed to continue from ``iteration`` (the next one to run).

    Args:
        path: ``<run folder>/checkpoint.pt``; the data goes to ``checkpoint-<iteration>.pt``
            beside it, which ``path`` then points at.
        keep: how many numbered checkpoints stay (the newest; at least 1).
        extra: more entries of plain types for the payload (e.g. the plateau tracker's state).

    Returns:
        The numbered file written.

    Raises:
        NonFiniteError: when a weight is NaN or Inf; nothing is written then.
    """
    path = Path(path)
    state = model.state_dict()
    bad = non_finite_tensors(state)
    if bad:
        raise NonFiniteError(
            f"not saving the checkpoint of iteration {iteration} in {path.parent}: weights "
            f"{', '.join(bad[:3])} hold NaN or Inf; the last good checkpoint stays",
            term=f"weight {bad[0]}",
        )
    numbered = path.with_name(f"{path.stem}-{iteration}{path.suffix}")
    atomic_torch_save(
        {
            "iteration": iteration,
            "model": state,
            "optimizers": {k: o.state_dict() for k, o in optimizers.items() if o is not None},
            "scaler": scaler.state_dict() if scaler is not None else None,
            "rng": rng_states(),
            "config": config,
            **(extra or {}),
        },
        numbered,
    )
    _point_at(numbered, path)
    for _, old in numbered_checkpoints(path.parent)[max(1, keep) :]:
        old.unlink(missing_ok=True)
    return numbered


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint on the CPU.

    Raises:
        CheckpointError: naming the path when it is missing, unreadable or not a cagnet checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; give the path of a checkpoint.pt")
    try:
        with torch.serialization.safe_globals(NUMPY_ARRAY_GLOBALS):
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" not in str(error):
            raise CheckpointError(
                f"checkpoint {path} cannot be read (truncated or corrupt?): {error}; "
                "resume from an older checkpoint-<iteration>.pt or train again"
            ) from error
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        raise CheckpointError(
            f"refusing to open checkpoint {path}: it holds a Python object "
            f"({found.group(1) if found else 'not a tensor'}) other than tensors and plain "
            "containers, and unpickling it could run code. cagnet checkpoints hold none; only "
            "if you trust its source, convert it yourself with torch.load(weights_only=False)"
        ) from error
    except Exception as error:  # torch raises many types for a corrupt file
        raise CheckpointError(
            f"checkpoint {path} cannot be read (truncated or corrupt?): {error}; "
            "resume from an older checkpoint-<iteration>.pt or train again"
        ) from error
    if not isinstance(payload, dict) or "model" not in payload or "iteration" not in payload:
        raise CheckpointError(f"{path} is not a cagnet checkpoint (no 'model' and 'iteration')")
    return payload


def load_newest_good(folder: Path) -> tuple[dict[str, Any], Path]:
    """The newest checkpoint of a run folder that loads and holds finite weights.

    ``checkpoint.pt`` first, then the numbered ones from the newest; a warning names each one
    skipped and why.

    Raises:
        CheckpointError: when none is usable, with every file's reason.
    """
    folder = Path(folder)
    candidates = [folder / CHECKPOINT_NAME] + [p for _, p in numbered_checkpoints(folder)]
    reasons = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            payload = load_checkpoint(path)
        except CheckpointError as error:
            reasons.append(str(error))
            continue
        bad = non_finite_tensors(payload["model"])
        if not bad:
            for reason in reasons:
                warnings.warn(f"skipped: {reason}; resuming from {path}", stacklevel=2)
            return payload, path
        reasons.append(f"{path} holds NaN or Inf in {', '.join(bad[:3])}")
    if not reasons:
        raise CheckpointError(f"{folder} has no checkpoint; give the folder of a run to resume")
    raise CheckpointError(f"no usable checkpoint in {folder}: " + "; ".join(reasons))


def restore(
    payload: dict[str, Any],
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer | None],
    scaler: torch.amp.GradScaler | None = None,
    source: str = "the checkpoint",
) -> int:
    """Load model, optimisers, scaler and RNG states; return the iteration to continue from."""
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        raise CheckpointError(
            f"{source} does not fit this model (was it trained with another config?): {error}"
        ) from error
    for name, optimizer in optimizers.items():
        if optimizer is not None and name in payload["optimizers"]:
            optimizer.load_state_dict(payload["optimizers"][name])
    if scaler is not None and payload.get("scaler") is not None:
        scaler.load_state_dict(payload["scaler"])
    set_rng_states(payload["rng"])
    return int(payload["iteration"])
