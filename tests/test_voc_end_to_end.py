"""``cagnet train`` then ``cagnet eval`` through the CLI on three real Pascal-VOC images.

The shipped voc12 config with a tiny backbone, the official word2vec rows and the SPNet
protocol: the VOC reader reads the palette masks, background is dropped, the unseen sheep is
hidden in training and scored at evaluation, and the metrics are written.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import SHARED, assert_scores_follow_from_class_iou
from PIL import Image

from cagnet.cli import main
from cagnet.data.readers.class_names import VOC_CLASSES, VOC_OBJECT_CLASSES

SAMPLES = SHARED / "samples" / "voc2012"
WORD2VEC = SHARED / "benchmarks" / "cagnet-official" / "voc12" / "word_vectors" / "word2vec.pkl"
CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "voc12_cagnet.yaml")

pytestmark = pytest.mark.skipif(
    not (SAMPLES.is_dir() and WORD2VEC.is_file()),
    reason=f"the VOC samples and official word vectors of ../shared are not at {SHARED}",
)


def overrides(tmp_path) -> list[str]:
    """The shipped voc12 config, shrunk to seconds on a CPU: same data path, protocol, schedule
    shape and test-time warp; a small CNN instead of DeepLab v2."""
    values = [
        f"output_dir={tmp_path / 'runs'}",
        "device=cpu",
        f"dataset.root={SAMPLES}",
        "dataset.train_split=all",
        "dataset.val_split=all",
        f"embeddings.sources=[{WORD2VEC}]",
        "augment.crop_size=64",
        "model.backbone.name=small_cnn",
        "model.backbone.out_channels=16",
        "model.backbone.output_stride=4",
        "model.backbone.pretrained=",
        "model.backbone.multi_scale=[]",
        "model.generator_hidden=[32]",
        "model.heads_hidden=16",
        "train.batch_size=2",
        "train.iterations=4",
        "train.pretrain_iterations=2",
        "train.alternate_every=1",
        "train.num_workers=0",
        "train.log_every=1",
        "eval.warp_size=96",
        "eval.num_overlays=1",
    ]
    return [item for value in values for item in ("--set", value)]


def labelled_pixels() -> dict[int, int]:
    """VOC label value -> pixel count over the sample masks (palette indices, 255 left out)."""
    counts: dict[int, int] = {}
    for mask in sorted((SAMPLES / "SegmentationClass").glob("*.png")):
        values, numbers = np.unique(np.array(Image.open(mask)), return_counts=True)
        for value, number in zip(values.tolist(), numbers.tolist(), strict=True):
            if value != 255:
                counts[value] = counts.get(value, 0) + number
    return counts


def test_cli_trains_and_evaluates_on_real_voc_images(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", CONFIG, *overrides(tmp_path), "--run-dir", str(run_dir), "--quiet"]) == 0
    assert (run_dir / "checkpoint.pt").is_file()

    output = tmp_path / "eval"
    arguments = [
        "eval",
        CONFIG,
        *overrides(tmp_path),
        "--checkpoint",
        str(run_dir / "checkpoint.pt"),
    ]
    assert main([*arguments, "--output", str(output)]) == 0
    assert "hIoU" in capsys.readouterr().out

    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["dataset"] == "voc"
    assert metrics["images_evaluated"] == metrics["images_in_split"] == 3
    assert metrics["class_names"] == list(VOC_OBJECT_CLASSES)  # spnet: no background
    # metrics.json's "unseen" key holds the unseen scores; the class table names the split.
    table = (output / "metrics.md").read_text()
    for name in ("potted plant", "sheep", "sofa", "train", "tv monitor"):
        assert f"| {name} | unseen |" in table
    assert "| aeroplane | seen |" in table
    assert metrics["test_time"]["warp_size"] == 96
    assert_scores_follow_from_class_iou(metrics)

    # Every labelled object pixel of the masks was scored once, in its own class's row.
    confusion = np.array(metrics["confusion"])
    counts = labelled_pixels()
    objects = {value: number for value, number in counts.items() if value != 0}
    assert confusion.sum() == sum(objects.values())
    for value, number in objects.items():
        assert confusion[VOC_OBJECT_CLASSES.index(VOC_CLASSES[value])].sum() == number
    assert confusion[VOC_OBJECT_CLASSES.index("sheep")].sum() > 0
