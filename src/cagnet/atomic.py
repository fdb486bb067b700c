"""Atomic file writes: a reader sees the old file or the whole new one, never half of one.

Every writer goes through ``atomic_write``: the bytes go into a temporary file in the target's
folder (same file system, so the rename is atomic), which ``os.replace`` then moves onto the
target. When writing fails, the temporary file is removed and the target is left as it was.
"""

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from PIL import Image


def _plain_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_PLAIN_FILE_MODE = _plain_file_mode()


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any], durable: bool = False) -> Path:
    """Call ``write(stream)`` on a temporary binary file beside ``path``, then rename it.

    Args:
        path: the file to create or replace; its folder is created when missing.
        write: writes the whole content to the open binary stream it receives.
        durable: also ``fsync`` the data before the rename, so that a power cut cannot leave
            an empty file under the new name (costs time: used for checkpoints only).

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(temporary, _PLAIN_FILE_MODE)  # mkstemp's 0600 would make results owner-only
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda stream: stream.write(data))


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(payload: Any, path: Path) -> Path:
    """``torch.save(payload)`` to ``path`` atomically and durably."""
    return atomic_write(path, lambda stream: torch.save(payload, stream), durable=True)


def atomic_save_npy(path: Path, array: np.ndarray) -> Path:
    """``np.save(array)`` to ``path`` (a ``.npy`` file) atomically."""
    return atomic_write(path, lambda stream: np.save(stream, array))


def atomic_save_image(path: Path, image: Image.Image, format: str = "PNG") -> Path:
    """Save a Pillow image to ``path`` atomically (PNG unless ``format`` says otherwise)."""
    return atomic_write(path, lambda stream: image.save(stream, format=format))
