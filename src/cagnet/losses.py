"""CaGNet's loss terms as pure functions of pixel tensors (sections 3.2-3.4).

Every function takes the labelled pixels only (the caller gathers them), so each loss is masked
to labelled pixels by construction. Weighting happens in one place, ``cagnet.training.steps``.

Which is which:
- ``classification_loss``: L_CLS, cross-entropy (eq. 2), mean over pixels.
- ``discriminator_adversarial_loss`` / ``generator_adversarial_loss``: L_ADV. ``"lsgan"`` is the
  least-squares GAN of eq. 3 (Mao et al. 2017) with D's score through a sigmoid, target 1 for
  real and 0 for fake; ``"l1"`` is the official code's variant with absolute instead of squared
  differences.
- ``reconstruction_loss``: L_REC, squared L2 distance of eq. 1. We average it over pixels and
  channels (the paper's sum divided by N*l), so lambda1 does not depend on the feature size.
- ``balanced_reconstruction_loss``: L_REC averaged within each class first, then over the
  classes present, so that large classes (sky, road) do not drown small objects.
- ``mmd_loss``: the official code's content loss in place of L_REC: the maximum mean
  discrepancy between real and generated features of each class, with a sum of RBF kernels of
  bandwidths (2, 5, 10, 20, 40, 60), averaged over classes. Fully vectorised.
- ``kl_loss``: L_KL, KL(N(mu, sigma) || N(0, 1)) in closed form, mean over pixels and channels.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F

ADVERSARIAL_KINDS = ("lsgan", "l1")
MMD_BANDWIDTHS = (2.0, 5.0, 10.0, 20.0, 40.0, 60.0)


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy. logits (N, K), labels (N,) int64 -> scalar (0 when N = 0)."""
    if labels.numel() == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels)


def _distance(scores: torch.Tensor, target: float, kind: str) -> torch.Tensor:
    if scores.numel() == 0:  # a batch without labelled pixels: 0, not the NaN of an empty mean
        return scores.sum() * 0.0
    if kind == "lsgan":
        return (scores - target).pow(2).mean()
    if kind == "l1":
        return (scores - target).abs().mean()
    raise ValueError(f"adversarial kind {kind!r}; choose from {ADVERSARIAL_KINDS}")


def discriminator_adversarial_loss(
    real_scores: torch.Tensor | None, fake_scores: torch.Tensor, kind: str = "lsgan"
) -> torch.Tensor:
    """D's side of L_ADV: real pixels towards 1, fake towards 0.

    Args:
        real_scores: (N,) D's scores in [0, 1] of real features, or None in the finetuning step
            (the paper drops the real term there).
        fake_scores: (M,) D's scores of generated features.
        kind: "lsgan" or "l1".
    """
    loss = _distance(fake_scores, 0.0, kind)
    if real_scores is not None and real_scores.numel() > 0:
        loss = loss + _distance(real_scores, 1.0, kind)
    return loss


def generator_adversarial_loss(fake_scores: torch.Tensor, kind: str = "lsgan") -> torch.Tensor:
    """G's side of L_ADV: generated pixels towards D's 'real' score 1. (M,) -> scalar."""
    return _distance(fake_scores, 1.0, kind)


def reconstruction_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """L_REC: mean squared error of (N, l) real and generated features -> scalar."""
    if real.numel() == 0:
        return fake.sum() * 0.0
    return (real - fake).pow(2).mean()


def balanced_reconstruction_loss(
    real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """L_REC with every class weighted equally: (N, l), (N, l), (N,) -> scalar.

    The squared error of each pixel (mean over channels) is averaged within its class, and the
    class means are averaged over the classes present.
    """
    if labels.numel() == 0:
        return fake.sum() * 0.0
    per_pixel = (real - fake).pow(2).mean(dim=1)  # (N,)
    classes, inverse = torch.unique(labels, return_inverse=True)
    sums = per_pixel.new_zeros(classes.numel()).index_add(0, inverse, per_pixel)
    counts = torch.bincount(inverse, minlength=classes.numel()).to(per_pixel.dtype)
    return (sums / counts).mean()


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """L_KL: KL(N(mu, exp(logvar)) || N(0, 1)) of (N, l) tensors, mean over elements -> scalar."""
    if mu.numel() == 0:
        return mu.sum() * 0.0
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()


def mmd_loss(
    real: torch.Tensor,
    fake: torch.Tensor,
    labels: torch.Tensor,
    bandwidths: Sequence[float] = MMD_BANDWIDTHS,
    max_pixels_per_class: int = 64,
) -> torch.Tensor:
    """Per-class MMD between real and generated features, averaged over the classes present.

    Args:
        real: (N, l) real features.
        fake: (N, l) generated features, pixel i generated for the class of real pixel i.
        labels: (N,) class of each pixel.
        bandwidths: sigmas of the RBF kernels exp(-d^2 / (2 sigma^2)) that are summed.
        max_pixels_per_class: at most this many random pixels of each class enter the kernel
            matrices, keeping memory at O(classes * max_pixels_per_class^2).

    Returns:
        Scalar MMD^2 estimate (biased, V-statistic), 0 when N = 0.
    """
    if labels.numel() == 0:
        return fake.sum() * 0.0
    real_slots, fake_slots, valid = _pixels_per_class(real, fake, labels, max_pixels_per_class)
    both = torch.cat([real_slots, fake_slots], dim=1)  # (C, 2P, l)
    both_valid = torch.cat([valid, valid], dim=1).to(both.dtype)  # (C, 2P)
    squared = torch.cdist(both, both).pow(2)  # (C, 2P, 2P)
    kernel = sum(torch.exp(-squared / (2.0 * sigma**2)) for sigma in bandwidths)
    kernel = kernel * both_valid[:, :, None] * both_valid[:, None, :]
    slots = valid.shape[1]
    counts = valid.sum(dim=1).to(both.dtype)  # (C,)
    real_real = kernel[:, :slots, :slots].sum(dim=(1, 2))
    fake_fake = kernel[:, slots:, slots:].sum(dim=(1, 2))
    real_fake = kernel[:, :slots, slots:].sum(dim=(1, 2))
    per_class = (real_real + fake_fake - 2.0 * real_fake) / counts.pow(2)
    return per_class.mean()


def _pixels_per_class(
    real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, limit: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Group up to ``limit`` random pixels of each class into (C, P, l) slots and a (C, P) mask."""
    shuffle = torch.randperm(labels.numel(), device=labels.device)
    order = shuffle[torch.argsort(labels[shuffle], stable=True)]
    sorted_labels = labels[order]
    classes, counts = torch.unique_consecutive(sorted_labels, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    group = torch.repeat_interleave(torch.arange(classes.numel(), device=labels.device), counts)
    rank = torch.arange(labels.numel(), device=labels.device) - starts[group]
    keep = rank < limit
    slots = int(min(limit, counts.max().item()))
    real_slots = real.new_zeros(classes.numel(), slots, real.shape[1])
    fake_slots = fake.new_zeros(classes.numel(), slots, fake.shape[1])
    valid = torch.zeros(classes.numel(), slots, dtype=torch.bool, device=labels.device)
    rows, cols = group[keep], rank[keep]
    real_slots[rows, cols] = real[order[keep]]
    fake_slots[rows, cols] = fake[order[keep]]
    valid[rows, cols] = True
    return real_slots, fake_slots, valid
