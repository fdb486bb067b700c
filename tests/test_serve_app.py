"""The web app's endpoints with a fake segmenter: results, bad input, queueing, no leftovers."""

import base64
import io
import threading
import time
import urllib.request
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the web extra (starlette, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the web extra (starlette, uvicorn) is not installed")
from serve_helpers import get_json, png_bytes, post_form  # noqa: E402

import cagnet.serve.app as serve_app  # noqa: E402
from cagnet.serve.app import ServeSettings, create_app  # noqa: E402
from cagnet.serve.background import serve_in_background  # noqa: E402


@dataclass
class FakePrediction:
    labels: np.ndarray
    class_names: list[str]


class FakeSegmenter:
    """Labels each pixel (y + x) mod C; counts calls and how many run at once."""

    class_names = ["road", "sky", "car"]

    def __init__(self, delay: float = 0.0):
        self.delay, self.active, self.most_active, self.calls = delay, 0, 0, 0
        self.lock = threading.Lock()
        self.seen_images: list[np.ndarray] = []

    def predict_batch(self, images, classes=None):
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            self.calls += 1
        time.sleep(self.delay)
        names = list(classes or self.class_names)
        results = []
        for image in images:
            self.seen_images.append(image)
            height, width = image.shape[:2]
            labels = np.add.outer(np.arange(height), np.arange(width)) % len(names)
            results.append(FakePrediction(labels, names))
        with self.lock:
            self.active -= 1
        return results


@pytest.fixture
def fake():
    return FakeSegmenter()


@pytest.fixture
def server(fake):
    with serve_in_background(create_app(fake)) as url:
        yield url


def decode_labels(result: dict) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(result["labels"]), dtype=np.uint8)
    return raw.reshape(result["height"], result["width"])


def test_a_result_has_the_label_map_areas_colours_and_label_png(server):
    status, body = post_form(
        f"{server}/api/segment", {"classes": "road, car"}, [("a.png", png_bytes())]
    )
    assert status == 200
    (result,) = body["results"]
    assert result["name"] == "a.png" and result["class_names"] == ["road", "car"]
    expected = np.add.outer(np.arange(30), np.arange(40)) % 2
    np.testing.assert_array_equal(decode_labels(result), expected)
    assert result["areas"] == np.bincount(expected.ravel()).tolist()
    assert len(set(result["colours"])) == 2
    png = Image.open(io.BytesIO(base64.b64decode(result["label_png"].split(",", 1)[1])))
    np.testing.assert_array_equal(np.asarray(png), expected)  # pixel value = class index


def test_several_uploads_and_an_example_in_one_request(server):
    files = [("a.png", png_bytes(20, 24)), ("b.png", png_bytes(30, 40, seed=1))]
    status, body = post_form(
        f"{server}/api/segment", {"classes": "car", "example": "drawn-street.jpg"}, files
    )
    assert status == 200
    assert [r["name"] for r in body["results"]] == ["a.png", "b.png", "drawn-street.jpg"]
    assert [(r["height"], r["width"]) for r in body["results"]] == [(20, 24), (30, 40), (360, 480)]


def test_the_page_and_the_model_description(server):
    info = get_json(f"{server}/api/info")
    assert info["class_names"] == ["road", "sky", "car"]
    assert info["examples"] == ["drawn-street.jpg"] and info["max_megapixels"] == 20
    with urllib.request.urlopen(f"{server}/", timeout=10) as response:
        page = response.read().decode()
    assert 'id="classes"' in page and "/static/app.js" in page
    with urllib.request.urlopen(f"{server}/static/app.js", timeout=10) as response:
        assert b"/api/segment" in response.read()


@pytest.mark.parametrize(
    ("fields", "files", "words"),
    [
        ({"classes": "car"}, [("notes.txt", b"not a picture")], ["notes.txt", "not an image"]),
        ({"classes": " , "}, [("a.png", png_bytes())], ["class list is empty"]),
        ({"classes": "car, car"}, [("a.png", png_bytes())], ["more than once"]),
        ({"classes": "car"}, [], ["no image given"]),
        ({"classes": "car", "example": "nope.jpg"}, [], ["no example named 'nope.jpg'"]),
    ],
)
def test_bad_input_gets_a_message_and_the_server_keeps_serving(server, fake, fields, files, words):
    status, body = post_form(f"{server}/api/segment", fields, files)
    assert status == 400 and all(word in body["error"] for word in words), body
    assert fake.calls == 0
    status, _ = post_form(f"{server}/api/segment", {"classes": "car"}, [("a.png", png_bytes())])
    assert status == 200


def test_an_image_over_the_size_limit_is_refused_before_decoding(fake):
    settings = ServeSettings(max_megapixels=0.001)  # 1000 pixels
    with serve_in_background(create_app(fake, settings)) as url:
        status, body = post_form(
            f"{url}/api/segment", {"classes": "car"}, [("big.png", png_bytes())]
        )
        assert status == 400 and "40x30" in body["error"] and "0.001" in body["error"]
        small = png_bytes(20, 40)  # 800 pixels
        assert post_form(f"{url}/api/segment", {"classes": "car"}, [("s.png", small)])[0] == 200
    assert fake.calls == 1


def test_concurrent_requests_queue_one_at_a_time_on_the_model():
    fake = FakeSegmenter(delay=0.2)
    statuses = []
    with serve_in_background(create_app(fake)) as url:

        def ask():
            files = [("a.png", png_bytes())]
            statuses.append(post_form(f"{url}/api/segment", {"classes": "car"}, files)[0])

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 4 and fake.calls == 4
    assert fake.most_active == 1


def test_upload_files_are_closed_before_the_model_runs(monkeypatch):
    """Uploads over 1 MB spool to temporary files: they must be gone when the model runs."""
    spooled = []
    original = serve_app.UploadFile.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        spooled.append(self)

    monkeypatch.setattr(serve_app.UploadFile, "__init__", recording_init)
    closed_when_run = []

    class Checking(FakeSegmenter):
        def predict_batch(self, images, classes=None):
            closed_when_run.append([upload.file.closed for upload in spooled])
            return super().predict_batch(images, classes)

    big = png_bytes(700, 700)  # about 1.5 MB of noise as PNG
    assert len(big) > 1 << 20
    with serve_in_background(create_app(Checking())) as url:
        status, _ = post_form(f"{url}/api/segment", {"classes": "car"}, [("big.png", big)])
    assert status == 200 and closed_when_run == [[True]]
