"""The package version, in a module of its own so that parts can read it without importing
``cagnet`` (whose ``__init__`` lazily imports the inference API)."""

__version__ = "0.1.0"
