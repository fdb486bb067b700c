"""Checkpoints: model, every optimiser, RNG states, iteration and config, written atomically.

Learning rates are a pure function of the iteration (``cagnet.training.schedule``), so the
iteration restores the schedulers; there is no scheduler object to save.
"""

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cagnet.atomic import atomic_torch_save
from cagnet.errors import CheckpointError

CHECKPOINT_NAME = "checkpoint.pt"


def rng_states() -> dict[str, Any]:
    """Python, NumPy, torch CPU and (when present) CUDA generator states."""
    states = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(
    path: Path,
    iteration: int,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer | None],
    config: dict,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Write everything needed to continue from ``iteration`` (the next one to run)."""
    atomic_torch_save(
        {
            "iteration": iteration,
            "model": model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in optimizers.items() if o is not None},
            "scaler": scaler.state_dict() if scaler is not None else None,
            "rng": rng_states(),
            "config": config,
        },
        path,
    )


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint on the CPU.

    Raises:
        CheckpointError: naming the path when it is missing, unreadable or not a cagnet checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; give the path of a checkpoint.pt")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a corrupt file
        raise CheckpointError(f"checkpoint {path} cannot be read: {error}") from error
    if not isinstance(payload, dict) or "model" not in payload or "iteration" not in payload:
        raise CheckpointError(f"{path} is not a cagnet checkpoint (no 'model' and 'iteration')")
    return payload


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
