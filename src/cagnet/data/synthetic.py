"""Embedded benchmark: a segmentation data set drawn from a seed, with named classes and context.

Nothing is downloaded. Every image is a landscape of textured *stuff* (sky, grass, water, sand)
with 1-4 filled *objects* (a colour and a shape) on it. The class names are real words, so a text
encoder gives meaningful embeddings, and each unseen class shares its colour and its shape with
seen classes (``green square``: green objects and squares are seen).

Scenes: with probability 0.85 a slightly tilted horizon splits the image into sky above and one
ground (grass, water or sand) below; otherwise one background fills the image.

Context (co-occurrence table). Each object votes for its shape's typical background; the scene
takes the most voted ground (and the sky), and each object's centre is put on its typical
background, each with probability ``CONTEXT_PROBABILITY`` = 0.75; otherwise they are uniform:

    ========  ==================  =====================================
    shape     typical background  picture
    ========  ==================  =====================================
    circle    sky                 balloons and suns
    square    grass or sand       boxes on a field or a beach
    triangle  water               sails
    ========  ==================  =====================================

Labels are class indices into ``SYNTHETIC_CLASSES``; the top-most object wins where objects
overlap. With ``ignore_border`` the pixels on both sides of an object's outline are
``IGNORE_INDEX`` (255), like the boundaries of PASCAL VOC.

Folder format written by ``generate_synthetic``::

    root/images/{train,val}/NNNNN.png   RGB, lossless
    root/labels/{train,val}/NNNNN.png   mode "L", class index or 255
    root/classes.txt                    line i = name of class i
    root/unseen.txt                     the unseen class names
    root/manifest.json                  generator version, config, pixels per class
"""

import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from cagnet.data.sample import IGNORE_INDEX
from cagnet.errors import ConfigError, DataError

SYNTHETIC_CLASSES = (
    "sky", "grass", "water", "sand",
    "red circle", "red square", "red triangle",
    "green circle", "green square", "green triangle",
    "blue circle", "blue square", "blue triangle",
    "yellow circle", "yellow square", "yellow triangle",
)  # fmt: skip
SYNTHETIC_UNSEEN = ("green square", "blue triangle", "yellow circle")
GENERATOR_VERSION = 1

SKY, GRASS, WATER, SAND = range(4)
NUM_STUFF = 4
COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle")
CIRCLE, SQUARE, TRIANGLE = range(3)
TYPICAL_BACKGROUNDS = {CIRCLE: (SKY,), SQUARE: (GRASS, SAND), TRIANGLE: (WATER,)}
CONTEXT_PROBABILITY = 0.75
HORIZON_PROBABILITY = 0.85
MIN_IMAGE_SIZE = 32

# Mean RGB of each object colour; every object jitters it (see _object_colour).
_OBJECT_RGB = np.array([[205, 40, 40], [45, 170, 60], [45, 75, 205], [235, 205, 45]], np.float32)
# Half-extent (radius, half side, circumradius) per unit of drawn size: about equal areas.
_HALF_EXTENT = {CIRCLE: 0.5, SQUARE: 0.45, TRIANGLE: 0.75}
_SPLITS = ("train", "val")


def object_class(colour: int, shape: int) -> int:
    """Class index of an object: ``object_class(1, SQUARE)`` is ``green square`` (8)."""
    return NUM_STUFF + len(SHAPES) * colour + shape


@dataclass(frozen=True)
class SyntheticConfig:
    """What ``generate_synthetic`` draws.

    Attributes:
        num_train: images in the train split.
        num_val: images in the val split.
        image_size: side of the square images, in pixels (at least 32).
        seed: the data set is a function of this seed (and the other fields).
        ignore_border: label the pixels around each object's outline 255.
    """

    num_train: int = 400
    num_val: int = 100
    image_size: int = 96
    seed: int = 0
    ignore_border: bool = True

    def __post_init__(self) -> None:
        if self.num_train < 0 or self.num_val < 0:
            raise ConfigError(
                f"num_train={self.num_train} and num_val={self.num_val} must not be negative"
            )
        _check_image_size(self.image_size)
        if self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be a non-negative integer")


