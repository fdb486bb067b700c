"""Self-training: pseudo-labelling rules, the pseudo-labelled reader and an end-to-end round."""

import json

import numpy as np
import pytest
import torch
import yaml
from helpers import small_overrides, tiny_model

from cagnet.build import build_data, hide_unseen
from cagnet.config import Config, LossConfig, SelfTrainingConfig, TrainConfig, load_config
from cagnet.data.loader import training_loader
from cagnet.data.readers.files import load_index_png
from cagnet.data.readers.pseudo_labelled import (
    PseudoLabelledReader,
    pseudo_label_path,
    write_pseudo_label,
)
from cagnet.data.sample import Sample
from cagnet.data.split import ZeroShotSplit
from cagnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from cagnet.errors import ConfigError, DataError, RunFolderError
from cagnet.training.loop import train
from cagnet.training.optim import build_optimizers
from cagnet.training.self_training import (
    NUM_KEYS,
    PSEUDO_LABEL_DIR,
    SUMMARY_NAME,
    confidence_keys,
    percent_cutoffs,
    pseudo_label,
    round_train_config,
    self_train,
)
from cagnet.training.steps import Replicas, training_step

NAMES = ("a", "b", "c", "u3", "u4")  # classes 3 and 4 are unseen
SPLIT = ZeroShotSplit(NAMES, (3, 4))
CPU = torch.device("cpu")


class CodeReader:
    """A reader whose image pixels carry a code (red channel) that the fake model decodes."""

    def __init__(self, codes, labels):
        self.codes = [np.asarray(c, dtype=np.uint8) for c in codes]
        self.labels = [np.asarray(label, dtype=np.int64) for label in labels]
        self.class_names, self.name = NAMES, "codes"
        self.valid_classes = np.ones(len(NAMES), dtype=bool)

    def __len__(self):
        return len(self.codes)

    def load_label(self, index):
        return self.labels[index]

    def __getitem__(self, index):
        image = np.repeat(self.codes[index][..., None], 3, axis=2)
        return Sample(image, self.labels[index], f"item{index}")


def code_model(table):
    """A fake ``segment``: logits (B, K, H, W) = table[code of each pixel] (no downsampling)."""
    table = torch.as_tensor(table, dtype=torch.float32)

    def segment(images):
        red = images[:, 0] * IMAGENET_STD[0] + IMAGENET_MEAN[0]
        codes = (red * 255).round().long().clamp(0, 255)
        return table[codes].permute(0, 3, 1, 2)

    return segment


def run_rule(tmp_path, reader, table, valid_classes=None, **rule):
    folder = tmp_path / "labels"
    config = SelfTrainingConfig(**rule)
    segment = code_model(table)
    summary = pseudo_label(segment, reader, SPLIT, config, folder, CPU, 2, False, valid_classes)
    return [load_index_png(pseudo_label_path(folder, i)) for i in range(len(reader))], summary


def percent_case():
    """Class 3 is predicted on 8 unlabelled pixels with logits 1..8, class 4 on 3 with 1..3."""
    table = np.zeros((256, 5))
    for code in range(10, 18):
        table[code, 3] = code - 9  # codes 10..17 -> class 3, logit 1..8
    for code in range(20, 23):
        table[code, 4] = code - 19  # codes 20..22 -> class 4, logit 1..3
    table[30, 0] = 5  # a seen class wins
    U = 255
    reader = CodeReader(
        codes=[[[10, 11, 12, 13, 30, 20, 17, 0]], [[14, 15, 16, 21, 22, 13]]],
        labels=[[[U, U, U, 1, U, U, U, 0]], [[U, U, U, U, U, U]]],
    )
    return reader, table


def test_percent_rule_keeps_exactly_the_top_share_per_unseen_class(tmp_path):
    reader, table = percent_case()
    labels, summary = run_rule(tmp_path, reader, table, rule="percent", percent=50.0)
    U = 255
    # Class 3: 8 candidates (code 13 in image 0 carries seen label 1); the 4 most confident
    # are codes 14..17. Class 4: 3 candidates, ceil(1.5) = 2 kept: codes 21 and 22.
    assert labels[0].tolist() == [[U, U, U, U, U, U, 3, U]]
    assert labels[1].tolist() == [[3, 3, 3, 4, 4, U]]
    assert summary["classes"]["u3"] == {
        "index": 3,
        "proposed": 8,
        "pseudo_labelled": 4,
        "min_score": pytest.approx(np.exp(5) / (np.exp(5) + 4)),
    }
    assert summary["classes"]["u4"]["proposed"] == 3
    assert summary["classes"]["u4"]["pseudo_labelled"] == 2
    assert summary["pseudo_labelled_pixels"] == 6 and summary["num_images"] == 2
    assert summary["unlabelled_pixels"] == 12


