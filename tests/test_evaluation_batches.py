"""Evaluation output does not depend on eval.batch_size when the images differ in size."""

from __future__ import annotations

import numpy as np
import torch

from cagnet.data.sample import Sample
from cagnet.data.split import ZeroShotSplit
from cagnet.evaluation.evaluator import evaluate

SIZES = ((13, 17), (16, 20), (9, 11), (16, 20))  # (H, W); two of the same size


class Reader:
    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.samples = [
            Sample(
                rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                rng.integers(0, 4, (h, w)).astype(np.int64),
                f"image{k}",
            )
            for k, (h, w) in enumerate(SIZES)
        ]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        return self.samples[index]


def _segment() -> torch.nn.Module:
    """A stride-2 net with biases and a dilated layer: what lies beyond an edge reaches it."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 4, 1, bias=False),
    ).eval()
    with torch.no_grad():
        net[-1].weight.mul_(20)  # scores that vary over the image, so the argmax does too
    return net


def _predictions(batch_size: int) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    seen: dict[int, torch.Tensor] = {}

    def keep(images, predictions, labels, indices) -> None:
        for k, index in enumerate(indices):
            height, width = SIZES[index]
            seen[index] = predictions[k, :height, :width].clone()  # the image, without padding

    split = ZeroShotSplit(tuple("abcd"), (3,))
    _, confusion = evaluate(
        _segment(),
        Reader(),
        split,
        torch.device("cpu"),
        batch_size=batch_size,
        progress=False,
        on_batch=keep,
    )
    return seen, confusion


def test_predictions_equal_for_batch_size_1_and_3() -> None:
    single, single_confusion = _predictions(1)
    batched, batched_confusion = _predictions(3)
    assert sorted(single) == sorted(batched) == list(range(len(SIZES)))
    for index in single:
        torch.testing.assert_close(single[index], batched[index], rtol=0, atol=0)
    torch.testing.assert_close(single_confusion, batched_confusion, rtol=0, atol=0)
    assert int(single_confusion.sum()) == sum(h * w for h, w in SIZES)
    assert all(len(single[index].unique()) > 1 for index in single)  # not one class everywhere
