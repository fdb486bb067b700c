"""Exceptions raised for bad user input. Each message names the file or value and what to do."""


class CagnetError(Exception):
    """Base class of every error cagnet raises for bad input."""


class ConfigError(CagnetError):
    """A config file or override is invalid (unknown key, wrong type, bad value)."""


class DataError(CagnetError):
    """A data set, label file, image or split is missing or malformed."""


class EmbeddingError(CagnetError):
    """A class-embedding file or encoder cannot give one row per class."""


class CheckpointError(CagnetError):
    """A checkpoint is missing, unreadable or does not fit the model."""


class RunFolderError(CagnetError):
    """A run folder would overwrite another run."""


class NonFiniteError(CagnetError):
    """A loss term, gradient norm, weight or score is NaN or infinite (the run diverged).

    Attributes:
        term: what was not finite, e.g. "loss term rec" or "gradient norm of heads".
    """

    def __init__(self, message: str, term: str = "") -> None:
        super().__init__(message)
        self.term = term


class UnseenLabelError(CagnetError):
    """A label of an unseen class reached a training loss (the zero-shot split leaked)."""
