"""The preprocessed layout of the official CaGNet release, so its tarballs can be used as they are.

Layout (``root`` = the release's ``dataset/voc12``, ``dataset/context`` or ``dataset/cocostuff``)::

    root/images/<subset>/<id>.jpg
    root/annotations/<subset>/<id>.png
    root/split/train_list.npy    array of annotation paths (from the authors' machines)
    root/split/test_list.npy

Only the last two components of each listed path are used: ``.../<subset>/<id>[.png]`` reads
``images/<subset>/<id>.jpg`` and ``annotations/<subset>/<id>.png``. The release has no
COCO-stuff train list; use ``CocoStuffReader`` for COCO-stuff training.

Label spaces (the annotations' values are the class indices):
    ``voc12``: ``VOC_CLASSES`` (0 = background), 255 = void.
    ``context``: ``("background", *CONTEXT_33_CLASSES)`` (0 = unlabelled), 255 = ignore.
    ``cocostuff``: ``COCO_STUFF_CLASSES``, 255 = unlabelled; see ``cocostuff`` for the
    never-annotated classes.
"""

from pathlib import Path, PurePosixPath

import numpy as np

from cagnet.data.readers.base import FilePair, FilePairReader
from cagnet.data.readers.class_names import (
    BACKGROUND,
    COCO_STUFF_CLASSES,
    CONTEXT_33_CLASSES,
    VOC_CLASSES,
)
from cagnet.data.readers.cocostuff import valid_class_mask
from cagnet.data.readers.layout import existing_names, report_missing, require_dir, require_file
from cagnet.errors import DataError

DATASETS = ("voc12", "context", "cocostuff")
SPLIT_LISTS = {"train": "train_list.npy", "val": "test_list.npy", "test": "test_list.npy"}
LAYOUT = (
    "  root/images/<subset>/<id>.jpg\n"
    "  root/annotations/<subset>/<id>.png\n"
    "  root/split/train_list.npy, root/split/test_list.npy (lists of .../<subset>/<id>.png)"
)


def read_official_list(path: Path) -> list[tuple[str, str]]:
    """(subset, id) of every entry of an official ``*_list.npy``."""
    require_file(path, LAYOUT)
    try:
        entries = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(
            f"cannot read split list {path} ({error}); expected a NumPy array of paths"
        ) from error
    if entries.ndim != 1 or entries.dtype.kind != "U" or entries.size == 0:
        raise DataError(
            f"split list {path} holds a {entries.dtype} array of shape {entries.shape}; "
            "expected a non-empty 1-d array of annotation paths"
        )
    items = []
    for entry in entries.tolist():
        parts = PurePosixPath(entry.replace("\\", "/")).parts
        if len(parts) < 2:
            raise DataError(f"entry {entry!r} of {path} is not of the form .../<subset>/<id>")
        items.append((parts[-2], parts[-1].removesuffix(".png")))
    return items


def official_pairs(root: Path, split_list: Path) -> list[FilePair]:
    """Image/annotation pairs of the entries of ``split_list``; DataError naming missing files."""
    pairs, missing, listings = [], [], {}
    for subset, stem in read_official_list(split_list):
        image = root / "images" / subset / f"{stem}.jpg"
        label = root / "annotations" / subset / f"{stem}.png"
        for path in (image, label):
            if path.parent not in listings:
                listings[path.parent] = existing_names(path.parent)
            if path.name not in listings[path.parent]:
                missing.append(path)
        pairs.append(FilePair(stem, image, label))
    report_missing(missing, str(split_list))
    return pairs


class OfficialReader(FilePairReader):
    """A data set in the official CaGNet release's layout.

    Args:
        root: see the module docstring for the layout.
        split: ``train`` (``train_list.npy``), ``val`` or ``test`` (``test_list.npy``).
        dataset: ``voc12``, ``context`` or ``cocostuff``: which label space the files use.

    Raises:
        DataError: on an unknown dataset or split, a missing folder or list, or a listed file
            that is missing (naming it and the list).
    """

    def __init__(self, root: str | Path, split: str, dataset: str):
        if dataset not in DATASETS:
            raise DataError(f"unknown official data set {dataset!r}; choose one of {DATASETS}")
        if split not in SPLIT_LISTS:
            raise DataError(f"unknown split {split!r}; choose one of {list(SPLIT_LISTS)}")
        root = Path(root)
        require_dir(root, LAYOUT)
        require_dir(root / "images", LAYOUT)
        require_dir(root / "annotations", LAYOUT)
        split_list = root / "split" / SPLIT_LISTS[split]
        if dataset == "cocostuff" and split == "train" and not split_list.is_file():
            raise DataError(
                f"missing {split_list}: the official release has no COCO-stuff train list; "
                "train with kind 'cocostuff' on the COCO-stuff 164k layout instead"
            )
        pairs = official_pairs(root, split_list)
        class_names, valid = {
            "voc12": (VOC_CLASSES, None),
            "context": ((BACKGROUND, *CONTEXT_33_CLASSES), None),
            "cocostuff": (COCO_STUFF_CLASSES, valid_class_mask()),
        }[dataset]
        super().__init__(
            pairs, class_names, name=f"official-{dataset}/{split}", valid_classes=valid
        )
        self.root = root
        self.split = split
        self.dataset = dataset
