"""``Segmenter`` and ``cagnet predict``: class names, adaptation, outputs and bad input."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image
from predict_helpers import SHARED_DATA, tiny_run

from cagnet.cli import main
from cagnet.errors import DataError
from cagnet.inference import ClassNameError, Segmenter
from cagnet.inference import adapt as adapt_module

VOC_SAMPLES = SHARED_DATA / "samples" / "voc2012" / "JPEGImages"


@pytest.fixture(scope="module")
def run():
    return tiny_run()


@pytest.fixture
def segmenter(run, tmp_path):
    return Segmenter.load(run[1], cache_dir=tmp_path / "cache")


def _image(seed=0, size=(40, 48)):
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def test_predict_takes_paths_pil_images_and_arrays(segmenter, tmp_path):
    array = _image()
    Image.fromarray(array).save(tmp_path / "a.png")
    by_path = segmenter.predict(tmp_path / "a.png")
    by_pil = segmenter.predict(Image.fromarray(array))
    by_array = segmenter.predict(array)
    assert by_path.labels.shape == (40, 48) and by_path.labels.dtype == np.int64
    assert by_path.scores.shape == (16, 40, 48) and by_path.scores.dtype == np.float32
    np.testing.assert_allclose(by_path.scores.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(by_path.scores, by_pil.scores)
    np.testing.assert_array_equal(by_path.scores, by_array.scores)
    np.testing.assert_array_equal(by_path.labels, by_path.scores.argmax(axis=0))


def test_a_batch_gives_the_results_of_single_images(segmenter):
    images = [_image(0), _image(1, (24, 32)), _image(2)]
    batch = segmenter.predict_batch(images, batch_size=2)
    for image, out in zip(images, batch, strict=True):
        np.testing.assert_allclose(out.scores, segmenter.predict(image).scores, atol=1e-5)


def test_new_names_retrain_the_classifier_and_are_cached(segmenter, run, tmp_path, monkeypatch):
    own = segmenter.model.heads.classifier.weight.clone()
    names = ["sky", "road", "car", "zebra"]
    out = segmenter.predict(_image(), classes=names)
    assert out.class_names == names and out.scores.shape[0] == 4
    adapted = segmenter.network(names).model.heads.classifier.weight
    assert adapted.shape == (4, own.shape[1])
    assert not torch.allclose(adapted[0], own[0])  # "sky" retrained with the new classes
    assert torch.equal(segmenter.model.heads.classifier.weight, own)  # the model is untouched

    def no_training(*args, **kwargs):
        raise AssertionError("the cached classifier should have been used")

    monkeypatch.setattr(adapt_module, "adapt_cagnet", no_training)
    again = Segmenter.load(run[1], cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(again.predict(_image(), classes=names).scores, out.scores, atol=1e-6)


def test_calibration_lowers_the_seen_scores(segmenter):
    names = ["sky", "green square"]  # seen, unseen
    assert segmenter.seen_mask(names) == [True, False]
    plain = segmenter.predict(_image(), classes=names)
    calibrated = segmenter.predict(_image(), classes=names, calibrate=2.0)
    assert (calibrated.scores[1] > plain.scores[1]).all()
    logit_gap = np.log(plain.scores[0] / plain.scores[1]) - 2.0
    np.testing.assert_allclose(
        np.log(calibrated.scores[0] / calibrated.scores[1]), logit_gap, atol=1e-3
    )


@pytest.mark.parametrize(
    "classes, message",
    [
        ([], "empty"),
        (["sky", "road", "Sky"], "more than once"),
        (["sky", "qwzxvkjh"], "'qwzxvkjh' cannot be embedded.*glove"),
    ],
)
def test_bad_class_lists_are_clear_errors(segmenter, classes, message):
    with pytest.raises(ClassNameError, match=message):
        segmenter.predict(_image(), classes=classes)


def test_cli_writes_labels_overlays_summary_and_scores(run, tmp_path):
    if not VOC_SAMPLES.is_dir():
        pytest.skip(f"{VOC_SAMPLES} is absent (the shared test data)")
    output = tmp_path / "out"
    code = main(
        ["predict", "--model", str(run[1]), "--classes", "sky,road,green square", "--scores"]
        + [str(VOC_SAMPLES / "*.jpg"), "--output", str(output), "--quiet"]
        + ["--cache-dir", str(tmp_path / "cache")]
    )
    assert code == 0
    assert (output / "classes.txt").read_text().split("\n")[:3] == ["sky", "road", "green square"]
    stems = sorted(p.stem for p in VOC_SAMPLES.glob("*.jpg"))
    assert len(stems) == 3
    with (output / "summary.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 3 * 3
    for stem in stems:
        picture = Image.open(VOC_SAMPLES / f"{stem}.jpg")
        labels = Image.open(output / f"{stem}.labels.png")
        assert labels.mode == "P" and labels.size == picture.size
        values = np.asarray(labels)
        assert values.max() < 3
        scores = np.load(output / f"{stem}.scores.npy")
        assert scores.shape == (3, picture.size[1], picture.size[0])
        np.testing.assert_array_equal(values, scores.argmax(axis=0))
        mine = [r for r in rows if r["image"] == f"{stem}.jpg"]
        fractions = [float(r["pixel_fraction"]) for r in mine]
        assert sum(fractions) == pytest.approx(1.0, abs=1e-4)
        for k, fraction in enumerate(fractions):
            assert fraction == pytest.approx((values == k).mean(), abs=1e-6)
        overlay = Image.open(output / f"{stem}.overlay.png")
        assert overlay.size[0] == picture.size[0] and overlay.size[1] > picture.size[1]


def test_an_image_that_does_not_decode_leaves_no_output(run, tmp_path, capsys):
    Image.fromarray(_image()).save(tmp_path / "good.png")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg at all")
    output = tmp_path / "results" / "out"
    code = main(
        ["predict", "--model", str(run[1]), str(tmp_path / "good.png")]
        + [str(tmp_path / "broken.jpg"), "--output", str(output), "--quiet"]
    )
    assert code == 2
    assert "broken.jpg" in capsys.readouterr().err
    assert not output.exists()
    assert list((tmp_path / "results").iterdir()) == []


def test_cli_errors_name_the_problem_and_write_nothing(run, tmp_path, capsys):
    output = tmp_path / "out"
    Image.fromarray(_image()).save(tmp_path / "good.png")
    cases = [
        (["--model", str(tmp_path / "missing.cagnet.pt")], "missing.cagnet.pt does not exist"),
        (["--model", str(run[1]), "--classes", "sky,sky"], "more than once"),
        (["--model", str(run[1]), "--classes", ","], "empty name"),
        (["--model", str(run[1]), "--classes", "sky,blorptangle"], "'blorptangle'"),
    ]
    for arguments, message in cases:
        code = main(["predict", str(tmp_path / "good.png"), "--output", str(output), *arguments])
        assert code == 2
        assert message in capsys.readouterr().err
        assert not output.exists()
    with pytest.raises(DataError, match="matches no file"):
        from cagnet.inference.cli import collect_inputs

        collect_inputs([str(tmp_path / "*.webp")])


def test_spnet_swaps_its_embedding_rows():
    segmenter = Segmenter.load(tiny_run("spnet")[1])
    image = torch.rand(1, 3, 40, 48)
    own = segmenter.network()(image)
    sky = segmenter.class_names.index("sky")
    mixed = segmenter.network(["zebra", "sky"])(image)
    assert mixed.shape == (1, 2, 40, 48)
    # A class's score is its own embedding row . projected F: the other classes do not matter.
    torch.testing.assert_close(mixed[:, 1], own[:, sky], atol=1e-5, rtol=0)
    assert not torch.allclose(mixed[:, 0], own[:, sky])


def test_zs3net_retrains_its_classifier_on_generated_features(tmp_path):
    segmenter = Segmenter.load(tiny_run("zs3net")[1], cache_dir=tmp_path)
    own = segmenter.model.classifier.weight.clone()
    names = ["sky", "zebra", "green square"]
    classifier = segmenter.network(names).model.classifier
    assert classifier.weight.shape == (3, own.shape[1])
    sky = segmenter.class_names.index("sky")
    assert not torch.allclose(classifier.weight[0], own[sky])
    assert torch.equal(segmenter.model.classifier.weight, own)
    out = segmenter.predict(_image(), classes=names)
    assert out.scores.shape == (3, 40, 48)
