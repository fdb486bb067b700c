"""Run folders: one per run, never reused by a new run."""

import shutil
from datetime import datetime
from pathlib import Path

import yaml

from cagnet.atomic import atomic_write_text
from cagnet.errors import RunFolderError


def new_run_folder(output_dir: Path, name: str, explicit: Path | None = None) -> Path:
    """Create a fresh folder for a run.

    Args:
        output_dir: where runs live; the folder is ``output_dir/<name>-<timestamp>[-k]``.
        explicit: an exact folder asked for by the user; it must not exist yet.

    Raises:
        RunFolderError: when ``explicit`` already exists (resume it with --resume instead).
    """
    if explicit is not None:
        explicit = Path(explicit)
        if explicit.exists():
            raise RunFolderError(
                f"run folder {explicit} already exists; choose another --run-dir, or continue "
                f"that run with --resume {explicit}"
            )
        explicit.mkdir(parents=True)
        return explicit
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        folder = output_dir / (f"{name}-{stamp}" + (f"-{attempt}" if attempt else ""))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise RunFolderError(f"could not create a new run folder in {output_dir}")


def write_yaml(path: Path, values: dict) -> None:
    atomic_write_text(path, yaml.safe_dump(values, sort_keys=False))


def remove_unfinished_run(folder: Path, keep: tuple[str, ...]) -> bool:
    """Delete a run folder that a failed start left behind, unless it holds any of ``keep``.

    Only the files a run writes before its first checkpoint (config, logs) are ever deleted:
    a folder holding anything else is left alone.

    Returns:
        True when the folder was removed.
    """
    folder = Path(folder)
    if not folder.is_dir() or any((folder / name).exists() for name in keep):
        return False
    written_early = {"config.yaml", "losses.csv", "losses.csv.tmp", "tensorboard"}
    if any(entry.name not in written_early for entry in folder.iterdir()):
        return False
    shutil.rmtree(folder)
    return True
