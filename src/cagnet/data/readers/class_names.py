"""Class lists of the supported data sets, in the order of their label files.

Names are spelled as words (``"potted plant"``, ``"tv monitor"``) so that a word-embedding
encoder can average the embeddings of multi-word names. The order is what matters for reading
labels; it matches the official CaGNet, SPNet and ZS3Net releases (checked in the tests).
"""

from cagnet.data.protocols import BACKGROUND

# Pascal-VOC 2012: label value i = VOC_CLASSES[i]; 0 = background.
VOC_OBJECT_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa",
    "train", "tv monitor",
)  # fmt: skip
VOC_CLASSES = (BACKGROUND, *VOC_OBJECT_CLASSES)

# Pascal-Context, CaGNet's 33-class set (official labels.txt): label value i (1..33) =
# CONTEXT_33_CLASSES[i - 1]; 0 = every other pixel ("background").
CONTEXT_33_CLASSES = (
    *VOC_OBJECT_CLASSES,
    "sky", "grass", "ground", "road", "building", "tree", "water", "mountain", "wall", "floor",
    "track", "keyboard", "ceiling",
)  # fmt: skip

# Pascal-Context, the 59-class set in the order of the data set's 59_labels.txt, which ZS3Net
# and its embeddings use (VOC's classes first): label value i (1..59) = CONTEXT_59_CLASSES[i - 1];
# 0 = background. Not the alphabetical order of some converters (e.g. mmsegmentation's).
CONTEXT_59_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train",
    "tv monitor", "bag", "bed", "bench", "book", "building", "cabinet", "ceiling", "cloth",
    "computer", "cup", "door", "fence", "floor", "flower", "food", "grass", "ground", "keyboard",
    "light", "mountain", "mouse", "curtain", "platform", "sign", "plate", "road", "rock",
    "shelves", "sidewalk", "sky", "snow", "bedclothes", "track", "tree", "truck", "wall",
    "water", "window", "wood",
)  # fmt: skip

# COCO-stuff 164k: label value i (0..181) = COCO_STUFF_CLASSES[i]; 255 = unlabelled.
# Value = COCO-stuff id - 1: 91 things (ids 1..91, 11 of them never annotated), then 91 stuff
# classes (ids 92..182).
COCO_STUFF_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "street sign", "stop sign", "parking meter", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",
    "hat", "backpack", "umbrella", "shoe", "eye glasses", "handbag", "tie", "suitcase",
    "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "plate", "wine glass", "cup", "fork",
    "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot",
    "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "mirror",
    "dining table", "window", "desk", "toilet", "door", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "blender",
    "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush", "hair brush",
    "banner", "blanket", "branch", "bridge", "building-other", "bush", "cabinet", "cage",
    "cardboard", "carpet", "ceiling-other", "ceiling-tile", "cloth", "clothes", "clouds",
    "counter", "cupboard", "curtain", "desk-stuff", "dirt", "door-stuff", "fence",
    "floor-marble", "floor-other", "floor-stone", "floor-tile", "floor-wood", "flower", "fog",
    "food-other", "fruit", "furniture-other", "grass", "gravel", "ground-other", "hill",
    "house", "leaves", "light", "mat", "metal", "mirror-stuff", "moss", "mountain", "mud",
    "napkin", "net", "paper", "pavement", "pillow", "plant-other", "plastic", "platform",
    "playingfield", "railing", "railroad", "river", "road", "rock", "roof", "rug", "salad",
    "sand", "sea", "shelf", "sky-other", "skyscraper", "snow", "solid-other", "stairs", "stone",
    "straw", "structural-other", "table", "tent", "textile-other", "towel", "tree", "vegetable",
    "wall-brick", "wall-concrete", "wall-other", "wall-panel", "wall-stone", "wall-tile",
    "wall-wood", "water-other", "waterdrops", "window-blind", "window-other", "wood",
)  # fmt: skip

# The 11 COCO thing classes that were never annotated (no pixel of any image has them).
COCO_STUFF_NEVER_ANNOTATED = (
    "street sign", "hat", "shoe", "eye glasses", "plate", "mirror", "window", "desk", "door",
    "blender", "hair brush",
)  # fmt: skip
