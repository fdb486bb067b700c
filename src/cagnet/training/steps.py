"""The two optimisation steps of section 3.4, each updating the discriminator first.

Training step (real features of seen classes):
  1. heads (D and C, sharing a layer): D maximises L_ADV (real -> 1, fake -> 0), C minimises
     L_CLS on real and generated features; E, CM and G receive no update here.
  2. E, CM and G minimise L_CLS + L_ADV + lambda1 L_REC + lambda2 L_KL with the updated heads.
Finetuning step (E and CM frozen and not even run): G makes features for random label maps of
seen and unseen classes with z ~ N(0, 1);
  1. heads: D pushes them towards fake (no real term), C classifies them (with
     ``loss.finetune_real_seen_weight`` > 0, C also classifies the real seen features of a
     training batch, E and CM run frozen in eval mode: an option, not the paper);
  2. G minimises L_CLS + L_ADV through the updated heads.
Unseen labels never reach a training step: ``build.hide_unseen`` removes them from the
training reader (``ZeroShotSplit.hiding_lookup``).
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

import torch
from torch import nn

from cagnet import guards, losses
from cagnet.config import LossConfig
from cagnet.data.sample import IGNORE_INDEX
from cagnet.data.transforms import downsample_labels
from cagnet.errors import NonFiniteError
from cagnet.models.cagnet import CaGNet
from cagnet.models.pixelwise import to_pixels
from cagnet.training.label_maps import sample_generation_labels


class Replicas(NamedTuple):
    """The networks as the steps call them: each may be a DistributedDataParallel wrapper.

    ``model`` is the plain model; its ``heads`` are used unwrapped in the second half of a step,
    where their gradients are discarded, so no gradient is synchronised for nothing.
    """

    model: CaGNet
    encoder: nn.Module
    generator: nn.Module | None
    heads: nn.Module


class Optimizers(NamedTuple):
    segmentation: torch.optim.Optimizer  # E and CM
    generator: torch.optim.Optimizer | None
    heads: torch.optim.Optimizer  # C and D


class Precision(NamedTuple):
    """Autocast dtype (None = float32), the fp16 gradient scaler (None when not needed) and the
    gradient clipping norm (``train.grad_clip``, 0 = off): how every step backpropagates and
    steps, and where the finite-loss and finite-gradient checks (``cagnet.guards``) run."""

    dtype: torch.dtype | None
    scaler: torch.amp.GradScaler | None
    grad_clip: float = 0.0

    def autocast(self, device: torch.device) -> AbstractContextManager:
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate, then NonFiniteError if ``loss`` is NaN or Inf (after the backward
        pass, so that every distributed rank reaches the gradient all-reduce)."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
        guards.require_finite(loss, "the loss")

    def step(self, optimizer: torch.optim.Optimizer) -> float:
        """Check (and clip) the gradient norm, then step; NonFiniteError before a bad step.

        Returns:
            The gradient norm before clipping (unscaled), for the log.
        """
        norm = guards.clip_gradients(optimizer, self.grad_clip, self.scaler)
        if self.scaler is not None:
            self.scaler.step(optimizer)
        else:
            optimizer.step()
        return norm

    def update(self) -> None:
        if self.scaler is not None:
            self.scaler.update()


FLOAT32 = Precision(None, None)


def _weighted(terms: dict[str, tuple[float, torch.Tensor]]) -> torch.Tensor | None:
    """Sum of weight * term over the terms whose weight is not 0; None when all are 0."""
    total = None
    for weight, value in terms.values():
        if weight != 0.0:
            total = weight * value if total is None else total + weight * value
    return total


def _minimise(
    terms: dict[str, tuple[float, torch.Tensor]],
    precision: "Precision",
    *optimizers: torch.optim.Optimizer | None,
) -> list[float]:
    """Backpropagate the weighted sum and step ``optimizers``; nothing when every weight is 0.

    Clipping (``train.grad_clip``) happens in ``precision.step``, for every optimiser step.

    Returns:
        Each optimizer's gradient norm before its step and any clipping (0 for None).
    """
    total = _weighted(terms)
    if total is None:
        return [0.0] * len(optimizers)
    try:
        precision.backward(total)
    except NonFiniteError as error:
        bad = [n for n, (w, v) in terms.items() if w != 0.0 and not bool(torch.isfinite(v))]
        term = f"loss term {', '.join(bad)}" if bad else error.term
        raise NonFiniteError(f"{term} is not finite ({error})", term=term) from None
    # The norms come from the guard's check in precision.step: computed once per step.
    return [0.0 if optimizer is None else precision.step(optimizer) for optimizer in optimizers]


def _zero(*optimizers: torch.optim.Optimizer | None) -> None:
    for optimizer in optimizers:
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)


CONTENT_LOSSES = ("l2", "l2-balanced", "mmd")


def content_loss(
    config: LossConfig, real: torch.Tensor, fake: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """The term weighted by lambda1: L_REC (``l2``), its class-balanced form, or the MMD."""
    if config.content == "l2":
        return losses.reconstruction_loss(real, fake)
    if config.content == "l2-balanced":
        return losses.balanced_reconstruction_loss(real, fake, targets)
    if config.content == "mmd":
        return losses.mmd_loss(real, fake, targets, config.mmd_bandwidths)
    raise ValueError(f"loss.content={config.content!r}; choose from {CONTENT_LOSSES}")


def training_step(
    replicas: Replicas,
    optimizers: Optimizers,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: LossConfig,
    use_discriminator: bool = True,
    detach_generator_input: bool = False,
    precision: Precision = FLOAT32,
) -> dict[str, float]:
    """One training step on real features.

    Args:
        images: (B, 3, H, W) normalised.
        labels: (B, H, W) training labels: seen classes or IGNORE_INDEX, never an unseen class.
        precision: autocast, gradient scaling and clipping (``train.grad_clip``) of every step.

    Returns:
        Named scalar losses and diagnostics for the log.
    """
    model = replicas.model
    with precision.autocast(images.device):
        encoded = replicas.encoder(images)
    height, width = encoded.features.shape[-2:]
    pixel_labels = to_pixels(downsample_labels(labels, (height, width))[:, None])[:, 0]
    labelled = pixel_labels != IGNORE_INDEX
    targets = pixel_labels[labelled]
    real = to_pixels(encoded.features)[labelled].float()  # (N, l)
    context = encoded.context
    fake = None
    if replicas.generator is not None:
        if context is not None:
            latent = to_pixels(context.z)[labelled].float()
            latent = latent.detach() if detach_generator_input else latent
        else:
            latent = torch.randn_like(real)  # no CM: G reads noise, as in Table 2
        with precision.autocast(images.device):
            fake = replicas.generator(latent, model.class_embeddings[targets]).float()
    adversarial = use_discriminator and fake is not None and config.adversarial_weight != 0.0
    num_real = real.shape[0]

    # 1. Heads first: D maximises the objective (separates real from fake), C classifies both.
    _zero(optimizers.heads)
    head_input = real.detach() if fake is None else torch.cat([real.detach(), fake.detach()])
    with precision.autocast(images.device):
        out = replicas.heads(head_input)
    logits, realness = out.logits.float(), out.realness.float()
    head_terms = {
        "cls": (
            config.classification_weight,
            losses.classification_loss(logits[:num_real], targets),
        )
    }
    if fake is not None:
        head_terms["cls_fake"] = (
            config.generated_classification_weight,
            losses.classification_loss(logits[num_real:], targets),
        )
    if adversarial:
        head_terms["adv_d"] = (
            config.adversarial_weight,
            losses.discriminator_adversarial_loss(
                realness[:num_real], realness[num_real:], config.adversarial
            ),
        )
    _minimise(head_terms, precision, optimizers.heads)

    # 2. Then E, CM and G minimise the objective through the updated heads.
    _zero(optimizers.segmentation, optimizers.generator, optimizers.heads)
    with precision.autocast(images.device):
        out = model.heads(real if fake is None else torch.cat([real, fake]))
    logits, realness = out.logits.float(), out.realness.float()
    terms = {
        "cls": (
            config.classification_weight,
            losses.classification_loss(logits[:num_real], targets),
        )
    }
    if fake is not None:
        terms["cls_fake"] = (
            config.generated_classification_weight,
            losses.classification_loss(logits[num_real:], targets),
        )
        if config.reconstruction_weight != 0.0:  # skipped, not just weighted by 0 (MMD is costly)
            target = real.detach() if config.detach_reconstruction_target else real
            content = content_loss(config, target, fake, targets)
            terms["rec"] = (config.reconstruction_weight, content)
        if adversarial:
            terms["adv_g"] = (
                config.adversarial_weight,
                losses.generator_adversarial_loss(realness[num_real:], config.adversarial),
            )
    if context is not None:
        mu = to_pixels(context.mu)[labelled].float()
        logvar = to_pixels(context.logvar)[labelled].float()
        terms["kl"] = (config.kl_weight, losses.kl_loss(mu, logvar))
    segmentation_norm, generator_norm = _minimise(
        terms,
        precision,
        optimizers.segmentation,
        optimizers.generator if fake is not None else None,
    )
    precision.update()
    _zero(optimizers.heads)  # step 2 left gradients on the heads; they are not applied

    log = {f"loss_{name}": float(value.detach()) for name, (_, value) in terms.items()}
    log.update({f"heads_{name}": float(value.detach()) for name, (_, value) in head_terms.items()})
    log["labelled_pixels"] = float(num_real)
    if context is not None:
        # Spread of mu across pixels: ~0 means z carries no per-pixel context.
        log["mu_spread"] = float(mu.detach().std(dim=0).mean()) if num_real > 1 else 0.0
        log["logvar_mean"] = float(logvar.detach().mean())
        log["logvar_max"] = float(logvar.detach().abs().max()) if num_real else 0.0
    # Gradient norms of E + CM and of G in step 2 (scaled by the fp16 scaler, if any).
    log["grad_norm_segmentation"] = segmentation_norm
    log["grad_norm_generator"] = generator_norm
    log["feature_norm"] = float(real.detach().norm(dim=1).mean()) if num_real else 0.0
    if adversarial:
        log["d_real"] = float(realness[:num_real].mean().detach())
        log["d_fake"] = float(realness[num_real:].mean().detach())
    return log


def labelled_pixels(
    features: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The labelled pixels of a batch at feature resolution (shared with SPNet and ZS3Net).

    Args:
        features: (B, l, h, w) features.
        labels: (B, H, W) labels, downsampled here to (h, w) with nearest neighbours.

    Returns:
        (N, l) features and (N,) labels of the pixels whose label is not IGNORE_INDEX.
    """
    height, width = features.shape[-2:]
    pixel_labels = to_pixels(downsample_labels(labels, (height, width))[:, None])[:, 0]
    labelled = pixel_labels != IGNORE_INDEX
    return to_pixels(features)[labelled], pixel_labels[labelled]


