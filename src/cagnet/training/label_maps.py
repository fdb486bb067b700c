"""Random label maps for the finetuning step: seen and unseen classes with ratio r."""

from collections.abc import Sequence

import torch


def sample_generation_labels(
    num_pixels: int,
    seen: Sequence[int],
    unseen: Sequence[int],
    ratio: tuple[float, float],
    device: torch.device | None = None,
) -> torch.Tensor:
    """Class of every generated pixel.

    Each pixel is unseen with probability r_u / (r_s + r_u), then uniform over that group's
    classes, so the expected seen:unseen pixel count is r_s:r_u. Draws from torch's global RNG.

    Returns:
        (num_pixels,) int64 class indices.
    """
    seen_t = torch.as_tensor(list(seen), dtype=torch.long, device=device)
    unseen_t = torch.as_tensor(list(unseen), dtype=torch.long, device=device)
    seen_weight, unseen_weight = ratio
    if unseen_t.numel() == 0:
        unseen_weight = 0.0
    if seen_t.numel() == 0:
        seen_weight = 0.0
    p_unseen = unseen_weight / (seen_weight + unseen_weight)
    is_unseen = torch.rand(num_pixels, device=device) < p_unseen
    labels = torch.empty(num_pixels, dtype=torch.long, device=device)
    if seen_t.numel():
        labels[~is_unseen] = seen_t[torch.randint(len(seen_t), (num_pixels,), device=device)][
            ~is_unseen
        ]
    if unseen_t.numel():
        labels[is_unseen] = unseen_t[torch.randint(len(unseen_t), (num_pixels,), device=device)][
            is_unseen
        ]
    return labels
