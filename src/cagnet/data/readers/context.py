"""Pascal-Context, from label PNGs already converted to class indices.

Layout::

    root/JPEGImages/<id>.jpg          the VOC 2010 images
    root/labels33/<id>.png            CaGNet's 33-class set: value i = CONTEXT_33_CLASSES[i - 1]
    root/labels59/<id>.png            the 59-class set:      value i = CONTEXT_59_CLASSES[i - 1]
    root/{train,val}.txt              image ids, one per line (4,998 train / 5,105 val)

In both label folders 0 = background (every pixel outside the class set) and 255 = ignore;
only the folder of the chosen set is needed. The reader's label space is
``("background", *CONTEXT_<K>_CLASSES)``, so the PNG values are the class indices.

The 59-class PNGs must follow ``CONTEXT_59_CLASSES``' order (the data set's 59_labels.txt, as
ZS3Net uses); the alphabetical order of some converters must be remapped first.
"""

from pathlib import Path

from cagnet.data.readers.base import FilePair, FilePairReader
from cagnet.data.readers.class_names import BACKGROUND, CONTEXT_33_CLASSES, CONTEXT_59_CLASSES
from cagnet.data.readers.layout import existing_names, read_id_list, report_missing, require_dir
from cagnet.errors import DataError

CLASS_SETS = {33: CONTEXT_33_CLASSES, 59: CONTEXT_59_CLASSES}
LAYOUT = (
    "  root/JPEGImages/<id>.jpg\n"
    "  root/labels33/<id>.png or root/labels59/<id>.png\n"
    "    (0 = background, i = class i, 255 = ignore)\n"
    "  root/<split>.txt (image ids, one per line)"
)


class ContextReader(FilePairReader):
    """Pascal-Context with background + 33 or background + 59 classes.

    Args:
        root: see the module docstring for the layout.
        split: the name of a list ``root/<split>.txt``, e.g. ``"train"`` or ``"val"``.
        num_classes: 33 (CaGNet's set) or 59 (ZS3Net's set), background not counted.

    Raises:
        DataError: on a bad class-set size, a missing folder or list, or a missing listed file.
    """

    def __init__(self, root: str | Path, split: str, num_classes: int = 33):
        if num_classes not in CLASS_SETS:
            raise DataError(
                f"Pascal-Context has class sets of {sorted(CLASS_SETS)} classes, not "
                f"{num_classes}; set num_classes to one of them"
            )
        root = Path(root)
        require_dir(root, LAYOUT)
        image_dir = require_dir(root / "JPEGImages", LAYOUT)
        label_dir = require_dir(root / f"labels{num_classes}", LAYOUT)
        split_list = root / f"{split}.txt"
        ids = read_id_list(split_list, LAYOUT)
        images, labels = existing_names(image_dir), existing_names(label_dir)
        missing = [image_dir / f"{i}.jpg" for i in ids if f"{i}.jpg" not in images]
        missing += [label_dir / f"{i}.png" for i in ids if f"{i}.png" not in labels]
        report_missing(missing, str(split_list))
        pairs = [FilePair(i, image_dir / f"{i}.jpg", label_dir / f"{i}.png") for i in ids]
        class_names = (BACKGROUND, *CLASS_SETS[num_classes])
        super().__init__(pairs, class_names, name=f"context{num_classes}/{split}")
        self.root = root
        self.split = split
