"""What a zero-shot method provides to the one training loop.

The loop (``cagnet.training.loop``) is method-agnostic: it asks the method for its model, its
optimisers, the phase of every iteration, whether that phase reads images, and to run one step.
CaGNet, SPNet and ZS3Net are each one ``Method``; ablations are config switches of a method.
"""

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cagnet.config import Config
from cagnet.data.split import ZeroShotSplit
from cagnet.training.distributed import Context
from cagnet.training.steps import Precision


@dataclass
class StepInputs:
    """Everything one step may use. ``images``/``labels`` are None in phases without images.

    Attributes:
        images: (B, 3, H, W) normalised images (or cached features, see the feature cache).
        labels: (B, H, W) training labels: seen classes or 255, never an unseen class.
        finetune_pixels: generated pixels per finetuning step.
        ratio: (r_seen, r_unseen) for generated label maps.
    """

    replicas: Any
    optimizers: Any
    images: torch.Tensor | None
    labels: torch.Tensor | None
    split: ZeroShotSplit
    config: Config
    precision: Precision
    finetune_pixels: int
    ratio: tuple[float, float]
    iteration: int


class Method:
    """Base class; subclasses override every method but ``check_config``."""

    name = "method"

    def check_config(self, config: Config) -> None:
        """ConfigError when ``config`` cannot train this method; cheap, runs before any data
        or model is built (``compare`` checks every planned run with it first)."""

    def build_model(self, config: Config, embeddings: torch.Tensor) -> nn.Module:
        """The model; it must have ``segment(images) -> (B, K, h, w) logits``."""
        raise NotImplementedError

    def build_optimizers(self, model: nn.Module, config: Config) -> Any:
        """A NamedTuple of optimisers (None allowed); ``_asdict()`` names them in checkpoints."""
        raise NotImplementedError

    def set_learning_rates(self, optimizers: Any, config: Config, iteration: int) -> float:
        """Set every rate for ``iteration``; return the backbone's (for the log)."""
        raise NotImplementedError

    def replicate(self, model: nn.Module, context: Context, device: torch.device) -> Any:
        """The networks as the steps call them (DDP-wrapped where several processes run)."""
        raise NotImplementedError

    def phase(self, iteration: int, config: Config, model: nn.Module) -> str:
        """The name of the step that ``iteration`` runs; a pure function of the iteration."""
        raise NotImplementedError

    def reads_images(self, phase: str, config: Config) -> bool:
        """Whether steps of ``phase`` need a batch of training images."""
        raise NotImplementedError

    def step(self, phase: str, inputs: StepInputs) -> dict[str, float]:
        """Run one step of ``phase``; return named scalars for the log (same keys every call)."""
        raise NotImplementedError
