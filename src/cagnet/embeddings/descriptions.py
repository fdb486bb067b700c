"""Class descriptions: a short phrase per class name, written by the user, that a sentence
encoder embeds in place of the bare name (source ``"minilm:PATH"``).

The file is YAML, one ``class name: description`` line per class, e.g.::

    sky: the blue sky above the horizon, with white clouds
    green square: a green square box with four equal sides

Names are matched exactly; a file may describe more classes than the data set has.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from cagnet.errors import EmbeddingError


def read_descriptions(path: Path, class_names: Sequence[str]) -> list[str]:
    """The description of each class, in label order.

    Args:
        path: YAML file mapping class name -> one-line description.
        class_names: K class names in label order.

    Returns:
        K descriptions.

    Raises:
        EmbeddingError: If the file is missing or not a name -> text mapping, or lacks a class.
    """
    path = Path(path)
    try:
        mapping = yaml.safe_load(path.read_text())
    except OSError as error:
        raise EmbeddingError(f"cannot read the class descriptions {path}: {error}") from error
    except yaml.YAMLError as error:
        raise EmbeddingError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(mapping, dict) or not all(
        isinstance(text, str) and text.strip() for text in mapping.values()
    ):
        raise EmbeddingError(
            f"{path} must map each class name to a one-line description "
            "(e.g. 'sky: the blue sky above the horizon'); found another structure or an "
            "empty description"
        )
    mapping = {str(name): text for name, text in mapping.items()}
    missing = [name for name in class_names if name not in mapping]
    if missing:
        raise EmbeddingError(f"{path} has no description for the classes {missing}; add them")
    return [mapping[name].strip() for name in class_names]
