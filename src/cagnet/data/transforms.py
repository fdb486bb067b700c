"""Image and label tensors, ImageNet normalisation and training augmentation."""

import numpy as np
import torch
import torch.nn.functional as F

from cagnet.data.sample import IGNORE_INDEX, Sample

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_tensors(sample: Sample) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample -> normalised image (3, H, W) float32 and label (H, W) int64."""
    image = torch.from_numpy(np.ascontiguousarray(sample.image)).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (image - mean) / std, torch.from_numpy(np.asarray(sample.label, dtype=np.int64))


def denormalise(image: torch.Tensor) -> np.ndarray:
    """Normalised (3, H, W) -> uint8 (H, W, 3) for pictures."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    rgb = ((image.cpu() * std + mean).clamp(0, 1) * 255).round().byte()
    return rgb.permute(1, 2, 0).numpy()


def augment(
    image: torch.Tensor,
    label: torch.Tensor,
    crop_size: int,
    scale_range: tuple[float, float],
    flip: bool,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random scale, pad, crop to a square and horizontal flip.

    Args:
        image: (3, H, W) normalised; padding uses 0, the mean colour.
        label: (H, W) int64; padding uses IGNORE_INDEX.
        generator: the only source of randomness, so a sample's crop depends on its seed alone.

    Returns:
        (3, crop_size, crop_size) image and (crop_size, crop_size) label.
    """
    low, high = scale_range
    scale = low + (high - low) * float(torch.rand((), generator=generator))
    height, width = label.shape
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
    label = F.interpolate(label[None, None].float(), size=size, mode="nearest")[0, 0].long()
    pad_h, pad_w = max(0, crop_size - size[0]), max(0, crop_size - size[1])
    if pad_h or pad_w:
        image = F.pad(image, (0, pad_w, 0, pad_h), value=0.0)
        label = F.pad(label, (0, pad_w, 0, pad_h), value=IGNORE_INDEX)
    top = int(torch.randint(0, label.shape[0] - crop_size + 1, (), generator=generator))
    left = int(torch.randint(0, label.shape[1] - crop_size + 1, (), generator=generator))
    image = image[:, top : top + crop_size, left : left + crop_size]
    label = label[top : top + crop_size, left : left + crop_size]
    if flip and bool(torch.rand((), generator=generator) < 0.5):
        image, label = image.flip(-1), label.flip(-1)
    return image.contiguous(), label.contiguous()


def downsample_labels(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour label map (B, H, W) -> (B, h, w), as Y in section 3.3."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels[:, None].float(), size=size, mode="nearest")[:, 0].long()
