"""The plain folder format: the project's own layout, and the one the synthetic data is written in.

Layout::

    root/classes.txt                    line i = name of class i
    root/images/<split>/<stem>.jpg      RGB (.jpg, .jpeg or .png)
    root/labels/<split>/<stem>.png      uint8 class index per pixel, 255 = ignore

The layout (folders, class list, one label per image) is checked when the reader is built;
each image and label is checked (decodable, same size, valid values) when it is read.
"""

from pathlib import Path

from cagnet.data.readers.base import FilePair, FilePairReader
from cagnet.data.readers.layout import IMAGE_SUFFIXES, files_by_stem, require_dir, require_file
from cagnet.data.sample import IGNORE_INDEX
from cagnet.errors import DataError

LAYOUT = (
    "  root/classes.txt (line i = name of class i)\n"
    "  root/images/<split>/<stem>.jpg|.png\n"
    "  root/labels/<split>/<stem>.png (class index per pixel, 255 = ignore)"
)


def read_class_names(path: Path) -> tuple[str, ...]:
    """Read a class list, line i = class i; trailing blank lines are allowed.

    Raises:
        DataError: on a missing file, a blank line inside the list, a repeated name or more
            than 255 classes (255 is the ignore value).
    """
    require_file(path, LAYOUT)
    lines = [line.strip() for line in path.read_text().splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise DataError(f"class list {path} is empty; write one class name per line")
    for number, line in enumerate(lines, start=1):
        if not line:
            raise DataError(f"class list {path} has a blank line {number}; name every class")
    repeated = sorted({name for name in lines if lines.count(name) > 1})
    if repeated:
        raise DataError(f"class list {path} repeats {repeated}; class names must be unique")
    if len(lines) > IGNORE_INDEX:
        raise DataError(
            f"class list {path} has {len(lines)} classes; at most {IGNORE_INDEX} fit in "
            f"uint8 labels ({IGNORE_INDEX} = ignore)"
        )
    return tuple(lines)


class FolderReader(FilePairReader):
    """Reads ``root/images/<split>`` and ``root/labels/<split>`` in the plain folder format.

    Args:
        root: the data set folder.
        split: the sub-folder name, e.g. ``"train"`` or ``"val"``.

    Raises:
        DataError: on a missing folder or class list, an empty split or an image without label.
    """

    def __init__(self, root: str | Path, split: str):
        root = Path(root)
        require_dir(root, LAYOUT)
        class_names = read_class_names(root / "classes.txt")
        require_dir(root / "images", LAYOUT)
        require_dir(root / "labels", LAYOUT)
        image_dir = root / "images" / split
        if not image_dir.is_dir():
            splits = sorted(p.name for p in (root / "images").iterdir() if p.is_dir())
            raise DataError(f"missing split folder {image_dir}; splits found: {splits}")
        images = files_by_stem(image_dir, IMAGE_SUFFIXES)
        if not images:
            raise DataError(
                f"no images in {image_dir}; expected files ending in {list(IMAGE_SUFFIXES)}"
            )
        label_dir = require_dir(root / "labels" / split, LAYOUT)
        labels = files_by_stem(label_dir, (".png",))
        pairs = []
        for stem, image_path in images.items():
            if stem not in labels:
                raise DataError(
                    f"image {image_path} has no label file {label_dir / (stem + '.png')}; "
                    "add the label or remove the image"
                )
            pairs.append(FilePair(stem, image_path, labels[stem]))
        super().__init__(pairs, class_names, name=f"{root.name}/{split}")
        self.root = root
        self.split = split
