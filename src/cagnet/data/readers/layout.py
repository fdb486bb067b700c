"""Eager checks of a data set's folder layout, run once when a reader is built."""

import os
from collections.abc import Iterable
from pathlib import Path

from cagnet.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def require_dir(path: Path, layout: str) -> Path:
    """Return ``path``; DataError naming it and the expected ``layout`` when it is missing."""
    if not path.is_dir():
        raise DataError(f"missing folder {path}; expected the layout\n{layout}")
    return path


def require_file(path: Path, layout: str) -> Path:
    """Return ``path``; DataError naming it and the expected ``layout`` when it is missing."""
    if not path.is_file():
        raise DataError(f"missing file {path}; expected the layout\n{layout}")
    return path


def files_by_stem(folder: Path, suffixes: Iterable[str]) -> dict[str, Path]:
    """Map file stem -> path for the files of ``folder`` with one of ``suffixes``.

    Raises:
        DataError: when two files share a stem (e.g. ``a.jpg`` and ``a.png``).
    """
    wanted = tuple(s.lower() for s in suffixes)
    found: dict[str, Path] = {}
    for entry in sorted(os.listdir(folder)):
        path = folder / entry
        if path.suffix.lower() not in wanted or not path.is_file():
            continue
        if path.stem in found:
            raise DataError(
                f"{found[path.stem]} and {path} have the same name; keep one image per name"
            )
        found[path.stem] = path
    return found


def read_id_list(path: Path, layout: str) -> list[str]:
    """Read a split list with one image id per line (blank lines skipped)."""
    require_file(path, layout)
    ids = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    if not ids:
        raise DataError(f"split list {path} is empty; expected one image id per line")
    return ids


def report_missing(missing: list[Path], source: str) -> None:
    """DataError naming the first missing files and ``source`` (the list that names them)."""
    if missing:
        shown = ", ".join(str(p) for p in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise DataError(
            f"{len(missing)} file(s) named by {source} do not exist: {shown}{more}; "
            "restore them or remove them from the list"
        )


def existing_names(folder: Path) -> set[str]:
    """Names of the entries of ``folder`` (one directory listing, cheaper than many stats)."""
    return set(os.listdir(folder)) if folder.is_dir() else set()
