"""Run a segmentation model over a data split and score it (section 4.2's metrics)."""

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from tqdm import tqdm

from cagnet.data.feature_cache import CachedReader
from cagnet.data.loader import evaluation_loader
from cagnet.data.split import ZeroShotSplit
from cagnet.data.transforms import downsample_labels
from cagnet.evaluation.metrics import Report, confusion_matrix, report
from cagnet.guards import require_finite_scores

RESOLUTIONS = ("label", "feature")


def predict(
    logits: torch.Tensor, labels: torch.Tensor, resolution: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions and labels at a common resolution.

    Args:
        logits: (B, K, h, w) class scores at feature resolution.
        labels: (B, H, W) ground truth.
        resolution: "label" upsamples the scores bilinearly to (H, W) (the default, the usual
            protocol); "feature" downsamples the labels to (h, w) with nearest neighbours, as the
            official CaGNet code evaluates.

    Returns:
        (predictions, labels), both (B, H', W') int64.
    """
    if resolution == "label":
        scores = F.interpolate(logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
        return scores.argmax(dim=1), labels
    if resolution == "feature":
        return logits.argmax(dim=1), downsample_labels(labels, tuple(logits.shape[-2:]))
    raise ValueError(f"eval.resolution={resolution!r}; choose from {RESOLUTIONS}")


@torch.no_grad()
def evaluate(
    segment: Callable[[torch.Tensor], torch.Tensor],
    reader: Sequence,
    split: ZeroShotSplit,
    device: torch.device,
    resolution: str = "label",
    batch_size: int = 4,
    indices: Sequence[int] | None = None,
    progress: bool = True,
    on_batch: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, list[int]], None] | None = None,
    valid_classes: Sequence[bool] | None = None,
) -> tuple[Report, torch.Tensor]:
    """Accumulate a confusion matrix over ``reader`` and score it.

    Args:
        segment: images (B, 3, H, W) -> logits (B, K, h, w); the model must be in eval mode.
        reader: the evaluation split (labels hold seen and unseen classes).
        indices: the images to use; None = every image. A subset must be reported as such.
        on_batch: called with (images, predictions, labels, indices) at label resolution, e.g.
            to draw overlays.
        valid_classes: (K,) bool; classes marked False can never be in the ground truth
            (COCO-stuff's never-annotated things): they are never predicted and, being absent
            from the ground truth, never enter a mean.

    Returns:
        The report and the (K, K) confusion matrix.
    """
    indices = list(range(len(reader))) if indices is None else list(indices)
    confusion = torch.zeros(split.num_classes, split.num_classes, dtype=torch.long)
    if isinstance(reader, CachedReader):  # frozen-backbone mode: cached features, not images
        loader = reader.evaluation_loader(indices, batch_size)
    else:
        loader = evaluation_loader(reader, indices, batch_size)
    invalid = None
    if valid_classes is not None:
        invalid = ~torch.as_tensor(list(valid_classes), dtype=torch.bool, device=device)
    for images, labels, batch_indices in tqdm(
        loader, desc="evaluate", disable=not progress, leave=False
    ):
        images, labels = images.to(device), labels.to(device)
        logits = segment(images).float()
        require_finite_scores(logits, batch_indices)
        if invalid is not None and bool(invalid.any()):
            # A large finite score: -inf would turn into NaN in the bilinear upsampling.
            logits = logits.masked_fill(invalid[None, :, None, None], -1e9)
        predictions, targets = predict(logits, labels, resolution)
        confusion += confusion_matrix(predictions, targets, split.num_classes).cpu()
        if on_batch is not None:
            on_batch(images, predictions, targets, batch_indices)
    return report(confusion, split.seen, split.unseen), confusion
