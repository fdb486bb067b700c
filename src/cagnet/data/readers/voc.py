"""Pascal-VOC 2012, with the SBD annotations for the 10,582-image augmented training set.

Layout (``root`` holds both releases as they unpack)::

    root/VOCdevkit/VOC2012/JPEGImages/<id>.jpg
    root/VOCdevkit/VOC2012/SegmentationClass/<id>.png     palette PNG: index = class, 255 = void
    root/VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val,trainval}.txt
    root/benchmark_RELEASE/dataset/img/<id>.jpg           SBD images (train_aug only)
    root/benchmark_RELEASE/dataset/cls/<id>.mat           SBD struct GTcls.Segmentation
    root/benchmark_RELEASE/dataset/{train,val}.txt        SBD image lists

``root`` may also be a flat folder holding ``JPEGImages/`` and ``SegmentationClass/`` directly
(e.g. ``VOCdevkit/VOC2012`` itself or a small sample); split ``"all"`` then reads every mask.

Splits:
    ``train`` (1,464), ``val`` (1,449), ``trainval``: VOC's lists.
    ``train_aug`` (10,582): SBD train + SBD val + VOC train, minus VOC val. An image with a
    VOC mask takes it (finer, with void borders); the others take SBD's annotation.
    ``all``: every mask in ``SegmentationClass``.

Labels: 21 classes, ``VOC_CLASSES`` (0 = background); 255 = void. Palette PNGs are read as
palette indices, never as colours.
"""

from pathlib import Path

from cagnet.data.readers.base import FilePair, FilePairReader
from cagnet.data.readers.class_names import VOC_CLASSES
from cagnet.data.readers.layout import (
    existing_names,
    read_id_list,
    report_missing,
    require_dir,
)
from cagnet.errors import DataError

SPLITS = ("train", "val", "trainval", "train_aug", "all")
LAYOUT = (
    "  root/VOCdevkit/VOC2012/{JPEGImages,SegmentationClass,ImageSets/Segmentation}\n"
    "  root/benchmark_RELEASE/dataset/{img,cls,train.txt,val.txt} (for train_aug)\n"
    "or a flat folder root/{JPEGImages,SegmentationClass} (split 'all')"
)


def find_voc_folder(root: Path) -> Path:
    """The folder that holds ``JPEGImages`` and ``SegmentationClass`` under ``root``."""
    require_dir(root, LAYOUT)
    for candidate in (root / "VOCdevkit" / "VOC2012", root):
        if (candidate / "JPEGImages").is_dir() and (candidate / "SegmentationClass").is_dir():
            return candidate
    raise DataError(
        f"{root} holds neither VOCdevkit/VOC2012/{{JPEGImages,SegmentationClass}} nor "
        f"JPEGImages/ and SegmentationClass/; expected the layout\n{LAYOUT}"
    )


def voc_pairs(voc: Path, ids: list[str], source: str) -> list[FilePair]:
    """Pairs of VOC image and palette mask for ``ids``; DataError naming missing files."""
    images, masks = existing_names(voc / "JPEGImages"), existing_names(voc / "SegmentationClass")
    missing = [voc / "JPEGImages" / f"{i}.jpg" for i in ids if f"{i}.jpg" not in images]
    missing += [voc / "SegmentationClass" / f"{i}.png" for i in ids if f"{i}.png" not in masks]
    report_missing(missing, source)
    return [
        FilePair(i, voc / "JPEGImages" / f"{i}.jpg", voc / "SegmentationClass" / f"{i}.png")
        for i in ids
    ]


def train_aug_pairs(root: Path, voc: Path) -> list[FilePair]:
    """The augmented training set: (SBD train ∪ SBD val ∪ VOC train) minus VOC val."""
    lists = voc / "ImageSets" / "Segmentation"
    voc_train = read_id_list(lists / "train.txt", LAYOUT)
    voc_val = set(read_id_list(lists / "val.txt", LAYOUT))
    sbd = require_dir(root / "benchmark_RELEASE" / "dataset", LAYOUT)
    sbd_ids = read_id_list(sbd / "train.txt", LAYOUT) + read_id_list(sbd / "val.txt", LAYOUT)
    require_dir(sbd / "img", LAYOUT)
    require_dir(sbd / "cls", LAYOUT)
    ids = sorted((set(sbd_ids) | set(voc_train)) - voc_val)
    from_voc = set(voc_train)
    pairs = voc_pairs(voc, [i for i in ids if i in from_voc], f"{lists / 'train.txt'}")
    sbd_only = [i for i in ids if i not in from_voc]
    images, annotations = existing_names(sbd / "img"), existing_names(sbd / "cls")
    missing = [sbd / "img" / f"{i}.jpg" for i in sbd_only if f"{i}.jpg" not in images]
    missing += [sbd / "cls" / f"{i}.mat" for i in sbd_only if f"{i}.mat" not in annotations]
    report_missing(missing, f"{sbd / 'train.txt'} and {sbd / 'val.txt'}")
    pairs += [FilePair(i, sbd / "img" / f"{i}.jpg", sbd / "cls" / f"{i}.mat") for i in sbd_only]
    return sorted(pairs, key=lambda pair: pair.name)


class VOCReader(FilePairReader):
    """Pascal-VOC 2012 (+ SBD for ``train_aug``) in its 21-class label space.

    Args:
        root: see the module docstring for the layout.
        split: one of ``SPLITS``.

    Raises:
        DataError: on an unknown split, a missing folder or list, or a listed file that is missing.
    """

    def __init__(self, root: str | Path, split: str):
        root = Path(root)
        if split not in SPLITS:
            raise DataError(f"unknown Pascal-VOC split {split!r}; choose one of {list(SPLITS)}")
        voc = find_voc_folder(root)
        if split == "train_aug":
            pairs = train_aug_pairs(root, voc)
        elif split == "all":
            masks = sorted(p.stem for p in (voc / "SegmentationClass").glob("*.png"))
            if not masks:
                raise DataError(f"no masks in {voc / 'SegmentationClass'}; expected <id>.png files")
            pairs = voc_pairs(voc, masks, f"the masks of {voc / 'SegmentationClass'}")
        else:
            split_list = voc / "ImageSets" / "Segmentation" / f"{split}.txt"
            if not split_list.is_file():
                raise DataError(
                    f"missing split list {split_list}; unpack the full VOCdevkit, or use split "
                    "'all' to read every mask in SegmentationClass"
                )
            pairs = voc_pairs(voc, read_id_list(split_list, LAYOUT), str(split_list))
        super().__init__(pairs, VOC_CLASSES, name=f"voc2012/{split}")
        self.root = root
        self.split = split
