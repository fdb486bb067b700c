"""The zero-shot protocols as data: each one's label space and its default unseen classes.

``spnet`` (the paper's main setting, after SPNet): background is ignored in training and
evaluation. A label space whose class 0 is ``"background"`` loses it: background pixels become
255 and the other classes shift down by one (Pascal-VOC: 20 classes, Pascal-Context: 33).
Training images that show unseen objects are kept; the trainer hides those pixels through
``ZeroShotSplit``. Unseen: VOC 15/5, Context-33 29/4, COCO-stuff 167/15.

``zs3`` (the supplementary's setting, after ZS3Net): background is a seen class with its own
embedding; the label space is unchanged. Unseen: ZS3Net's nested lists of 2, 4, 6, 8 or 10
classes for Pascal-VOC (20 + background) and Pascal-Context (59 + background); the
supplementary uses 4 on VOC and 10 on Context. ZS3Net also drops the training images that
show an unseen class (``remove_unseen_images``).

``""`` (no protocol): the reader's label space as it is; unseen classes come from the config.

Data-set keys: ``voc``, ``context33``, ``context59``, ``cocostuff``.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cagnet.data.sample import IGNORE_INDEX
from cagnet.errors import ConfigError

# The class name the spnet protocol drops when it comes first in a label space.
BACKGROUND = "background"
SPNET = "spnet"
ZS3 = "zs3"
PROTOCOLS = ("", SPNET, ZS3)

SPNET_UNSEEN: dict[str, tuple[str, ...]] = {
    "voc": ("potted plant", "sheep", "sofa", "train", "tv monitor"),
    "context33": ("cow", "motorbike", "sofa", "cat"),
    "cocostuff": (
        "frisbee", "skateboard", "cardboard", "carrot", "scissors", "suitcase", "giraffe", "cow",
        "road", "wall-concrete", "tree", "grass", "river", "clouds", "playingfield",
    ),
}  # fmt: skip

# ZS3Net's lists are nested: the first n names of the ten are the n-unseen split.
_ZS3_VOC = (
    "cow", "motorbike", "aeroplane", "sofa", "cat", "tv monitor", "train", "bottle", "chair",
    "potted plant",
)  # fmt: skip
_ZS3_CONTEXT = (
    "cow", "motorbike", "sofa", "cat", "boat", "fence", "bird", "tv monitor", "keyboard",
    "aeroplane",
)  # fmt: skip
ZS3_UNSEEN: dict[str, dict[int, tuple[str, ...]]] = {
    "voc": {n: _ZS3_VOC[:n] for n in (2, 4, 6, 8, 10)},
    "context59": {n: _ZS3_CONTEXT[:n] for n in (2, 4, 6, 8, 10)},
}
ZS3_DEFAULT_NUM_UNSEEN = {"voc": 4, "context59": 10}


@dataclass(frozen=True)
class LabelSpace:
    """A protocol's label space over a reader's: new label = ``lookup[old label]``.

    Attributes:
        lookup: (256,) int64; 255 and values outside the old space map to 255.
        class_names: the new classes.
        changed: False when the new space is the old one (no remapping needed).
    """

    lookup: np.ndarray
    class_names: tuple[str, ...]
    changed: bool


def check_protocol(protocol: str) -> None:
    """ConfigError when ``protocol`` is not one of ``PROTOCOLS``."""
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; choose one of {list(PROTOCOLS)}")


def protocol_label_space(class_names: Sequence[str], protocol: str) -> LabelSpace:
    """The label space ``protocol`` uses over a reader with ``class_names``.

    ``spnet`` drops a leading ``"background"`` (its pixels become 255, the rest shift down);
    ``zs3`` and ``""`` keep the space as it is.
    """
    check_protocol(protocol)
    names = tuple(class_names)
    lookup = np.full(256, IGNORE_INDEX, dtype=np.int64)
    if protocol == SPNET and names and names[0] == BACKGROUND:
        lookup[1 : len(names)] = np.arange(len(names) - 1)
        return LabelSpace(lookup, names[1:], changed=True)
    lookup[: len(names)] = np.arange(len(names))
    return LabelSpace(lookup, names, changed=False)


def default_unseen(dataset: str, protocol: str, num_unseen: int = 0) -> tuple[str, ...]:
    """The unseen class names ``protocol`` prescribes for ``dataset``.

    Args:
        dataset: ``voc``, ``context33``, ``context59`` or ``cocostuff``.
        protocol: ``spnet`` or ``zs3``.
        num_unseen: the size of a ZS3Net list (2, 4, 6, 8, 10); 0 = the supplementary's choice.
            For ``spnet`` it must be 0 or the list's size.

    Raises:
        ConfigError: when the protocol has no list for ``dataset`` or no list of that size.
    """
    check_protocol(protocol)
    if protocol == SPNET and dataset in SPNET_UNSEEN:
        names = SPNET_UNSEEN[dataset]
        if num_unseen not in (0, len(names)):
            raise ConfigError(
                f"the spnet protocol has {len(names)} unseen classes on {dataset}, not "
                f"num_unseen={num_unseen}; set num_unseen to 0 or list the classes in unseen"
            )
        return names
    if protocol == ZS3 and dataset in ZS3_UNSEEN:
        lists = ZS3_UNSEEN[dataset]
        size = num_unseen or ZS3_DEFAULT_NUM_UNSEEN[dataset]
        if size not in lists:
            raise ConfigError(
                f"ZS3Net has {dataset} lists of {sorted(lists)} unseen classes, not "
                f"num_unseen={num_unseen}; choose one of them or list the classes in unseen"
            )
        return lists[size]
    known = {SPNET: sorted(SPNET_UNSEEN), ZS3: sorted(ZS3_UNSEEN)}.get(protocol, [])
    raise ConfigError(
        f"protocol {protocol!r} has no default unseen classes for data set {dataset!r} "
        f"(it has lists for {known}); name the unseen classes in the config's unseen field"
    )
