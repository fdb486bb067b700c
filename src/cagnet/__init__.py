"""cagnet: zero-shot semantic segmentation by context-aware feature generation."""

__version__ = "0.1.0"
