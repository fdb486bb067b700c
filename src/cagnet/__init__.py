"""cagnet: zero-shot semantic segmentation by context-aware feature generation."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``from cagnet import Segmenter`` without importing torch for every ``import cagnet``."""
    if name == "Segmenter":
        from cagnet.inference import Segmenter

        return Segmenter
    raise AttributeError(f"module 'cagnet' has no attribute {name!r}")
