"""SPNet as a method: E and the projection trained with cross-entropy over the seen classes.

During training the softmax runs over the SEEN classes only (unseen scores are not computed),
as SPNet does; at test time every class is scored. SPNet-c is SPNet with calibration
(``calibration.gamma``, chosen by ``cagnet calibrate``), which applies to every method.

Shared with CaGNet: the backbone builder, the optimisers (SGD or Adam with poly decay for E,
Adam at ``train.lr_heads`` for the projection, as for CaGNet's heads) and the training at
feature resolution (labels downsampled with nearest neighbours).
"""

from typing import Any, NamedTuple

import torch
from torch import nn

from cagnet import losses
from cagnet.config import Config
from cagnet.methods.base import Method, StepInputs
from cagnet.models.backbones import build_backbone
from cagnet.models.cagnet import ContextEncoder
from cagnet.models.neck import build_neck
from cagnet.models.spnet import SPNet
from cagnet.training import distributed
from cagnet.training.optim import build_optimizers, set_learning_rates
from cagnet.training.steps import FLOAT32, Optimizers, Precision, labelled_pixels

TRAINING = "training"


class OptimizedParts(NamedTuple):
    """The parts ``cagnet.training.optim.build_optimizers`` gives optimisers to.

    ``encoder`` gets the poly-decayed SGD/Adam, ``heads`` Adam at ``train.lr_heads`` and
    ``generator`` (when not None) Adam at ``train.lr_generator``. Shared with ZS3Net.
    """

    encoder: ContextEncoder
    generator: nn.Module | None
    heads: nn.Module


class SPNetReplicas(NamedTuple):
    """The networks as the step calls them (DDP-wrapped where several processes run)."""

    model: SPNet
    encoder: nn.Module
    projection: nn.Module


def build_spnet(config: Config, embeddings: torch.Tensor) -> SPNet:
    """E from ``model.backbone``, a projection l -> d, and the (K, d) embeddings as a buffer."""
    backbone = build_backbone(config.model.backbone)
    encoder = ContextEncoder(
        backbone, None, residual=False, neck=build_neck(backbone.out_channels, config.model.neck)
    )
    projection = nn.Linear(encoder.feature_dim, embeddings.shape[1])
    return SPNet(encoder, projection, embeddings)


def step_updated(precision: Precision, *optimizers: torch.optim.Optimizer) -> None:
    """Step the optimisers that received a gradient (a frozen backbone's placeholder has
    none, and the fp16 scaler refuses such a step), then update the scaler once."""
    for optimizer in optimizers:
        if any(p.grad is not None for g in optimizer.param_groups for p in g["params"]):
            precision.step(optimizer)
    precision.update()


def seen_targets(labels: torch.Tensor, seen: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices -> positions in ``seen``: (N,) labels of seen classes -> (N,) in 0..|Cs|-1."""
    lookup = torch.full((num_classes,), -1, dtype=torch.long, device=labels.device)
    lookup[seen] = torch.arange(seen.numel(), device=labels.device)
    return lookup[labels]


def spnet_step(
    replicas: SPNetReplicas,
    optimizers: Optimizers,
    images: torch.Tensor,
    labels: torch.Tensor,
    seen: torch.Tensor,
    precision: Precision = FLOAT32,
) -> dict[str, float]:
    """One step of cross-entropy over the seen classes on real features.

    Args:
        images: (B, 3, H, W) normalised.
        labels: (B, H, W) training labels: seen classes or IGNORE_INDEX.
        seen: (|Cs|,) int64 indices of the seen classes: the only columns of the softmax.

    Returns:
        {"loss_cls", "labelled_pixels"}.
    """
    model = replicas.model
    with precision.autocast(images.device):
        pixels, targets = labelled_pixels(replicas.encoder(images).features, labels)
        projected = replicas.projection(pixels)  # (N, d)
    logits = projected.float() @ model.class_embeddings[seen].t()  # (N, |Cs|): no unseen column
    loss = losses.classification_loss(logits, seen_targets(targets, seen, model.num_classes))
    optimizers.segmentation.zero_grad(set_to_none=True)
    optimizers.heads.zero_grad(set_to_none=True)
    precision.backward(loss)
    step_updated(precision, optimizers.segmentation, optimizers.heads)
    return {"loss_cls": float(loss.detach()), "labelled_pixels": float(targets.numel())}


class SPNetMethod(Method):
    """E + projection onto fixed class embeddings; one kind of step for every iteration."""

    name = "spnet"

    def build_model(self, config: Config, embeddings: torch.Tensor) -> nn.Module:
        return build_spnet(config, embeddings)

    def build_optimizers(self, model: nn.Module, config: Config) -> Any:
        return build_optimizers(OptimizedParts(model.encoder, None, model.projection), config.train)

    def set_learning_rates(self, optimizers: Any, config: Config, iteration: int) -> float:
        return set_learning_rates(optimizers, config.train, iteration)

    def replicate(self, model: nn.Module, context, device: torch.device) -> SPNetReplicas:
        return SPNetReplicas(
            model=model,
            encoder=distributed.wrap(model.encoder, context, device),
            projection=distributed.wrap(model.projection, context, device),
        )

    def phase(self, iteration: int, config: Config, model: nn.Module) -> str:
        return TRAINING

    def reads_images(self, phase_name: str, config: Config) -> bool:
        return True

    def step(self, phase_name: str, inputs: StepInputs) -> dict[str, float]:
        seen = torch.as_tensor(inputs.split.seen, dtype=torch.long, device=inputs.images.device)
        return spnet_step(
            inputs.replicas,
            inputs.optimizers,
            inputs.images,
            inputs.labels,
            seen,
            inputs.precision,
        )