def _check_image_size(image_size: int) -> None:
    if image_size < MIN_IMAGE_SIZE:
        raise ConfigError(
            f"image_size={image_size} is too small to draw recognisable shapes; "
            f"use at least {MIN_IMAGE_SIZE}"
        )


# ----------------------------------------------------------------------------- textures


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """(size, size) float32 noise in [-1, 1] that changes over about ``size / cells`` pixels."""
    position = np.linspace(0.0, cells, size)
    lower = np.minimum(position.astype(int), cells - 1)
    weights = np.zeros((size, cells + 1), np.float32)
    weights[np.arange(size), lower] = 1.0 - (position - lower)
    weights[np.arange(size), lower + 1] = position - lower
    grid = rng.uniform(-1.0, 1.0, (cells + 1, cells + 1)).astype(np.float32)
    return weights @ grid @ weights.T  # bilinear upsampling of the coarse grid


def _sky(rng: np.random.Generator, size: int) -> np.ndarray:
    """Deep blue at the top fading to pale blue, with soft white clouds. (size, size, 3)."""
    top = np.array([85, 145, 225]) + rng.uniform(-15, 15, 3)
    bottom = np.array([185, 215, 245]) + rng.uniform(-10, 10, 3)
    height = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    texture = top * (1.0 - height) + bottom * height + np.zeros((1, size, 1))
    clouds = np.clip(_smooth_noise(rng, size, 4) - 0.2, 0.0, 1.0)[..., None]
    return texture + clouds * (250.0 - texture) * 0.8 + rng.normal(0, 2, (size, size, 1))


