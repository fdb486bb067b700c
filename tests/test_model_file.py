"""The portable model file: what it holds, that it loads safely, and its errors."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from predict_helpers import tiny_run

import cagnet
from cagnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from cagnet.inference import ModelFileError, Segmenter, export_model, load_model_file
from cagnet.inference.model_file import FORMAT, FORMAT_VERSION
from cagnet.training.loop import load_trained_model, read_run_config


@pytest.fixture(scope="module")
def run():
    return tiny_run()


def test_the_model_file_holds_names_seen_marks_method_and_metrics(run):
    run_dir, path = run
    meta = load_model_file(path).meta
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert meta["class_names"] == metrics["class_names"]
    assert [not s for s in meta["seen"]] == [
        name in metrics["unseen_classes"] for name in meta["class_names"]
    ]
    assert meta["method"] == "cagnet" and meta["version"] == cagnet.__version__
    assert meta["metrics"]["hiou"] == metrics["hiou"]
    assert meta["embedding_sources"] == ["glove"]
    assert meta["input_normalisation"] == {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    assert meta["backbone"]["name"] == "small_cnn"
    assert meta["packaged_backbone_keys"] == []  # a random-init backbone is stored


def test_known_names_give_the_scores_of_the_eval_model(run):
    run_dir, path = run
    config = read_run_config(run_dir)
    model, data, _ = load_trained_model(config, run_dir / "checkpoint.pt", torch.device("cpu"))
    image = data.val[0].image
    segmenter = Segmenter.load(path)
    normalised = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    normalised = (normalised - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    with torch.no_grad():
        logits = model.segment(normalised)
        logits = F.interpolate(logits, size=image.shape[:2], mode="bilinear", align_corners=False)
    expected = torch.softmax(logits, dim=1)[0].numpy()
    out = segmenter.predict(image)
    assert out.class_names == segmenter.class_names
    np.testing.assert_allclose(out.scores, expected, atol=1e-5)
    # The same classes in another order: the classifier's rows, permuted, no retraining.
    order = list(reversed(segmenter.class_names))
    permuted = segmenter.predict(image, classes=order)
    np.testing.assert_allclose(permuted.scores, expected[::-1], atol=1e-5)


class Payload:  # a pickled object that is not a tensor or plain container
    pass


def test_the_file_is_read_with_weights_only(run, tmp_path):
    _, path = run
    payload = torch.load(path, weights_only=True)
    payload["extra"] = Payload()
    unsafe = tmp_path / "unsafe.cagnet.pt"
    torch.save(payload, unsafe)
    with pytest.raises(ModelFileError, match="weights_only=True"):
        load_model_file(unsafe)


def test_a_newer_format_is_refused_naming_the_versions(run, tmp_path):
    _, path = run
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    newer = tmp_path / "newer.cagnet.pt"
    torch.save(payload, newer)
    with pytest.raises(ModelFileError, match=f"format version {FORMAT_VERSION + 1}.*upgrade"):
        load_model_file(newer)


def test_a_config_key_this_package_lacks_is_named(run, tmp_path):
    _, path = run
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["meta"])
    meta["config"]["model"]["new_switch"] = True
    meta["version"] = "9.0.0"
    payload["meta"] = json.dumps(meta)
    future = tmp_path / "future.cagnet.pt"
    torch.save(payload, future)
    with pytest.raises(ModelFileError, match="new_switch.*cagnet 9.0.0"):
        Segmenter.load(future)


def test_missing_files_and_checkpoints_are_clear_errors(run, tmp_path):
    run_dir, _ = run
    with pytest.raises(ModelFileError, match="does not exist"):
        Segmenter.load(tmp_path / "nothing.cagnet.pt")
    with pytest.raises(ModelFileError, match="checkpoint.pt"):
        load_model_file(run_dir / "checkpoint.pt")
    other = tmp_path / "weights.pt"
    torch.save({"model": {}, "iteration": 3}, other)
    with pytest.raises(ModelFileError, match="not a cagnet model file.*export-model"):
        load_model_file(other)
    assert FORMAT == "cagnet-model"


def test_export_never_overwrites_a_file(run):
    run_dir, path = run
    with pytest.raises(ModelFileError, match="exists already"):
        export_model(run_dir, path)


def test_a_half_precision_file_is_smaller_and_scores_nearly_the_same(run, tmp_path):
    run_dir, path = run
    half = export_model(run_dir, tmp_path / "half.cagnet.pt", half=True)
    assert half.stat().st_size < 0.75 * path.stat().st_size
    assert load_model_file(half).state["heads.classifier.weight"].dtype == torch.float16
    image = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    full_scores = Segmenter.load(path).predict(image).scores
    half_scores = Segmenter.load(half).predict(image).scores
    np.testing.assert_allclose(half_scores, full_scores, atol=5e-3)
    assert not np.array_equal(half_scores, full_scores)
