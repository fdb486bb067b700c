"""Relative paths in a config file are relative to that file's own folder.

A config names files it reads (the data set, embedding files, backbone weights); written
relative, they are resolved against the folder of the YAML file that names them, so that a
config works from any current folder. Paths given with ``--set`` on the command line stay
relative to the current folder, as any path typed in a shell. Places a run writes to
(``output_dir``, ``feature_cache.folder``) also stay relative to the current folder.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# cagnet.embeddings: "vectors:PATH" is a word-vector file, "minilm:PATH" a descriptions file
FILE_PREFIXES = ("vectors:", "minilm:")
ENCODER_SOURCES = ("glove", "minilm")  # embedding sources that are not files
NOT_PATHS = ("", "imagenet")  # model.backbone.pretrained values that are not files


def _resolve(text: str, base: Path) -> str:
    path = Path(text).expanduser()
    return os.path.normpath(path if path.is_absolute() else base.absolute() / path)


def _resolve_source(source: Any, base: Path) -> Any:
    if not isinstance(source, str) or source in ENCODER_SOURCES:
        return source
    for prefix in FILE_PREFIXES:
        if source.startswith(prefix):
            return prefix + _resolve(source[len(prefix) :], base)
    return _resolve(source, base)


def _section(values: Mapping, *keys: str) -> dict | None:
    node: Any = values
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, dict) else None


def resolve_config_paths(values: dict, base: Path) -> dict:
    """Resolve the relative file paths of a config mapping against ``base``, in place.

    Fields: ``dataset.root``, each file of ``embeddings.sources`` (``vectors:PATH``, ``minilm:PATH``
    and matrix files; not ``glove``/``minilm``) and ``model.backbone.pretrained`` (unless ``""`` or
    ``imagenet``). Values of the wrong type are left for the config checks to report.

    Args:
        values: the mapping read from one YAML file (sections as nested dicts).
        base: the folder of that file.

    Returns:
        ``values``, with those fields absolute (so a run's saved config works from anywhere).
    """
    base = Path(base)
    dataset = _section(values, "dataset")
    if dataset is not None and isinstance(dataset.get("root"), str) and dataset["root"]:
        dataset["root"] = _resolve(dataset["root"], base)
    embeddings = _section(values, "embeddings")
    if embeddings is not None and "sources" in embeddings:
        sources = embeddings["sources"]
        if isinstance(sources, list):
            embeddings["sources"] = [_resolve_source(source, base) for source in sources]
        else:
            embeddings["sources"] = _resolve_source(sources, base)
    backbone = _section(values, "model", "backbone")
    pretrained = backbone.get("pretrained") if backbone is not None else None
    if isinstance(pretrained, str) and pretrained not in NOT_PATHS:
        backbone["pretrained"] = _resolve(pretrained, base)
    return values
