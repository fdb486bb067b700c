"""Fig. 4: SPNet(-c), ZS3Net and CaGNet side by side on val images with unseen classes.

Reads a ``cagnet compare`` folder (its results.csv); each method's column comes from its run of
the lowest seed listed. SPNet-c is SPNet's model with the recorded gamma subtracted from the
seen-class scores. Predictions are ``model.segment`` upsampled bilinearly to the label size
(eval.resolution "label"), without the config's test-time augmentation.
"""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cagnet.data.sample import IGNORE_INDEX
from cagnet.errors import ConfigError, RunFolderError
from cagnet.evaluation.evaluator import predict
from cagnet.figures.common import LoadedRun, images_with, load_run, val_image
from cagnet.visualize import colourise, palette

# Column title -> the variants that may fill it, preferred first.
COLUMNS = {
    "SPNet-c": ("spnet-c",),
    "SPNet": ("spnet",),
    "ZS3Net": ("zs3net",),
    "CaGNet": ("cagnet",),
}


@dataclass(frozen=True)
class MethodColumn:
    """One method of the grid: its title, run folder and calibration factor."""

    title: str
    variant: str
    seed: int
    run_dir: Path
    gamma: float


@dataclass(frozen=True)
class MethodsGrid:
    """What the grid shows.

    Attributes:
        indices: val indices of the rows (each holds unseen-class pixels).
        columns: the methods, in column order.
        pictures, truths: per row, (H, W, 3) uint8 image and (H, W) int64 ground truth.
        predictions: {title: [(H, W) int64 per row]}.
    """

    indices: list[int]
    columns: list[MethodColumn]
    pictures: list[np.ndarray]
    truths: list[np.ndarray]
    predictions: dict[str, list[np.ndarray]]


def read_compare_rows(compare_dir: Path) -> list[dict]:
    """results.csv of a compare folder. RunFolderError when it is missing."""
    path = Path(compare_dir) / "results.csv"
    if not path.is_file():
        raise RunFolderError(f"{compare_dir} has no results.csv; is it a `cagnet compare` folder?")
    with path.open() as stream:
        return list(csv.DictReader(stream))


def run_folder(compare_dir: Path, row: dict) -> Path:
    """A row's run folder inside ``compare_dir`` (runs/<variant>/seed<N>), wherever it was run."""
    return Path(compare_dir) / "runs" / Path(*Path(row["run_dir"]).parts[-2:])


def method_columns(compare_dir: Path) -> list[MethodColumn]:
    """SPNet-c (or SPNet), ZS3Net and CaGNet, those present in the comparison."""
    rows = read_compare_rows(compare_dir)
    columns = []
    for title, variants in COLUMNS.items():
        if title == "SPNet" and any(c.title == "SPNet-c" for c in columns):
            continue
        matches = [r for r in rows if r["variant"] in variants]
        if not matches:
            continue
        row = min(matches, key=lambda r: int(r["seed"]))
        details = json.loads(row["details"]) if row.get("details") else {}
        gamma = float(details.get("gamma", 0.0))
        columns.append(
            MethodColumn(
                title, row["variant"], int(row["seed"]), run_folder(compare_dir, row), gamma
            )
        )
    if not columns:
        raise ConfigError(
            f"{compare_dir}/results.csv has none of the variants "
            f"{sorted(sum(COLUMNS.values(), ()))}; run "
            "`cagnet compare --variants spnet-c,zs3net,cagnet` first"
        )
    return columns


@torch.no_grad()
def prediction(
    run: LoadedRun, inputs: torch.Tensor, label: torch.Tensor, gamma: float
) -> np.ndarray:
    """(H, W) predicted classes of one (1, 3, H, W) image, gamma off the seen-class scores."""
    logits = run.model.segment(inputs)  # (1, K, h, w)
    seen = ~run.data.split.unseen_mask()
    logits = logits - gamma * seen.to(logits.dtype)[None, :, None, None]
    predicted, _ = predict(logits, label[None], "label")
    return predicted[0].numpy()


def methods_grid(compare_dir: Path, count: int = 4) -> MethodsGrid:
    """Predictions of each method on the first ``count`` val images with unseen classes."""
    columns = method_columns(compare_dir)
    runs = [load_run(c.run_dir) for c in columns]
    names = {tuple(r.data.split.class_names) for r in runs}
    if len(names) != 1 or len({r.data.split.unseen for r in runs}) != 1:
        raise ConfigError(f"the runs of {compare_dir} do not share one class list and split")
    data = runs[0].data
    indices = images_with(data, list(data.split.unseen), count)
    pictures, truths, predictions = [], [], {c.title: [] for c in columns}
    for index in indices:
        image = val_image(data, index)
        pictures.append(image.picture)
        truths.append(image.label.numpy())
        for column, run in zip(columns, runs, strict=True):
            predictions[column.title].append(
                prediction(run, image.inputs, image.label, column.gamma)
            )
    return MethodsGrid(indices, columns, pictures, truths, predictions)


def draw_methods(grid: MethodsGrid, class_names: list[str], unseen: tuple[int, ...]):
    """image | GT | one column per method, with one legend of every class shown."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    titles = ["image", "ground truth", *[c.title for c in grid.columns]]
    rows = max(len(grid.indices), 1)
    figure, axes = plt.subplots(
        rows, len(titles), figsize=(2.6 * len(titles), 2.2 * rows), squeeze=False
    )
    shown: set[int] = set()
    for row, index in enumerate(grid.indices):
        maps = [grid.truths[row], *[grid.predictions[c.title][row] for c in grid.columns]]
        for m in maps:
            shown |= {int(v) for v in np.unique(m) if 0 <= v < len(class_names)}
        panels = [grid.pictures[row], *[colourise(m, len(class_names)) for m in maps]]
        for column, picture in enumerate(panels):
            axes[row, column].imshow(picture, interpolation="nearest")
            if row == 0:
                axes[row, column].set_title(titles[column], fontsize=9)
        axes[row, 0].set_ylabel(f"val {index}", fontsize=8)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    colours = palette(len(class_names)) / 255.0
    handles = [Patch(color=colours[k]) for k in sorted(shown)]
    labels = [class_names[k] + (" (unseen)" if k in unseen else "") for k in sorted(shown)]
    if any((t == IGNORE_INDEX).any() for t in grid.truths):
        handles.append(Patch(color="black"))
        labels.append("ignored (not scored)")
    figure.tight_layout()
    # Below the panels: saving with bbox_inches="tight" keeps it in the picture.
    figure.legend(
        handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=6, fontsize=8
    )
    return figure
