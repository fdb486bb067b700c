"""ONNX export of a real (tiny) model for a set of names, checked against PyTorch."""

import json

import numpy as np
import pytest
import torch
from helpers import SHARED

pytest.importorskip("onnx", reason="the onnx extra (onnx, onnxruntime) is not installed")
pytest.importorskip("onnxruntime", reason="the onnx extra (onnx, onnxruntime) is not installed")
import onnx  # noqa: E402
from serve_helpers import tiny_model_file  # noqa: E402

from cagnet.cli import main  # noqa: E402
from cagnet.deploy.onnx_export import (  # noqa: E402
    OnnxCheck,
    OnnxCheckError,
    compare_with_torch,
    export_network,
    onnx_session,
    require_agreement,
    to_batch,
)
from cagnet.inference import Segmenter  # noqa: E402
from cagnet.inference.segmenter import image_array  # noqa: E402
from cagnet.serve.app import PACKAGE  # noqa: E402

CAMVID_VAL = SHARED / "datasets" / "camvid" / "images" / "val"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return tiny_model_file(tmp_path_factory)


def real_images() -> list[np.ndarray]:
    """The bundled drawn example, plus two CamVid val photos when ../shared is there."""
    images = [image_array(PACKAGE / "examples" / "drawn-street.jpg")]
    if CAMVID_VAL.is_dir():
        images += [image_array(p) for p in sorted(CAMVID_VAL.glob("*.jpg"))[:2]]
    return images


def test_export_has_dynamic_batch_height_width_and_matches_torch(model_file, tmp_path):
    segmenter = Segmenter.load(model_file, cache_dir=tmp_path / "cache")
    names = [segmenter.class_names[0], segmenter.class_names[-1], "car"]  # "car" is new
    network = segmenter.network(names)
    path = export_network(network, names, tmp_path / "model.onnx")
    proto = onnx.load(path)
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert json.loads(metadata["class_names"]) == names

    session = onnx_session(path)
    batch = np.random.default_rng(0).random((2, 3, 37, 53), dtype=np.float32)  # odd, unseen size
    (scores,) = session.run(["scores"], {"images": batch})
    assert scores.shape == (2, len(names), 37, 53)
    with torch.no_grad():
        expected = network(torch.from_numpy(batch)).numpy()
    assert np.abs(scores - expected).max() <= 1e-3

    check = compare_with_torch(path, network, real_images())
    assert check.max_abs_diff <= 1e-3 and check.argmax_agreement >= 0.999, check
    require_agreement(check)


def test_a_disagreeing_file_is_reported(model_file, tmp_path):
    segmenter = Segmenter.load(model_file, cache_dir=tmp_path / "cache")
    names = segmenter.class_names
    path = export_network(segmenter.network(), names, tmp_path / "own.onnx")
    other = segmenter.network(list(reversed(names)))  # the same scores, channels reversed
    check = compare_with_torch(path, other, real_images()[:1])
    assert check.max_abs_diff > 1e-3
    with pytest.raises(OnnxCheckError, match="disagrees with PyTorch"):
        require_agreement(check)
    with pytest.raises(OnnxCheckError, match="99.8"):
        require_agreement(OnnxCheck(max_abs_diff=0.0, argmax_agreement=0.998, pixels=1000))


def test_the_export_onnx_command_writes_and_checks(model_file, tmp_path):
    image = tmp_path / "street.jpg"
    image.write_bytes((PACKAGE / "examples" / "drawn-street.jpg").read_bytes())
    output = tmp_path / "out" / "model.onnx"
    argv = [
        "export-onnx", str(model_file), "--classes", "car, road", "--output", str(output),
        "--check", str(image), "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    assert main(argv) == 0
    session = onnx_session(output)
    (scores,) = session.run(["scores"], {"images": to_batch(image_array(image))})
    assert scores.shape == (1, 2, 360, 480)
    assert [p.name for p in output.parent.iterdir()] == ["model.onnx"]  # no temporary left


def test_same_padding_layers_are_exported_for_every_input_size(tmp_path):
    """A strided TF-"same" conv traced at an even size must still pad odd sizes correctly."""
    from efficientnet_lite_pytorch.utils import Conv2dDynamicSamePadding

    torch.manual_seed(0)
    network = torch.nn.Sequential(
        Conv2dDynamicSamePadding(3, 4, 3, stride=2), Conv2dDynamicSamePadding(4, 4, 5, stride=2)
    ).eval()
    path = export_network(network, ["a", "b", "c", "d"], tmp_path / "same.onnx")
    session = onnx_session(path)
    for height, width in [(64, 96), (37, 53), (30, 45)]:
        batch = torch.rand(1, 3, height, width)
        with torch.no_grad():
            expected = network(batch).numpy()
        (actual,) = session.run(["scores"], {"images": batch.numpy()})
        assert actual.shape == expected.shape
        assert np.abs(actual - expected).max() <= 1e-4, (height, width)


@pytest.mark.slow
@pytest.mark.skipif(not CAMVID_VAL.is_dir(), reason="../shared (CamVid val images) is absent")
def test_the_shipped_model_exports_and_agrees_on_camvid_photos(tmp_path):
    segmenter = Segmenter.load("camvid-streets", cache_dir=tmp_path / "cache")
    names = ["car", "road", "sky", "bus"]  # "bus" is new to the model
    network = segmenter.network(names)
    path = export_network(network, names, tmp_path / "streets.onnx")
    images = [image_array(p) for p in sorted(CAMVID_VAL.glob("*.jpg"))[:2]]
    images.append(images[0][:357, :475])  # odd sizes: the strided layers' padding changes
    check = compare_with_torch(path, network, images)
    assert check.max_abs_diff <= 1e-3 and check.argmax_agreement >= 0.999, check