def test_percent_rule_extremes_and_threshold(tmp_path):
    reader, table = percent_case()
    none, _ = run_rule(tmp_path / "0", reader, table, rule="percent", percent=0.0)
    assert all((label == 255).all() for label in none)
    every, summary = run_rule(tmp_path / "100", reader, table, rule="percent", percent=100.0)
    assert summary["pseudo_labelled_pixels"] == 11  # every unlabelled unseen prediction
    # threshold: p(class 3 | logit a) = e^a / (e^a + 4) >= 0.9 needs a >= 4 (e^4/(e^4+4) = .93)
    _, summary = run_rule(tmp_path / "t", reader, table, rule="percent", percent=100, threshold=0.9)
    assert summary["classes"]["u3"]["pseudo_labelled"] == 5  # logits 4..8
    assert summary["classes"]["u4"]["pseudo_labelled"] == 0


def test_topk_rule_takes_the_best_ranked_unseen_class_among_the_top_k(tmp_path):
    table = np.zeros((256, 5))
    table[40] = [3, 0, 0, 2, 0]  # top-2: a, u3 -> 3
    table[41] = [3, 2, 1, 0, 0]  # top-3: a, b, c -> none
    table[42] = [0, 0, 0, 0, 3]  # top-1: u4 -> 4
    table[43] = [3, 0, 0, 0.5, 2.9]  # top-2: a, u4 -> 4 (u3 ranks lower)
    table[44] = [5, 4, 0, 3, 0]  # top-2: a, b -> none; top-3 -> 3
    U = 255
    reader = CodeReader([[[40, 41, 42, 43, 44, 42]]], [[[U, U, U, U, U, 2]]])
    (top2,), _ = run_rule(tmp_path / "k2", reader, table, rule="topk", top_k=2)
    assert top2.tolist() == [[3, U, 4, 4, U, U]]  # the labelled last pixel stays unlabelled
    (top3,), _ = run_rule(tmp_path / "k3", reader, table, rule="topk", top_k=3)
    assert top3.tolist() == [[3, U, 4, 4, 3, U]]
    (top1,), _ = run_rule(tmp_path / "k1", reader, table, rule="topk", top_k=1)
    assert top1.tolist() == [[U, U, 4, U, U, U]]
    # p(u3) for code 40 is 0.24 and p(u4) for code 43 is 0.43: a 0.3 threshold drops the first.
    (high,), _ = run_rule(tmp_path / "t", reader, table, rule="topk", top_k=2, threshold=0.3)
    assert high.tolist() == [[U, U, 4, 4, U, U]]
    # A class that can never occur (valid_classes False) is never proposed.
    valid = [True, True, True, True, False]
    (no_u4,), _ = run_rule(tmp_path / "v", reader, table, valid, rule="topk", top_k=2)
    assert no_u4[0, 3] == 3 and not (no_u4 == 4).any()


def test_pseudo_labels_ignore_the_hidden_unseen_ground_truth(tmp_path):
    reader, table = percent_case()
    U = 255
    # Two ground truths that differ only where training cannot look: unseen classes at other
    # places (and void elsewhere). Training sees the same labels, so pseudo-labels agree.
    first = CodeReader(reader.codes, [[[3, 4, U, 1, U, 3, U, 0]], [[U, 4, 3, U, U, U]]])
    second = CodeReader(reader.codes, [[[U, U, 4, 1, 3, U, 4, 0]], [[4, U, U, 3, 3, 4]]])
    ours, _ = run_rule(tmp_path / "1", hide_unseen(first, SPLIT), table, rule="percent")
    theirs, _ = run_rule(tmp_path / "2", hide_unseen(second, SPLIT), table, rule="percent")
    assert any((label != U).any() for label in ours)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_percent_cutoffs_count_exactly_and_keys_are_monotone():
    histograms = torch.zeros(2, NUM_KEYS, dtype=torch.long)
    histograms[0, [5, 9, 20]] = torch.tensor([3, 2, 5])  # 10 pixels
    histograms[1, 7] = 1
    assert percent_cutoffs(histograms, 30.0).tolist() == [5, 7]  # 3 of 10 at key 5; 1 of 1
    assert percent_cutoffs(histograms, 31.0).tolist() == [9, 7]  # ceil(3.1) = 4 pixels
    assert percent_cutoffs(histograms, 0.0).tolist() == [-1, -1]
    uncertainty = torch.tensor([0.0, 1e-30, 1e-7, 2e-7, 0.25, 0.5, 1.0, -0.0])
    keys = confidence_keys(uncertainty)
    assert keys[:7].tolist() == sorted(set(keys[:7].tolist()))  # strictly increasing
    assert keys[0] == 0 and keys[6] == NUM_KEYS - 1 and keys[7] == 0


