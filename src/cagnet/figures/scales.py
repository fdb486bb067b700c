"""Fig. 6: which of the CM's three context scales the selector prefers at each pixel.

The context selector gives per-pixel weights A (B, 3, h, w) over the context maps of receptive
fields 3, 7 and 17 on F (dilations 1, 2, 5); the map shows argmax_s A_s, and the histogram how
often each scale wins among the pixels of each class.
"""

from dataclasses import dataclass

import numpy as np
import torch

from cagnet.errors import ConfigError
from cagnet.figures.common import LoadedRun, ValImage, val_image, valid_pixels
from cagnet.visualize import colourise

SCALE_COLOURS = ((0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17))


@dataclass(frozen=True)
class ScaleMaps:
    """The selector's choice per pixel.

    Attributes:
        images: the val images.
        maps: (h, w) int64 per image, values in {0, 1, 2}: argmax over the scale weights.
        histogram: (K, S) int64, pixels of class k (ground truth at feature resolution) whose
            chosen scale is s, summed over the images.
    """

    images: list[ValImage]
    maps: list[np.ndarray]
    histogram: np.ndarray


@torch.no_grad()
def scale_weights(run: LoadedRun, image: ValImage) -> torch.Tensor:
    """The context selector's (S, h, w) weights for one image.

    Raises:
        ConfigError: when the model has no CM with a per-pixel selector.
    """
    encoder = getattr(run.model, "encoder", None)
    module = getattr(encoder, "contextual_module", None)
    if module is None or module.config.selector != "pixel":
        raise ConfigError(
            f"{run.run_dir}: the model has no contextual module with a per-pixel context "
            "selector (model.contextual.selector=pixel); 'scales' needs a CaGNet run"
        )
    return encoder(image.inputs).context.scale_weights[0]


def selected_scales(run: LoadedRun, indices: list[int]) -> ScaleMaps:
    """The argmax scale maps of val images ``indices`` and the per-class histogram."""
    num_classes = run.data.split.num_classes
    images, maps, histogram = [], [], None
    for index in indices:
        image = val_image(run.data, index)
        weights = scale_weights(run, image)  # (S, h, w)
        chosen = weights.argmax(dim=0)  # (h, w)
        if histogram is None:
            histogram = np.zeros((num_classes, weights.shape[0]), dtype=np.int64)
        label = image.label_at(tuple(chosen.shape))
        valid = valid_pixels(label, num_classes)
        np.add.at(histogram, (label[valid].numpy(), chosen[valid].numpy()), 1)
        images.append(image)
        maps.append(chosen.numpy())
    return ScaleMaps(images, maps, histogram)


def draw_scales(result: ScaleMaps, class_names: list[str], unseen: tuple[int, ...]):
    """Rows of image | GT | chosen scale, and a bar chart of the chosen scale per class."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    rows = len(result.images)
    figure = plt.figure(figsize=(9, 2.4 * rows + 3.2))
    grid = figure.add_gridspec(rows + 1, 3, height_ratios=[2.4] * rows + [3.2])
    for row, image in enumerate(result.images):
        height, width = image.picture.shape[:2]
        panels = [
            (image.picture, {}),
            (colourise(image.label.numpy(), len(class_names)), {}),
            (
                result.maps[row],
                dict(cmap=ListedColormap(SCALE_COLOURS), vmin=-0.5, vmax=2.5),
            ),
        ]
        for column, (picture, style) in enumerate(panels):
            axis = figure.add_subplot(grid[row, column])
            axis.imshow(picture, interpolation="nearest", extent=(0, width, height, 0), **style)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(("image", "ground truth", "chosen scale")[column], fontsize=9)
            if column == 0:
                axis.set_ylabel(f"val {image.index}", fontsize=8)
    axis = figure.add_subplot(grid[rows, :])
    shares = result.histogram / np.maximum(result.histogram.sum(axis=1, keepdims=True), 1)
    present = np.flatnonzero(result.histogram.sum(axis=1))
    bottom = np.zeros(len(present))
    for scale, colour in enumerate(SCALE_COLOURS):
        axis.bar(range(len(present)), shares[present, scale], bottom=bottom, color=colour)
        bottom += shares[present, scale]
    names = [class_names[k] + ("*" if k in unseen else "") for k in present]
    axis.set_xticks(range(len(present)), names, rotation=45, ha="right", fontsize=8)
    axis.set_ylabel("share of the class's pixels")
    labels = ("scale 1 (3 px)", "scale 2 (7 px)", "scale 3 (17 px)")
    axis.legend(
        [Patch(color=c) for c in SCALE_COLOURS],
        labels,
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    axis.set_title("chosen scale per class (* unseen)", fontsize=9)
    figure.tight_layout()
    return figure
