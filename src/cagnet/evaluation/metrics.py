"""Segmentation metrics as pure functions of an accumulated confusion matrix.

Rows are ground-truth classes, columns predictions. Pixel accuracy, mean accuracy and mIoU
are computed over all, seen and unseen classes; hIoU = 2 S U / (S + U) of seen and unseen mIoU
(0 when either is 0). A class absent from the ground truth (row sum 0) is left out of the means:
its IoU is undefined rather than 0, as in the usual VOC/COCO-stuff evaluation.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from cagnet.data.sample import IGNORE_INDEX


def confusion_matrix(
    predictions: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """(K, K) int64 counts from predictions and labels of equal shape; ignore pixels skipped."""
    valid = labels != IGNORE_INDEX
    index = labels[valid].long() * num_classes + predictions[valid].long()
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


@dataclass(frozen=True)
class Scores:
    """Pixel accuracy, mean accuracy and mIoU of one group of classes (NaN-free: 0 if empty)."""

    pixel_accuracy: float
    mean_accuracy: float
    miou: float


@dataclass(frozen=True)
class Report:
    """Everything the paper's Table 1 reports, plus per-class IoU (NaN for absent classes)."""

    hiou: float
    overall: Scores
    seen: Scores
    unseen: Scores
    class_iou: tuple[float, ...]

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Report":
        """The inverse of ``as_dict`` (extra keys, e.g. of a metrics.json, are ignored)."""
        return cls(
            hiou=values["hiou"],
            overall=Scores(**values["overall"]),
            seen=Scores(**values["seen"]),
            unseen=Scores(**values["unseen"]),
            class_iou=tuple(values["class_iou"]),
        )

    def flat(self) -> dict[str, float]:
        """One level of names, e.g. {'hiou': .., 'unseen_miou': ..}."""
        out = {"hiou": self.hiou}
        for group in ("overall", "seen", "unseen"):
            for key, value in asdict(getattr(self, group)).items():
                out[f"{group}_{key}"] = value
        return out


def group_scores(confusion: torch.Tensor, classes: Sequence[int]) -> Scores:
    """Scores of the pixels whose ground truth is in ``classes``.

    Pixel accuracy counts a pixel right when predicted as its class among all K classes; a
    seen pixel predicted as an unseen class is wrong, as in the paper's seen/unseen columns.
    """
    confusion = confusion.double()
    index = torch.as_tensor(list(classes), dtype=torch.long)
    if index.numel() == 0:
        return Scores(0.0, 0.0, 0.0)
    true_positive = confusion.diagonal()[index]
    gt_total = confusion.sum(dim=1)[index]
    predicted_total = confusion.sum(dim=0)[index]
    present = gt_total > 0
    if not bool(present.any()):
        return Scores(0.0, 0.0, 0.0)
    pixel_accuracy = true_positive[present].sum() / gt_total[present].sum()
    accuracy = true_positive[present] / gt_total[present]
    iou = true_positive[present] / (gt_total + predicted_total - true_positive)[present]
    return Scores(float(pixel_accuracy), float(accuracy.mean()), float(iou.mean()))


def harmonic_iou(seen_miou: float, unseen_miou: float) -> float:
    """2 S U / (S + U); 0 when either is 0."""
    if seen_miou <= 0.0 or unseen_miou <= 0.0:
        return 0.0
    return 2.0 * seen_miou * unseen_miou / (seen_miou + unseen_miou)


def class_iou(confusion: torch.Tensor) -> tuple[float, ...]:
    """IoU of each class; NaN where the class is absent from the ground truth."""
    confusion = confusion.double()
    true_positive = confusion.diagonal()
    gt_total = confusion.sum(dim=1)
    union = gt_total + confusion.sum(dim=0) - true_positive
    iou = torch.where(gt_total > 0, true_positive / union.clamp(min=1), torch.nan)
    return tuple(float(v) for v in iou)


def report(confusion: torch.Tensor, seen: Sequence[int], unseen: Sequence[int]) -> Report:
    """Every score from a (K, K) confusion matrix and the seen / unseen class indices."""
    all_classes = sorted(set(seen) | set(unseen))
    seen_scores = group_scores(confusion, seen)
    unseen_scores = group_scores(confusion, unseen)
    return Report(
        hiou=harmonic_iou(seen_scores.miou, unseen_scores.miou),
        overall=group_scores(confusion, all_classes),
        seen=seen_scores,
        unseen=unseen_scores,
        class_iou=class_iou(confusion),
    )