def _grass(rng: np.random.Generator, size: int) -> np.ndarray:
    """Dark green with short vertical blades. (size, size, 3)."""
    base = np.array([70, 130, 45]) + rng.uniform(-12, 12, 3)
    blades = np.repeat(rng.normal(0, 1, (size // 3 + 1, size)), 3, axis=0)[:size]
    shade = 15 * blades + 12 * _smooth_noise(rng, size, 3) + rng.normal(0, 5, (size, size))
    return base + shade[..., None] * np.array([0.6, 1.0, 0.4])


def _water(rng: np.random.Generator, size: int) -> np.ndarray:
    """Blue-teal with horizontal wave stripes and glints. (size, size, 3)."""
    base = np.array([35, 90, 150]) + rng.uniform(-12, 12, 3)
    rows, columns = np.mgrid[0:size, 0:size].astype(np.float32)
    wobble = 2.0 * np.sin(2 * np.pi * columns / rng.uniform(20, 40) + rng.uniform(0, 2 * np.pi))
    waves = np.sin(2 * np.pi * (rows + wobble) / rng.uniform(4, 7) + rng.uniform(0, 2 * np.pi))
    shade = 14 * waves + 35 * (waves > 0.9) + 8 * _smooth_noise(rng, size, 3)
    return base + shade[..., None] * np.array([0.7, 1.0, 1.0])


def _sand(rng: np.random.Generator, size: int) -> np.ndarray:
    """Beige with dark and light speckles. (size, size, 3)."""
    base = np.array([215, 188, 135]) + rng.uniform(-12, 12, 3)
    speckle = rng.random((size, size))
    shade = rng.normal(0, 8, (size, size)) - 40 * (speckle < 0.04) + 25 * (speckle > 0.97)
    return base + (shade + 10 * _smooth_noise(rng, size, 5))[..., None]


_TEXTURES = (_sky, _grass, _water, _sand)  # indexed by stuff class


# ----------------------------------------------------------------------------- scene


def _draw_background(
    rng: np.random.Generator, size: int, shapes: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Background suiting most of the objects with CONTEXT_PROBABILITY, else a random one.

    Returns:
        image: (size, size, 3) float RGB.
        stuff: (size, size) uint8 stuff class (SKY, GRASS, WATER or SAND) of every pixel.
    """
    square_ground = int(rng.choice(TYPICAL_BACKGROUNDS[SQUARE]))
    typical = [(SKY, square_ground, WATER)[shape] for shape in shapes]
    # Each object votes for its typical background; the random fraction breaks ties.
    votes = np.bincount(typical, minlength=NUM_STUFF) + 0.5 * rng.random(NUM_STUFF)
    context = rng.random() < CONTEXT_PROBABILITY
    if rng.random() < HORIZON_PROBABILITY:
        votes[SKY] = 0.0  # the sky is above every horizon anyway
        voted = context and votes.max() >= 1.0
        ground = int(np.argmax(votes)) if voted else int(rng.choice((GRASS, WATER, SAND)))
        rows, columns = np.mgrid[0:size, 0:size]
        horizon = size * rng.uniform(0.3, 0.6) + rng.uniform(-0.15, 0.15) * (columns - size / 2)
        stuff = np.where(rows < horizon, SKY, ground).astype(np.uint8)
    else:
        kind = int(np.argmax(votes)) if context else int(rng.integers(NUM_STUFF))
        stuff = np.full((size, size), kind, np.uint8)
    image = np.zeros((size, size, 3), np.float32)
    for kind in np.unique(stuff):
        image[stuff == kind] = _TEXTURES[kind](rng, size)[stuff == kind]
    return image, stuff


def _shape_mask(
    shape: int, centre: np.ndarray, extent: float, angle: float, size: int
) -> np.ndarray:
    """(size, size) bool mask of one shape centred at ``centre`` (row, column).

    ``extent`` is a circle's radius, a square's half side or a triangle's circumradius;
    only triangles are turned by ``angle``.
    """
    rows, columns = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dy, dx = rows - centre[0], columns - centre[1]
    if shape == CIRCLE:
        return dx**2 + dy**2 <= extent**2
    if shape == SQUARE:
        return (np.abs(dx) <= extent) & (np.abs(dy) <= extent)
    corners = angle + 2 * np.pi * np.arange(3) / 3
    vy, vx = extent * np.sin(corners), extent * np.cos(corners)
    sides = [
        (vx[(k + 1) % 3] - vx[k]) * (dy - vy[k]) - (vy[(k + 1) % 3] - vy[k]) * (dx - vx[k])
        for k in range(3)
    ]  # the sign of each edge function says on which side of that edge a pixel lies
    return np.all([s >= 0 for s in sides], axis=0) | np.all([s <= 0 for s in sides], axis=0)


def _place(
    rng: np.random.Generator, stuff: np.ndarray, shape: int, extent: float, in_context: bool
) -> np.ndarray:
    """(row, column) of an object's centre, on its typical background if ``in_context``.

    The whole object stays inside the image; without a typical background in reach, or
    when not ``in_context``, the centre is uniform.
    """
    size = stuff.shape[0]
    low, high = int(np.ceil(extent)), int(size - np.ceil(extent))
    if in_context:
        window = np.isin(stuff[low:high, low:high], TYPICAL_BACKGROUNDS[shape])
        candidates = np.flatnonzero(window)
        if candidates.size:
            row, column = np.unravel_index(rng.choice(candidates), window.shape)
            return np.array([row + low, column + low], np.float32) + 0.5
    return rng.uniform(low, high, 2).astype(np.float32)


def _object_colour(
    rng: np.random.Generator, colour: int, size: int, centre: np.ndarray, extent: float
) -> np.ndarray:
    """(size, size, 3) float colour of one object: jittered hue, a light gradient, pixel noise."""
    rgb = (_OBJECT_RGB[colour] + rng.uniform(-18, 18, 3)) * rng.uniform(0.85, 1.1)
    rows, columns = np.mgrid[0:size, 0:size].astype(np.float32)
    light = rng.uniform(0, 2 * np.pi)
    gradient = ((rows - centre[0]) * np.sin(light) + (columns - centre[1]) * np.cos(light)) / extent
    shading = 1.0 + 0.15 * np.clip(gradient, -1.0, 1.0)
    return rgb * shading[..., None] + rng.normal(0, 4, (size, size, 1))


def _object_borders(label: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels next to a different label where one of the two is an object."""
    is_object = label >= NUM_STUFF
    border = np.zeros(label.shape, bool)
    vertical = (label[1:] != label[:-1]) & (is_object[1:] | is_object[:-1])
    border[1:] |= vertical
    border[:-1] |= vertical
    horizontal = (label[:, 1:] != label[:, :-1]) & (is_object[:, 1:] | is_object[:, :-1])
    border[:, 1:] |= horizontal
    border[:, :-1] |= horizontal
    return border


def render_sample(
    rng: np.random.Generator,
    image_size: int,
    ignore_border: bool,
    anchor_class: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one scene: textured background regions and 1-4 objects in context.

    An object that cannot be placed without covering much of the others is left out.

    Args:
        rng: the only source of randomness; the same generator state gives the same sample.
        image_size: side of the square image, at least 32.
        ignore_border: label both sides of every object outline ``IGNORE_INDEX``.
        anchor_class: class of the first object (an object class, 4..15); None draws it.

    Returns:
        image: (image_size, image_size, 3) uint8 RGB.
        label: (image_size, image_size) uint8 class indices into ``SYNTHETIC_CLASSES`` or 255.

    Raises:
        ConfigError: for a too small ``image_size`` or an ``anchor_class`` that is no object.
    """
    _check_image_size(image_size)
    if anchor_class is not None and not NUM_STUFF <= anchor_class < len(SYNTHETIC_CLASSES):
        raise ConfigError(f"anchor_class={anchor_class} is not an object class (4..15)")
    count = int(rng.integers(1, 5))
    colours = rng.integers(0, len(COLOURS), count)
    shapes = rng.integers(0, len(SHAPES), count)
    if anchor_class is not None:
        colours[0], shapes[0] = divmod(anchor_class - NUM_STUFF, len(SHAPES))
    image, stuff = _draw_background(rng, image_size, shapes.tolist())
    label = stuff.copy()
    occupied = np.zeros(stuff.shape, bool)
    for colour, shape in zip(colours.tolist(), shapes.tolist(), strict=True):
        extent = rng.uniform(0.12, 0.30) * image_size * _HALF_EXTENT[shape]
        angle = rng.uniform(0, 2 * np.pi)
        in_context = rng.random() < CONTEXT_PROBABILITY
        for attempt in range(8):  # keep overlaps small; the typical background may be crowded
            centre = _place(rng, stuff, shape, extent, in_context and attempt < 4)
            mask = _shape_mask(shape, centre, extent, angle, image_size)
            if (mask & occupied).sum() <= 0.15 * mask.sum():
                break
        else:
            continue  # no room left: leave this object out (the first one always fits)
        occupied |= mask
        label[mask] = object_class(colour, shape)
        image[mask] = _object_colour(rng, colour, image_size, centre, extent)[mask]
    image += rng.normal(0, 2.5, image.shape)  # sensor noise over everything
    if ignore_border:
        label[_object_borders(label)] = IGNORE_INDEX
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), label


# ----------------------------------------------------------------------------- folder


def _manifest(config: SyntheticConfig) -> dict:
    """Everything that decides the files' contents (compared when a folder is reused)."""
    return {
        "generator": "cagnet.data.synthetic",
        "version": GENERATOR_VERSION,
        **asdict(config),
        "classes": list(SYNTHETIC_CLASSES),
        "unseen": list(SYNTHETIC_UNSEEN),
    }


def _is_empty_folder(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _file_names(count: int) -> set[str]:
    return {f"{index:05d}.png" for index in range(count)}


def _problem_with(root: Path, manifest: dict) -> str | None:
    """Why ``root`` is not the complete data set ``manifest`` describes; None when it is."""
    try:
        written = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return "it has no readable manifest.json"
    differing = sorted(key for key in manifest if written.get(key) != manifest[key])
    if differing:
        values = ", ".join(f"{k}={written.get(k)!r} (wanted {manifest[k]!r})" for k in differing)
        return f"it holds a different data set: {values}"
    for split, count in zip(_SPLITS, (manifest["num_train"], manifest["num_val"]), strict=True):
        for kind in ("images", "labels"):
            folder = root / kind / split
            if not folder.is_dir() or set(os.listdir(folder)) != _file_names(count):
                return f"{folder} does not hold exactly {count} PNG files"
    return None


def _write_split(staging: Path, config: SyntheticConfig, split: int, bar: tqdm) -> list[int]:
    """Write one split's images and labels; return its pixel count per class."""
    name = _SPLITS[split]
    count = (config.num_train, config.num_val)[split]
    (staging / "images" / name).mkdir(parents=True)
    (staging / "labels" / name).mkdir(parents=True)
    pixels = np.zeros(256, np.int64)
    objects = len(SYNTHETIC_CLASSES) - NUM_STUFF
    for index in range(count):
        # Each image has its own stream, so it does not depend on the order of generation.
        rng = np.random.default_rng(np.random.SeedSequence([config.seed, split, index]))
        anchor = NUM_STUFF + index % objects  # all 12 objects in any 12 consecutive images
        image, label = render_sample(rng, config.image_size, config.ignore_border, anchor)
        Image.fromarray(image).save(staging / "images" / name / f"{index:05d}.png")
        Image.fromarray(label).save(staging / "labels" / name / f"{index:05d}.png")
        pixels += np.bincount(label.ravel(), minlength=256)
        bar.update()
    return pixels[: len(SYNTHETIC_CLASSES)].tolist()


def generate_synthetic(
    root: Path, config: SyntheticConfig = SyntheticConfig(), progress: bool = False
) -> Path:
    """Write the synthetic data set to ``root``, or reuse it if it is already there.

    The files are a function of ``config`` alone (byte-identical on every run). The set is built
    in a hidden sibling folder and renamed into place, so ``root`` is either complete or absent.

    Args:
        root: folder to create; an existing empty folder is filled.
        config: sizes, seed and border labelling.
        progress: show a progress bar.

    Returns:
        ``root``.

    Raises:
        DataError: when ``root`` exists and holds anything but this very data set; nothing in
            it is touched.
    """
    root = Path(root)
    manifest = _manifest(config)
    if root.exists() and not _is_empty_folder(root):
        problem = _problem_with(root, manifest) if root.is_dir() else "it is not a folder"
        if problem is None:
            return root
        raise DataError(
            f"{root} already exists and is not the synthetic data set asked for: {problem}. "
            "Give another folder, or delete this one to generate the data set there."
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        total = config.num_train + config.num_val
        with tqdm(total=total, desc=f"drawing {root.name}", disable=not progress) as bar:
            pixels = {_SPLITS[s]: _write_split(staging, config, s, bar) for s in range(2)}
        (staging / "classes.txt").write_text("\n".join(SYNTHETIC_CLASSES) + "\n")
        (staging / "unseen.txt").write_text("\n".join(SYNTHETIC_UNSEEN) + "\n")
        manifest["class_pixels"] = pixels
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            os.replace(staging, root)  # atomic; also replaces an empty folder
        except OSError as error:
            if _problem_with(root, manifest) is None:
                return root  # another process wrote the same data set first
            raise DataError(f"could not move the generated data set to {root}: {error}") from error
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return root
