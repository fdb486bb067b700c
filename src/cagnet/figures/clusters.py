"""Fig. 1: K-means clusters of one class's pixel features across val images.

The pixels of the chosen class (ground truth at feature resolution) from every chosen image are
clustered together, so one colour means one cluster in every image. The paper's point: with
context, the features of one class fall into groups that follow the surroundings.
"""

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.cluster import KMeans

from cagnet.errors import ConfigError
from cagnet.figures.common import LoadedRun, ValImage, images_with, val_image
from cagnet.models.pixelwise import to_pixels

FEATURE_KINDS = ("F", "X")
CLUSTER_COUNTS = (2, 5)


@dataclass(frozen=True)
class ClusterMaps:
    """Cluster maps of one class.

    Attributes:
        class_index: the clustered class.
        images: the val images used.
        maps: {K: [(h, w) int64 per image: cluster id, -1 off the class]}.
    """

    class_index: int
    images: list[ValImage]
    maps: dict[int, list[np.ndarray]]


def class_index(run: LoadedRun, name: str) -> int:
    """The index of class ``name``; ConfigError listing the classes when unknown."""
    names = list(run.data.split.class_names)
    if name not in names:
        raise ConfigError(f"--class {name!r} is not a class of {run.run_dir}; choose from {names}")
    return names.index(name)


@torch.no_grad()
def class_features(
    run: LoadedRun, image: ValImage, class_id: int, feature: str
) -> tuple[np.ndarray, np.ndarray]:
    """The class's pixels in one image: ((h, w) bool mask, (N, l) features F or X)."""
    if feature not in FEATURE_KINDS:
        raise ConfigError(f"--feature {feature!r}; choose from {FEATURE_KINDS}")
    encoded = run.model.encoder(image.inputs)
    features = encoded.backbone_features if feature == "F" else encoded.features  # (1, l, h, w)
    mask = image.label_at(tuple(features.shape[-2:])) == class_id  # (h, w)
    pixels = to_pixels(features)[mask.flatten()]  # (N, l)
    return mask.numpy(), pixels.numpy()


def cluster_class(
    run: LoadedRun,
    class_name: str,
    feature: str = "X",
    count: int = 4,
    counts: tuple[int, ...] = CLUSTER_COUNTS,
    seed: int = 0,
) -> ClusterMaps:
    """K-means (scikit-learn, seeded) over the class's pixels of the first ``count`` val
    images that contain it, once per K in ``counts``."""
    class_id = class_index(run, class_name)
    images = [val_image(run.data, i) for i in images_with(run.data, [class_id], count)]
    if not images:
        raise ConfigError(f"no val image of {run.run_dir} contains class {class_name!r}")
    masks, pixels = zip(*(class_features(run, im, class_id, feature) for im in images), strict=True)
    stacked = np.concatenate(pixels).astype(np.float64)  # (N, l)
    maps: dict[int, list[np.ndarray]] = {}
    for k in counts:
        if stacked.shape[0] < k:
            raise ConfigError(
                f"class {class_name!r} has {stacked.shape[0]} pixels at feature resolution in "
                f"these images, fewer than K = {k}; use more --images"
            )
        labels = KMeans(n_clusters=k, random_state=seed, n_init=10).fit_predict(stacked)
        maps[k], start = [], 0
        for mask in masks:
            cluster_map = np.full(mask.shape, -1, dtype=np.int64)
            cluster_map[mask] = labels[start : start + int(mask.sum())]
            start += int(mask.sum())
            maps[k].append(cluster_map)
    return ClusterMaps(class_id, images, maps)


def draw_clusters(result: ClusterMaps, class_name: str, feature: str):
    """One row per image: image | the class's pixels coloured by cluster, one column per K."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    counts = sorted(result.maps)
    colours = plt.get_cmap("tab10").colors
    rows = len(result.images)
    figure, axes = plt.subplots(rows, 1 + len(counts), figsize=(3 * (1 + len(counts)), 2.4 * rows))
    axes = np.atleast_2d(axes)
    for row, image in enumerate(result.images):
        height, width = image.picture.shape[:2]
        axes[row, 0].imshow(image.picture)
        axes[row, 0].set_title(f"val {image.index}", fontsize=8)
        for column, k in enumerate(counts, start=1):
            cluster_map = result.maps[k][row]
            axes[row, column].imshow(image.picture, alpha=0.35)
            shown = np.ma.masked_less(cluster_map, 0)
            axes[row, column].imshow(
                shown,
                cmap=ListedColormap(colours[:k]),
                vmin=-0.5,
                vmax=k - 0.5,
                extent=(-0.5, width - 0.5, height - 0.5, -0.5),
                interpolation="nearest",
            )
            axes[row, column].set_title(f"K = {k}", fontsize=8)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(f"K-means over {feature} of class '{class_name}' (colour = cluster)")
    return figure
