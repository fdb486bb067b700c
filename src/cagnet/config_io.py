"""Build frozen dataclass configs from YAML and ``--set a.b=value`` overrides, and write them back.

Unknown keys and values of the wrong type are errors that name the key and its source.
"""

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cagnet.errors import ConfigError

T = TypeVar("T")
RATIO = re.compile(r"\d+(\.\d*)?:\d+(\.\d*)?")


def from_dict(cls: type[T], values: Mapping[str, Any], source: str, prefix: str = "") -> T:
    """Instantiate dataclass ``cls`` from a nested mapping, checking every key and type."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source}: '{prefix or 'the config'}' must be a mapping, got {values!r}")
    _refuse_unknown_keys(cls, values, source, prefix)
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        kwargs[key] = _convert(hints[key], value, source, f"{prefix}{key}")
    return cls(**kwargs)


def _refuse_unknown_keys(cls: type, values: Mapping[str, Any], source: str, prefix: str) -> None:
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown config key '{prefix}{unknown[0]}'; known keys here: "
            f"{', '.join(prefix + key for key in fields)}"
        )


def check_keys(cls: type, values: Mapping[str, Any], source: str, prefix: str = "") -> None:
    """Raise ConfigError for the first key of ``values``, at any depth, that ``cls`` lacks."""
    if not isinstance(values, Mapping):
        return  # from_dict reports the wrong type once the files are merged
    _refuse_unknown_keys(cls, values, source, prefix)
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        if dataclasses.is_dataclass(hints[key]):
            check_keys(hints[key], value or {}, source, f"{prefix}{key}.")


def _convert(hint: Any, value: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value or {}, source, prefix=f"{key}.")
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, source, key)
            except ConfigError:
                continue
        raise ConfigError(f"{source}: '{key}' = {value!r} does not fit {hint}")
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, Sequence):
            items = [part.strip() for part in str(value).split(",") if part.strip()] or ["a", "b"]
            raise ConfigError(
                f"{source}: '{key}' = {value!r} must be a list: write it in brackets, e.g. "
                f"--set '{key}=[{', '.join(items)}]' (in YAML: {key.split('.')[-1]}: "
                f"[{', '.join(items)}])"
            )
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_convert(item, v, source, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads "1e-3" as a string
        except ValueError:
            pass
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{source}: '{key}' = {value!r} must be true or false")
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{source}: '{key}' = {value!r} must be an integer")
    if hint is str and isinstance(value, int | float) and not isinstance(value, bool):
        raise ConfigError(
            f"{source}: '{key}' = {value!r} must be a string; quote it in YAML "
            f'(e.g. "1:1": YAML reads 1:1 unquoted as the number 61)'
        )
    if hint in (float, str) and not isinstance(value, hint):
        raise ConfigError(f"{source}: '{key}' = {value!r} must be a {hint.__name__}")
    return value


def to_dict(config: Any) -> dict:
    """A dataclass as plain nested dicts and lists (YAML-ready)."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(dataclasses.asdict(config))


def parse_overrides(overrides: Sequence[str]) -> dict:
    """['a.b=1', 'c=[1, 2]'] -> {'a': {'b': 1}, 'c': [1, 2]}; values parsed as YAML."""
    nested: dict = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: write it as key=value, e.g. train.iterations=100")
        key, text = item.split("=", 1)
        if RATIO.fullmatch(text.strip()):
            value = text.strip()  # YAML 1.1 would read "1:1" as the base-60 number 61
        else:
            value = yaml.safe_load(text) if text.strip() else ""
        node = nested
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: '{part}' is set both as a value and a section")
        node[parts[-1]] = value
    return nested


def merge(base: Mapping, update: Mapping) -> dict:
    """Recursively merge ``update`` into a copy of ``base``."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping; an empty file is an empty mapping."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from error
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from error
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, got {values!r}")
    return values


BASE_KEY = "base"


def read_config_file(
    path: Path, cls: type, per_file: Callable[[dict, Path], dict] | None = None
) -> tuple[dict, list[Path]]:
    """Read a config file and the chain of files it inherits from, merged.

    A file may name ``base: OTHER.yaml``, a path relative to the file's own folder. The base's
    values come first and the file's own values merge over them field by field: nested
    mappings merge, scalars and lists replace. A base may have a base of its own. Each file's
    keys are checked against ``cls`` on their own, so an unknown key names the file it is in.
    ``per_file(values, folder)``, when given, rewrites each file's values before the merge (with
    the file's own folder: relative paths resolve there).

    Returns:
        (merged values without ``base``, the files read: ``path`` first, its furthest base last).

    Raises:
        ConfigError: for an unreadable or missing file, an unknown key, a ``base`` that is not a
            file name, or files that inherit from each other in a cycle (naming them all).
    """
    chain: list[Path] = []
    layers: list[dict] = []
    current = Path(path)
    while True:
        if current.resolve() in [p.resolve() for p in chain]:
            loop = " -> ".join(str(p) for p in [*chain, current])
            raise ConfigError(
                f"config files inherit from each other in a cycle: {loop}; remove "
                "one of these 'base:' lines"
            )
        values = read_yaml(current)
        chain.append(current)
        base = values.pop(BASE_KEY, None)
        check_keys(cls, values, str(current))
        layers.append(values if per_file is None else per_file(values, current.parent))
        if base is None:
            break
        if not isinstance(base, str) or not base.strip():
            raise ConfigError(
                f"{current}: 'base' = {base!r} must name another YAML file, "
                f"relative to {current.parent}, e.g. base: base/voc12.yaml"
            )
        following = current.parent / base
        if not following.is_file():
            raise ConfigError(
                f"{current}: its base {base!r} does not exist (looked for "
                f"{following}); fix the path, relative to {current.parent}"
            )
        current = following
    merged: dict = {}
    for values in reversed(layers):
        merged = merge(merged, values)
    return merged, chain