@torch.no_grad()
def frozen_real_features(
    model: CaGNet, images: torch.Tensor, labels: torch.Tensor, precision: Precision = FLOAT32
) -> tuple[torch.Tensor, torch.Tensor]:
    """E and CM's features of the labelled pixels, as at test time (eval mode, no gradient).

    Args:
        images: (B, 3, H, W) normalised (or cached features).
        labels: (B, H, W) seen classes or IGNORE_INDEX.

    Returns:
        (N, l) features and their (N,) labels, N the labelled pixels at the feature stride.
    """
    was_training = model.encoder.training
    model.encoder.eval()
    try:
        with precision.autocast(images.device):
            features = model.encoder(images).features
    finally:
        model.encoder.train(was_training)
    pixels, targets = labelled_pixels(features, labels)
    return pixels.float(), targets


def finetuning_step(
    replicas: Replicas,
    optimizers: Optimizers,
    num_pixels: int,
    seen: Sequence[int],
    unseen: Sequence[int],
    ratio: tuple[float, float],
    config: LossConfig,
    use_discriminator: bool = True,
    precision: Precision = FLOAT32,
    real_batch: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, float]:
    """One finetuning step on generated features of seen and unseen classes; E, CM untouched.

    Args:
        real_batch: (images (B, 3, H, W), labels (B, H, W)) of training images; read only when
            ``config.finetune_real_seen_weight`` > 0, for C's term on real seen features.
    """
    model = replicas.model
    device = model.class_embeddings.device
    targets = sample_generation_labels(num_pixels, seen, unseen, ratio, device)
    latent = torch.randn(num_pixels, model.generator.latent_dim, device=device)
    with precision.autocast(device):
        fake = replicas.generator(latent, model.class_embeddings[targets]).float()
    adversarial = use_discriminator and config.adversarial_weight != 0.0

    real = real_targets = None
    if config.finetune_real_seen_weight != 0.0:
        if real_batch is None:
            raise ValueError("loss.finetune_real_seen_weight > 0 needs a real_batch")
        real, real_targets = frozen_real_features(model, *real_batch, precision)

    # 1. Heads first: D sees only fake features here (no real term), C learns every class.
    _zero(optimizers.heads)
    head_input = fake.detach() if real is None else torch.cat([fake.detach(), real])
    with precision.autocast(device):
        out = replicas.heads(head_input)
    logits, realness = out.logits.float(), out.realness.float()
    head_terms = {
        "cls": (
            config.classification_weight,
            losses.classification_loss(logits[:num_pixels], targets),
        )
    }
    if real is not None:
        head_terms["cls_real"] = (
            config.finetune_real_seen_weight,
            losses.classification_loss(logits[num_pixels:], real_targets),
        )
    if adversarial:
        head_terms["adv_d"] = (
            config.adversarial_weight,
            losses.discriminator_adversarial_loss(None, realness[:num_pixels], config.adversarial),
        )
    _minimise(head_terms, precision, optimizers.heads)

    # 2. Then G, through the updated heads.
    _zero(optimizers.generator, optimizers.heads)
    with precision.autocast(device):
        out = model.heads(fake)
    terms = {
        "cls": (
            config.classification_weight,
            losses.classification_loss(out.logits.float(), targets),
        )
    }
    if adversarial:
        terms["adv_g"] = (
            config.adversarial_weight,
            losses.generator_adversarial_loss(out.realness.float(), config.adversarial),
        )
    _minimise(terms, precision, optimizers.generator)
    precision.update()
    _zero(optimizers.heads)

    log = {f"ft_loss_{name}": float(value.detach()) for name, (_, value) in terms.items()}
    log.update(
        {f"ft_heads_{name}": float(value.detach()) for name, (_, value) in head_terms.items()}
    )
    log["ft_unseen_fraction"] = (
        float(torch.isin(targets, torch.as_tensor(list(unseen), device=device)).float().mean())
        if unseen
        else 0.0
    )
    return log
