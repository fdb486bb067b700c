"""Run-time checks cheap enough to stay on: finite losses, gradients and scores, hidden labels.

A diverging run stops at the first non-finite loss term or gradient norm, before an optimiser
applies it, so the weights in memory and every checkpoint already written stay finite; the loop
(``guarded_step``) names the term, the iteration and the run folder. Evaluation refuses NaN or
Inf scores instead of taking their argmax. Gradient clipping (``train.grad_clip``) happens here,
in the one function every optimiser step goes through.
"""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from cagnet.errors import NonFiniteError, UnseenLabelError


def require_finite(value: torch.Tensor, term: str) -> None:
    """NonFiniteError naming ``term`` when the scalar ``value`` is NaN or Inf."""
    if not bool(torch.isfinite(value.detach()).all()):
        raise NonFiniteError(f"{term} is {float(value.detach().sum())}", term=term)


def _with_gradients(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]


def clip_gradients(
    optimizer: torch.optim.Optimizer,
    max_norm: float = 0.0,
    scaler: torch.amp.GradScaler | None = None,
) -> float:
    """Check, and with ``max_norm`` > 0 clip, the total L2 norm of the gradients ``optimizer``
    is about to apply. Call it right before ``optimizer.step()``.

    With an fp16 ``scaler`` the gradients are unscaled first, and a non-finite norm is left to
    the scaler, which skips that step and lowers its scale (the usual fp16 overflow).

    Returns:
        The total norm before clipping (0 without gradients).

    Raises:
        NonFiniteError: the norm is NaN or Inf (without a scaler).
    """
    parameters = _with_gradients(optimizer)
    if not parameters:
        return 0.0
    if scaler is not None:
        scaler.unscale_(optimizer)
    norm = torch.nn.utils.get_total_norm([p.grad for p in parameters])
    if not math.isfinite(float(norm)):
        if scaler is not None:
            return float(norm)
        raise NonFiniteError(f"the gradient norm is {float(norm)}", term="gradient norm")
    if max_norm > 0:
        torch.nn.utils.clip_grads_with_norm_(parameters, max_norm, norm)
    return float(norm)


def non_finite_gradients(optimizers: dict[str, torch.optim.Optimizer | None]) -> list[str]:
    """Names of the optimisers whose current gradients hold NaN or Inf."""
    return [
        name
        for name, optimizer in optimizers.items()
        if optimizer is not None
        and any(not bool(torch.isfinite(p.grad).all()) for p in _with_gradients(optimizer))
    ]


def check_training_labels(
    labels: torch.Tensor, unseen: Sequence[int], class_names: Sequence[str]
) -> None:
    """UnseenLabelError when a training label map holds an unseen class.

    Args:
        labels: (B, H, W) int64 labels about to reach a training loss.
        unseen: the unseen class indices.
    """
    if not unseen:
        return
    lookup = torch.zeros(256, dtype=torch.bool, device=labels.device)
    lookup[list(unseen)] = True
    leaked = lookup[labels.clamp(0, 255)]
    if bool(leaked.any()):
        found = sorted(int(k) for k in labels[leaked].unique())
        names = ", ".join(f"{k} ({class_names[k]})" for k in found[:5])
        raise UnseenLabelError(
            f"unseen class {names} reached a training loss: the training labels must hide "
            "every unseen class (cagnet.build.hide_unseen); a reader or data hook leaked them"
        )


def guarded_step(method: Any, phase: str, inputs: Any, folder: Path) -> dict[str, float]:
    """``method.step(phase, inputs)`` with the checks above.

    Before the step, the labels must not hold an unseen class (except in self-training, whose
    pseudo-labels are unseen classes on purpose). A non-finite loss term or gradient norm in
    the step becomes a NonFiniteError naming the term, the optimiser, the iteration and the
    run folder.
    """
    config = inputs.config
    if inputs.labels is not None and not config.self_training.enabled:
        check_training_labels(inputs.labels, inputs.split.unseen, inputs.split.class_names)
    try:
        return method.step(phase, inputs)
    except NonFiniteError as error:
        bad = non_finite_gradients(inputs.optimizers._asdict())
        where = f" (gradients of {', '.join(bad)})" if bad else ""
        raise NonFiniteError(
            f"training diverged at iteration {inputs.iteration} ({phase} step): {error}{where}. "
            f"Run folder {folder}: the run stopped before applying it, and its checkpoints "
            "(the last good state) are kept; resume with a lower learning rate or "
            "train.grad_clip > 0",
            term=error.term,
        ) from None


def require_finite_scores(logits: torch.Tensor, indices: Sequence[int]) -> None:
    """NonFiniteError when the (B, K, h, w) scores of the images ``indices`` hold NaN or Inf."""
    finite = torch.isfinite(logits).flatten(1).all(dim=1)
    if not bool(finite.all()):
        bad = [int(i) for i, ok in zip(indices, finite.tolist(), strict=True) if not ok]
        raise NonFiniteError(
            f"the model's scores for image(s) {bad[:5]} of the split hold NaN or Inf, so no "
            "prediction can be made: the checkpoint is broken (did its training diverge?); "
            "evaluate an earlier checkpoint-<iteration>.pt",
            term="scores",
        )
