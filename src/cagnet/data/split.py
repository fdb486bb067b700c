"""The zero-shot split: which classes are seen during training and which are unseen."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cagnet.data.sample import IGNORE_INDEX
from cagnet.errors import DataError


@dataclass(frozen=True)
class ZeroShotSplit:
    """Seen and unseen classes of one label space.

    Class indices are those of ``class_names`` (the data set's order); nothing is reordered.

    Attributes:
        class_names: every class, line i = class i.
        unseen: indices of the unseen classes, ascending.
    """

    class_names: tuple[str, ...]
    unseen: tuple[int, ...]

    @classmethod
    def from_names(
        cls, class_names: Sequence[str], unseen_names: Sequence[str], source: str = "the config"
    ) -> "ZeroShotSplit":
        """Build a split from unseen class names.

        Raises:
            DataError: when an unseen name is not a class, naming the name and ``source``.
        """
        lookup = {name: index for index, name in enumerate(class_names)}
        missing = [name for name in unseen_names if name not in lookup]
        if missing:
            raise DataError(
                f"unseen class(es) {missing} from {source} are not in the class list "
                f"{list(class_names)}; spell them exactly as the class list does"
            )
        return cls(tuple(class_names), tuple(sorted(lookup[name] for name in unseen_names)))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def seen(self) -> tuple[int, ...]:
        unseen = set(self.unseen)
        return tuple(i for i in range(self.num_classes) if i not in unseen)

    def unseen_mask(self, device: torch.device | None = None) -> torch.Tensor:
        """(K,) bool, True for unseen classes."""
        mask = torch.zeros(self.num_classes, dtype=torch.bool, device=device)
        mask[list(self.unseen)] = True
        return mask

    def hiding_lookup(self) -> np.ndarray:
        """(256,) int64 label lookup: seen classes unchanged, unseen classes and any value
        outside the class list -> ``IGNORE_INDEX``."""
        lookup = np.full(256, IGNORE_INDEX, dtype=np.int64)
        lookup[: self.num_classes] = np.arange(self.num_classes)
        lookup[list(self.unseen)] = IGNORE_INDEX
        return lookup

    def training_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Hide unseen classes: their pixels become ``IGNORE_INDEX``.

        Args:
            labels: (...) int64 class indices or ``IGNORE_INDEX``.

        Returns:
            A new tensor of the same shape in which no unseen class index remains.
        """
        lookup = torch.from_numpy(self.hiding_lookup()).to(labels.device)
        return lookup[labels.clamp(0, 255)]
