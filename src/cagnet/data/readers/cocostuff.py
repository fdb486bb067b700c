"""COCO-stuff 164k in its 182-class label space.

Layout (as the data set unpacks)::

    root/images/{train2017,val2017}/<id>.jpg
    root/annotations/{train2017,val2017}/<id>.png    value = class index 0..181, 255 = unlabelled

Splits: ``train2017`` (118,287) and ``val2017`` (5,000); ``train`` and ``val`` are aliases.

Never-annotated classes. COCO's 91 thing ids include 11 that were never annotated
(``COCO_STUFF_NEVER_ANNOTATED``: street sign, hat, shoe, eye glasses, plate, mirror, window,
desk, door, blender, hair brush). They stay in the label space, so that class indices,
embedding rows and the official seen/unseen index lists keep their meaning (the official
CaGNet and SPNet splits count them among the 167 seen classes). They never occur in the
ground truth, so the reader marks them False in ``valid_classes``: an evaluator must average
per-class scores only over valid classes (171 = 156 seen + 15 unseen), otherwise their IoU of
0 (or undefined) would distort the seen and overall means.
"""

from pathlib import Path

import numpy as np

from cagnet.data.readers.base import FilePair, FilePairReader
from cagnet.data.readers.class_names import COCO_STUFF_CLASSES, COCO_STUFF_NEVER_ANNOTATED
from cagnet.data.readers.layout import files_by_stem, report_missing, require_dir
from cagnet.errors import DataError

SPLIT_ALIASES = {"train": "train2017", "val": "val2017"}
LAYOUT = (
    "  root/images/<split>/<id>.jpg\n"
    "  root/annotations/<split>/<id>.png (0..181 = class, 255 = unlabelled)\n"
    "  with <split> = train2017 or val2017"
)


def valid_class_mask() -> np.ndarray:
    """(182,) bool: False for the 11 never-annotated thing classes."""
    never = set(COCO_STUFF_NEVER_ANNOTATED)
    return np.array([name not in never for name in COCO_STUFF_CLASSES], dtype=bool)


class CocoStuffReader(FilePairReader):
    """COCO-stuff 164k; every image of ``root/images/<split>`` with its annotation PNG.

    Args:
        root: see the module docstring for the layout.
        split: ``train2017``, ``val2017`` or the aliases ``train``, ``val``.

    Raises:
        DataError: on a missing folder, an empty split or an image without annotation.
    """

    def __init__(self, root: str | Path, split: str):
        root = Path(root)
        split = SPLIT_ALIASES.get(split, split)
        require_dir(root, LAYOUT)
        require_dir(root / "images", LAYOUT)
        require_dir(root / "annotations", LAYOUT)
        image_dir = require_dir(root / "images" / split, LAYOUT)
        label_dir = require_dir(root / "annotations" / split, LAYOUT)
        images = files_by_stem(image_dir, (".jpg",))
        if not images:
            raise DataError(f"no images in {image_dir}; expected <id>.jpg files")
        labels = files_by_stem(label_dir, (".png",))
        missing = [label_dir / f"{stem}.png" for stem in images if stem not in labels]
        report_missing(missing, f"the images of {image_dir}")
        pairs = [FilePair(stem, path, labels[stem]) for stem, path in images.items()]
        super().__init__(
            pairs, COCO_STUFF_CLASSES, name=f"cocostuff/{split}", valid_classes=valid_class_mask()
        )
        self.root = root
        self.split = split
