"""Optimisers of the three parts and their learning rates as a function of the iteration."""

import torch

from cagnet.config import TrainConfig
from cagnet.errors import ConfigError
from cagnet.models.cagnet import CaGNet
from cagnet.training.schedule import poly_factor
from cagnet.training.steps import Optimizers


def _trainable(module: torch.nn.Module | None) -> list[torch.nn.Parameter]:
    return [] if module is None else [p for p in module.parameters() if p.requires_grad]


def build_optimizers(model: CaGNet, config: TrainConfig) -> Optimizers:
    """SGD (or Adam) for E and CM, Adam for G and for the heads (C and D share one).

    The CM learns ``lr_contextual_multiplier`` times faster than the backbone, as the official
    code's 5x group. Every group remembers its base rate in ``base_lr``.
    """
    groups = [
        {"params": _trainable(model.encoder.backbone), "base_lr": config.lr},
        {"params": _trainable(getattr(model.encoder, "neck", None)), "base_lr": config.lr},
        {
            "params": _trainable(model.encoder.contextual_module),
            "base_lr": config.lr * config.lr_contextual_multiplier,
        },
    ]
    groups = [g for g in groups if g["params"]]
    if not groups:
        # A frozen backbone without CM: keep a placeholder so the step code stays uniform.
        groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "base_lr": 0.0}]
    if config.optimizer == "sgd":
        segmentation = torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    elif config.optimizer == "adam":
        segmentation = torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
    else:
        raise ConfigError(f"train.optimizer={config.optimizer!r}; choose 'sgd' or 'adam'")
    generator = None
    if model.generator is not None:
        generator = torch.optim.Adam(
            [{"params": _trainable(model.generator), "base_lr": config.lr_generator}],
            lr=config.lr_generator,
            betas=tuple(config.adam_betas),
        )
    heads = torch.optim.Adam(
        [{"params": _trainable(model.heads), "base_lr": config.lr_heads}],
        lr=config.lr_heads,
        betas=tuple(config.adam_betas),
    )
    return Optimizers(segmentation=segmentation, generator=generator, heads=heads)


def set_learning_rates(
    optimizers: Optimizers, config: TrainConfig, iteration: int, alternating: bool = False
) -> float:
    """Poly decay for E and CM (DeepLab's schedule); G and the heads keep Adam's constant rate.

    Without ``alternating`` G's and the heads' rates are left as they are (ZS3Net sets its own).
    With ``alternating`` (the iteration lies where training and finetuning alternate), E and CM
    are scaled by ``alternation_backbone_lr_factor`` and G and the heads by
    ``alternation_lr_factor``, as the official code's second run does with its own rates.

    Returns:
        The backbone's learning rate at ``iteration``.
    """
    poly = config.lr_schedule == "poly"  # plateau: cagnet.training.plateau scales E and CM
    factor = poly_factor(iteration, config.iterations, config.poly_power) if poly else 1.0
    if alternating:
        factor *= config.alternation_backbone_lr_factor
        for optimizer in (optimizers.generator, optimizers.heads):
            for group in [] if optimizer is None else optimizer.param_groups:
                group["lr"] = group["base_lr"] * config.alternation_lr_factor
    for group in optimizers.segmentation.param_groups:
        group["lr"] = group["base_lr"] * factor
    return optimizers.segmentation.param_groups[0]["lr"]
