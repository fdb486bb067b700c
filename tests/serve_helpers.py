"""A tiny real model file, and multipart requests to a running ``cagnet serve`` app."""

import io
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
from helpers import small_overrides
from PIL import Image

from cagnet.config import load_config
from cagnet.inference import export_model
from cagnet.training.loop import train

_TRAINED: dict[str, Path] = {}


def tiny_model_file(tmp_path_factory) -> Path:
    """CaGNet trained on the embedded benchmark for 6 iterations, as a model file.

    Trained once per test session (in a session temporary folder) and shared by the modules.
    """
    if "model" not in _TRAINED:
        folder = tmp_path_factory.mktemp("tiny-model")
        overrides = small_overrides(folder, iterations=6) + ["embeddings.sources=[glove]"]
        result = train(load_config(None, overrides), run_dir=folder / "run", progress=False)
        _TRAINED["model"] = export_model(result.run_dir)
    return _TRAINED["model"]


def png_bytes(height: int = 30, width: int = 40, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def post_form(
    url: str, fields: dict[str, str], files: list[tuple[str, bytes]] = ()
) -> tuple[int, dict]:
    """POSTs a multipart form (``files`` as field ``images``); returns (status, JSON body)."""
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())
