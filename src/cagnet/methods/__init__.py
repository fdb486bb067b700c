"""The zero-shot methods the trainer knows, by the name used in ``model.method``."""

from cagnet.errors import ConfigError
from cagnet.methods.base import Method, StepInputs
from cagnet.methods.cagnet import CaGNetMethod
from cagnet.methods.spnet import SPNetMethod
from cagnet.methods.zs3net import ZS3NetMethod

METHODS: dict[str, Method] = {
    "cagnet": CaGNetMethod(),
    "spnet": SPNetMethod(),
    "zs3net": ZS3NetMethod(),
}


def get_method(name: str) -> Method:
    """The method called ``name``; an unknown name is a ConfigError listing the known ones."""
    if name not in METHODS:
        raise ConfigError(f"model.method={name!r}; choose from {sorted(METHODS)}")
    return METHODS[name]


__all__ = ["METHODS", "Method", "StepInputs", "get_method"]