def test_reader_fills_only_unlabelled_pixels(tmp_path):
    base = CodeReader([[[0, 0], [0, 0]]], [[[0, 255], [255, 2]]])
    write_pseudo_label(tmp_path, 0, np.array([[3, 4], [255, 3]]))
    reader = PseudoLabelledReader(base, tmp_path)
    assert reader[0].label.tolist() == [[0, 4], [255, 2]]
    assert reader.load_label(0).tolist() == [[0, 4], [255, 2]]
    assert reader[-1].label.tolist() == [[0, 4], [255, 2]] and len(reader) == 1
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temporary file


def test_reader_rejects_bad_pseudo_labels(tmp_path):
    base = CodeReader([[[0, 0]]], [[[0, 255]]])
    with pytest.raises(DataError, match="does not exist"):
        PseudoLabelledReader(base, tmp_path / "missing")
    write_pseudo_label(tmp_path, 0, np.array([[3, 4, 4]]))
    with pytest.raises(DataError, match="belong to another data set"):
        PseudoLabelledReader(base, tmp_path)[0]
    write_pseudo_label(tmp_path, 0, np.array([[3, 9]]))
    with pytest.raises(DataError, match=r"value\(s\) \[9\]"):
        PseudoLabelledReader(base, tmp_path)[0]


def test_training_step_learns_from_unseen_pseudo_labels():
    model = tiny_model()
    replicas = Replicas(model, model.encoder, model.generator, model.heads)
    optimizers = build_optimizers(model, TrainConfig())
    labels = torch.full((2, 16, 16), 4)  # an unseen class everywhere
    labels[:, :, :8] = 1
    generator_before = [p.clone() for p in model.generator.parameters()]
    log = training_step(replicas, optimizers, torch.randn(2, 3, 16, 16), labels, LossConfig())
    assert all(np.isfinite(v) for v in log.values()) and log["labelled_pixels"] == 128
    after = model.generator.parameters()
    assert any(not torch.equal(a, b) for a, b in zip(generator_before, after, strict=True))


def test_round_config_alternates_from_the_start_with_scaled_rates():
    config = round_train_config(Config())
    assert config.train.iterations == 300 and config.train.pretrain_iterations == 0
    assert config.train.lr == pytest.approx(Config().train.lr * 0.2)
    assert config.self_training.enabled and config.name == "demo-st"
    again = round_train_config(config)  # an ST run's rates are not scaled twice
    assert again.train == config.train and again.name == "demo-st"
    with pytest.raises(ConfigError, match="self_training.rule='best'"):
        round_train_config(load_config(None, ["self_training.rule=best"]))


def _snapshot(folder):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def test_self_train_writes_new_run_folders_and_leaves_the_source_alone(tmp_path):
    source = train(
        load_config(None, small_overrides(tmp_path, iterations=4)),
        run_dir=tmp_path / "source",
        progress=False,
    ).run_dir
    before = _snapshot(source)
    overrides = [
        "self_training.rule=topk",
        "self_training.top_k=16",  # every unlabelled pixel gets an unseen class
        "self_training.iterations=2",
        "self_training.rounds=2",
    ]
    result = self_train(source, overrides, run_dir=tmp_path / "st", progress=False)
    assert _snapshot(source) == before
    first, second = tmp_path / "st", tmp_path / "st-round2"
    assert result.run_dir == second and result.metrics is not None
    config = yaml.safe_load((first / "config.yaml").read_text())
    assert config["self_training"]["enabled"] and config["train"]["pretrain_iterations"] == 0
    assert config["train"]["iterations"] == 2
    for folder, checkpoint in ((first, source), (second, first)):
        summary = json.loads((folder / SUMMARY_NAME).read_text())
        assert summary["source_checkpoint"] == str(checkpoint / "checkpoint.pt")
        assert summary["num_images"] == 12 and summary["pseudo_labelled_pixels"] > 0
        # Real scores (> 0): the unseen classes were not masked as "never occurring".
        labelled = [c for c in summary["classes"].values() if c["pseudo_labelled"]]
        assert labelled and all(c["min_score"] > 0 for c in labelled)
        assert len(list((folder / PSEUDO_LABEL_DIR).glob("*.png"))) == 12
        assert (folder / "checkpoint.pt").is_file() and (folder / "metrics.json").is_file()

    # Pseudo-labels fill exactly the pixels training saw as 255, and reach the training batches.
    data = build_data(load_config(first / "config.yaml"))
    reader = PseudoLabelledReader(data.train, first / PSEUDO_LABEL_DIR)
    for index in range(len(reader)):
        hidden, filled = data.train.load_label(index), reader.load_label(index)
        np.testing.assert_array_equal(filled[hidden != 255], hidden[hidden != 255])
        assert (filled[hidden == 255] != 255).all()
    images, labels = next(iter(training_loader(reader, Config().augment, 4, 0, 0, 1)))
    assert torch.isin(labels, torch.tensor(data.split.unseen)).any()
    with pytest.raises(RunFolderError, match="already exists"):
        self_train(source, ["self_training.iterations=2"], run_dir=first, progress=False)
