import math

import pytest
import torch

from cagnet.evaluation.metrics import confusion_matrix, harmonic_iou, report


def test_confusion_matrix_skips_ignore():
    labels = torch.tensor([0, 1, 255, 2])
    predictions = torch.tensor([0, 2, 1, 2])
    confusion = confusion_matrix(predictions, labels, 3)
    assert confusion.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 1]]


def test_report_by_hand_with_an_absent_class():
    # classes 0, 1 seen; 2, 3 unseen; class 3 never in the ground truth.
    confusion = torch.tensor(
        [
            [8, 2, 0, 0],  # class 0: 8 right
            [1, 3, 0, 0],  # class 1: 3 right
            [0, 2, 4, 2],  # class 2: 4 right, 2 predicted as absent class 3
            [0, 0, 0, 0],
        ]
    )
    result = report(confusion, seen=[0, 1], unseen=[2, 3])
    iou0, iou1, iou2 = 8 / (10 + 9 - 8), 3 / (4 + 7 - 3), 4 / (8 + 4 - 4)
    assert result.seen.miou == pytest.approx((iou0 + iou1) / 2)
    assert result.unseen.miou == pytest.approx(iou2)  # the absent class is left out
    assert result.seen.pixel_accuracy == pytest.approx(11 / 14)
    assert result.seen.mean_accuracy == pytest.approx((0.8 + 0.75) / 2)
    assert result.unseen.pixel_accuracy == pytest.approx(0.5)
    assert result.overall.miou == pytest.approx((iou0 + iou1 + iou2) / 3)
    assert result.overall.pixel_accuracy == pytest.approx(15 / 22)
    s, u = result.seen.miou, result.unseen.miou
    assert result.hiou == pytest.approx(2 * s * u / (s + u))
    assert math.isnan(result.class_iou[3])


def test_hiou_zero_without_nan():
    assert harmonic_iou(0.5, 0.0) == 0.0
    confusion = torch.tensor([[5, 0], [3, 0]])  # unseen class 1 never predicted
    result = report(confusion, seen=[0], unseen=[1])
    assert result.hiou == 0.0 and result.unseen.miou == 0.0
    assert not any(math.isnan(v) for v in result.flat().values())


def test_evaluate_never_predicts_an_invalid_class():
    import numpy as np

    from cagnet.data.sample import Sample
    from cagnet.data.split import ZeroShotSplit
    from cagnet.evaluation.evaluator import evaluate

    class OneImage:
        class_names = ("a", "b", "c")

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return Sample(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.int64), "x")

    def segment(images):  # class 2 scores highest everywhere
        logits = torch.zeros(images.shape[0], 3, 4, 4)
        logits[:, 2] = 5.0
        logits[:, 0] = 1.0
        return logits

    split = ZeroShotSplit(("a", "b", "c"), (2,))
    raw, _ = evaluate(segment, OneImage(), split, torch.device("cpu"), progress=False)
    masked, confusion = evaluate(
        segment,
        OneImage(),
        split,
        torch.device("cpu"),
        progress=False,
        valid_classes=[True, True, False],
    )
    assert raw.seen.pixel_accuracy == 0.0
    assert masked.seen.pixel_accuracy == 1.0 and confusion[:, 2].sum() == 0
