"""Fig. 5: how well G rebuilds the real features, with the CM's latent code or with noise.

For each labelled pixel G receives the ground-truth class's embedding w and either the CM's
latent code z = mu ("with CM") or z ~ N(0, 1) ("w/o CM"); the map is ||G(z, w) - X|| per pixel,
X being the features G is trained to reproduce (cagnet.training.steps: X = F + F * sigmoid(Z)
with the residual CM, F without it). The table gives the mean over seen and unseen pixels.
"""

from dataclasses import dataclass

import numpy as np
import torch

from cagnet.errors import ConfigError
from cagnet.figures.common import LoadedRun, ValImage, val_image, valid_pixels
from cagnet.models.pixelwise import to_pixels

SETTINGS = ("with CM", "w/o CM")


@dataclass(frozen=True)
class ReconstructionMaps:
    """Per-pixel reconstruction losses.

    Attributes:
        images: the val images of the maps.
        maps: {setting: [(h, w) float loss per image, NaN where unlabelled]}.
        table: {setting: {"seen": mean, "unseen": mean}} over ``table_images``.
        table_images: val indices the table averages over.
    """

    images: list[ValImage]
    maps: dict[str, list[np.ndarray]]
    table: dict[str, dict[str, float]]
    table_images: list[int]


@torch.no_grad()
def pixel_losses(run: LoadedRun, image: ValImage, seed: int) -> dict[str, np.ndarray]:
    """{setting: (h, w) ||G(z, w_y) - X||_2, NaN where the label is ignored} for one image.

    Raises:
        ConfigError: when the model is not a CaGNet with a CM and a generator.
    """
    model = run.model
    encoder = getattr(model, "encoder", None)
    if getattr(encoder, "contextual_module", None) is None or model.generator is None:
        raise ConfigError(
            f"{run.run_dir}: 'reconstruction' needs a CaGNet run with a contextual module and a "
            "generator (model.use_contextual_module and model.use_generator true)"
        )
    encoded = encoder(image.inputs)
    height, width = encoded.features.shape[-2:]
    label = image.label_at((height, width)).flatten()  # (h*w,)
    valid = valid_pixels(label, run.data.split.num_classes)
    real = to_pixels(encoded.features)[valid]  # (N, l)
    codes = {
        "with CM": to_pixels(encoded.context.mu)[valid],
        "w/o CM": torch.randn(real.shape, generator=torch.Generator().manual_seed(seed)),
    }
    maps = {}
    for setting, latent in codes.items():
        fake = model.generate(latent, label[valid])  # (N, l)
        loss = torch.full((height * width,), float("nan"))
        loss[valid] = (fake - real).norm(dim=1)
        maps[setting] = loss.reshape(height, width).numpy()
    return maps


def reconstruction(
    run: LoadedRun, indices: list[int], table_indices: list[int], seed: int = 0
) -> ReconstructionMaps:
    """Loss maps of val images ``indices`` and the seen/unseen table over ``table_indices``."""
    num_classes = run.data.split.num_classes
    unseen = np.zeros(num_classes, dtype=bool)
    unseen[list(run.data.split.unseen)] = True
    sums = {s: {"seen": 0.0, "unseen": 0.0} for s in SETTINGS}
    counts = {"seen": 0, "unseen": 0}
    images, maps = [], {s: [] for s in SETTINGS}
    for index in sorted(set(indices) | set(table_indices)):
        image = val_image(run.data, index)
        losses = pixel_losses(run, image, seed + index)
        if index in indices:
            images.append(image)
            for setting in SETTINGS:
                maps[setting].append(losses[setting])
        if index in table_indices:
            label = image.label_at(losses["with CM"].shape).numpy()
            valid = valid_pixels(torch.from_numpy(label), num_classes).numpy()
            groups = {"unseen": valid & unseen[np.where(valid, label, 0)]}
            groups["seen"] = valid & ~groups["unseen"]
            for group, mask in groups.items():
                counts[group] += int(mask.sum())
                for setting in SETTINGS:
                    sums[setting][group] += float(losses[setting][mask].astype(np.float64).sum())
    table = {
        s: {g: sums[s][g] / counts[g] if counts[g] else float("nan") for g in counts}
        for s in SETTINGS
    }
    return ReconstructionMaps(images, maps, table, sorted(table_indices))


def table_markdown(result: ReconstructionMaps) -> str:
    """The mean loss table as markdown."""
    lines = ["| setting | seen pixels | unseen pixels |", "|---|---|---|"]
    for setting, row in result.table.items():
        lines.append(f"| {setting} | {row['seen']:.4f} | {row['unseen']:.4f} |")
    return "\n".join(lines) + "\n"


def draw_reconstruction(result: ReconstructionMaps):
    """Rows of image | loss with CM | loss w/o CM on one colour scale (darker = lower loss)."""
    import matplotlib.pyplot as plt

    values = np.concatenate([m[np.isfinite(m)] for s in SETTINGS for m in result.maps[s]])
    top = float(np.percentile(values, 99)) if values.size else 1.0
    rows = len(result.images)
    figure, axes = plt.subplots(rows, 3, figsize=(9.5, 2.4 * rows), squeeze=False)
    shown = None
    for row, image in enumerate(result.images):
        height, width = image.picture.shape[:2]
        axes[row, 0].imshow(image.picture)
        axes[row, 0].set_ylabel(f"val {image.index}", fontsize=8)
        for column, setting in enumerate(SETTINGS, start=1):
            loss = np.ma.masked_invalid(result.maps[setting][row])
            shown = axes[row, column].imshow(
                loss,
                cmap="magma",
                vmin=0.0,
                vmax=top,
                interpolation="nearest",
                extent=(0, width, height, 0),
            )
            if row == 0:
                axes[row, column].set_title(f"||G(z, w) - X||, {setting}", fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0, 0].set_title("image", fontsize=9)
    figure.colorbar(shown, ax=axes, shrink=0.8, label="reconstruction loss (white: unlabelled)")
    return figure
