"""The web app on a real (tiny) Segmenter: new names adapted once, then served from the cache."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("uvicorn", reason="the web extra (starlette, uvicorn) is not installed")
from serve_helpers import png_bytes, post_form, tiny_model_file  # noqa: E402

import cagnet.inference.segmenter as segmenter_module  # noqa: E402
from cagnet.inference import Segmenter  # noqa: E402
from cagnet.serve.app import create_app  # noqa: E402
from cagnet.serve.background import serve_in_background  # noqa: E402


def test_new_names_are_adapted_once_across_requests(tmp_path_factory, tmp_path, monkeypatch):
    segmenter = Segmenter.load(tiny_model_file(tmp_path_factory), cache_dir=tmp_path / "cache")
    calls = []
    original = segmenter_module.adapted_model

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(segmenter_module, "adapted_model", counting)
    names = f"{segmenter.class_names[0]}, car, tree"  # two names new to the model
    image = png_bytes(48, 64)
    bodies = []
    with serve_in_background(create_app(segmenter)) as url:
        for _ in range(3):
            status, body = post_form(f"{url}/api/segment", {"classes": names}, [("a.png", image)])
            assert status == 200, body
            bodies.append(body["results"][0])
    assert len(calls) == 1  # adapted on the first request only
    assert bodies[0]["class_names"] == [segmenter.class_names[0], "car", "tree"]
    labels = [base64.b64decode(body["labels"]) for body in bodies]
    assert labels[0] == labels[1] == labels[2]
    expected = segmenter.predict(image_of(image), names.split(", "))
    assert np.frombuffer(labels[0], np.uint8).reshape(48, 64).tolist() == expected.labels.tolist()


def image_of(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_cagnet_serve_binds_to_loopback_by_default(tmp_path_factory, monkeypatch):
    import uvicorn

    from cagnet.cli import main

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(kwargs, app=app))
    model = str(tiny_model_file(tmp_path_factory))
    assert main(["serve", "--model", model, "--max-megapixels", "3"]) == 0
    assert served["host"] == "127.0.0.1" and served["port"] == 8000
    assert main(["serve", "--model", model, "--host", "0.0.0.0", "--port", "8123"]) == 0
    assert served["host"] == "0.0.0.0" and served["port"] == 8123
