"""The Starlette app behind ``cagnet serve``: one page, its script, and one segmenting endpoint.

Requests to segment run one at a time per model (an ``asyncio.Lock``): concurrent requests
wait their turn in the event loop instead of racing on the model. Uploads are read into memory,
their form files closed at once, and nothing of them outlives the request.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cagnet.errors import CagnetError
from cagnet.serve.results import encode_result
from cagnet.serve.uploads import (
    DEFAULT_MAX_MEGAPIXELS,
    UploadError,
    check_class_count,
    decode_image,
    parse_class_names,
)

PACKAGE = Path(str(resources.files("cagnet.serve")))
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class SegmenterLike(Protocol):
    """What the page needs of ``cagnet.Segmenter`` (a fake with these serves the unit tests)."""

    class_names: list[str]

    def predict_batch(self, images: Sequence[np.ndarray], classes: Sequence[str] | None = None):
        """One prediction (``labels`` (H, W), ``class_names``) per (H, W, 3) uint8 image."""


@dataclass(frozen=True)
class ServeSettings:
    """How the page behaves. ``examples`` is a folder of images offered as examples."""

    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    examples: Path = field(default_factory=lambda: PACKAGE / "examples")
    max_files: int = 16


def example_files(folder: Path) -> dict[str, Path]:
    """The example images in ``folder`` by file name (none when the folder is absent)."""
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_uploads(form, settings: ServeSettings, examples: dict[str, Path]):
    """The (name, bytes) of every uploaded file, plus the chosen example, if any."""
    files: list[tuple[str, bytes]] = []
    for upload in form.getlist("images"):
        if isinstance(upload, UploadFile) and upload.filename:
            files.append((upload.filename, await upload.read()))
    example = str(form.get("example") or "")
    if example:
        if example not in examples:
            raise UploadError(f"no example named {example!r}; pick one of {sorted(examples)}")
        files.append((example, examples[example].read_bytes()))
    if not files:
        raise UploadError("no image given: upload one or more images, or pick an example")
    if len(files) > settings.max_files:
        raise UploadError(f"{len(files)} images given; send at most {settings.max_files} at once")
    return files


def create_app(segmenter: SegmenterLike, settings: ServeSettings | None = None) -> Starlette:
    """The web app for one loaded model.

    Args:
        segmenter: a ``cagnet.Segmenter`` (or anything with ``class_names`` and ``predict_batch``).
        settings: size limits and the examples folder.
    """
    settings = settings or ServeSettings()
    examples = example_files(settings.examples)
    model_lock = asyncio.Lock()

    async def page(request: Request) -> Response:
        return HTMLResponse((PACKAGE / "page" / "index.html").read_text(encoding="utf-8"))

    async def info(request: Request) -> Response:
        return JSONResponse(
            {
                "class_names": list(segmenter.class_names),
                "seen": list(getattr(segmenter, "seen", [])),
                "method": getattr(segmenter, "method", ""),
                "examples": sorted(examples),
                "max_megapixels": settings.max_megapixels,
            }
        )

    async def example(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in examples:
            return _error(f"no example named {name!r}", status=404)
        return FileResponse(examples[name])

    def run_model(images: list[tuple[str, np.ndarray]], names: list[str]) -> list[dict]:
        predictions = segmenter.predict_batch([image for _, image in images], classes=names)
        return [
            encode_result(name, image, prediction.labels, prediction.class_names)
            for (name, image), prediction in zip(images, predictions, strict=True)
        ]

    async def segment(request: Request) -> Response:
        form = await request.form(max_files=settings.max_files + 1)
        try:
            names = parse_class_names(str(form.get("classes") or ""))
            check_class_count(names)
            files = await _read_uploads(form, settings, examples)
        except UploadError as error:
            return _error(str(error))
        finally:
            await form.close()  # spooled upload files go now, not at garbage collection
        try:
            images = [
                (name, await run_in_threadpool(decode_image, data, name, settings.max_megapixels))
                for name, data in files
            ]
            del files
            async with model_lock:  # one request at a time on the model; the others queue here
                results = await run_in_threadpool(run_model, images, names)
        except CagnetError as error:
            return _error(str(error))
        return JSONResponse({"results": results})

    routes = [
        Route("/", page),
        Route("/api/info", info),
        Route("/api/examples/{name}", example),
        Route("/api/segment", segment, methods=["POST"]),
        Mount("/static", StaticFiles(directory=PACKAGE / "page"), name="static"),
    ]
    return Starlette(routes=routes)
