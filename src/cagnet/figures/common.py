"""What every figure kind shares: loading a trained run, val images, saving PNG/PDF + caption."""

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from cagnet.build import Data
from cagnet.config import Config
from cagnet.data.sample import IGNORE_INDEX
from cagnet.data.transforms import denormalise, downsample_labels, to_tensors
from cagnet.errors import RunFolderError
from cagnet.training.checkpoint import CHECKPOINT_NAME
from cagnet.training.loop import load_trained_model, read_run_config

CAPTION_SUFFIX = ".txt"


@dataclass
class LoadedRun:
    """A trained run ready for pictures: its model (eval mode, CPU), data and config.

    The feature cache is switched off: figures run E on the images themselves.
    """

    run_dir: Path
    config: Config
    model: torch.nn.Module
    data: Data


@dataclass(frozen=True)
class ValImage:
    """One val image at the model's input and at feature resolution.

    Attributes:
        index: the image's index in the val reader.
        inputs: (1, 3, H, W) normalised image.
        picture: (H, W, 3) uint8.
        label: (H, W) int64 ground truth.
    """

    index: int
    inputs: torch.Tensor
    picture: np.ndarray
    label: torch.Tensor

    def label_at(self, size: tuple[int, int]) -> torch.Tensor:
        """(h, w) ground truth downsampled to ``size`` with nearest neighbours (Y of sec. 3.3)."""
        return downsample_labels(self.label[None], size)[0]


def load_run(run_dir: Path) -> LoadedRun:
    """The model of a finished run folder (config.yaml and checkpoint.pt), on the CPU.

    Raises:
        RunFolderError: when the folder has no checkpoint.
    """
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    checkpoint = run_dir / CHECKPOINT_NAME
    if not checkpoint.is_file():
        raise RunFolderError(f"{run_dir} has no {CHECKPOINT_NAME}; train the run first")
    config = replace(config, feature_cache=replace(config.feature_cache, enabled=False))
    model, data, config = load_trained_model(config, checkpoint, torch.device("cpu"))
    return LoadedRun(run_dir, config, model.eval(), data)


def val_image(data: Data, index: int) -> ValImage:
    """The val reader's item ``index`` as a ``ValImage``."""
    inputs, label = to_tensors(data.val[index])
    return ValImage(index, inputs[None], denormalise(inputs), label)


def images_with(data: Data, classes: list[int], count: int) -> list[int]:
    """``count`` val indices (0 = all), evenly spread over those whose ground truth holds any
    of ``classes`` (consecutive video frames look alike), ascending."""
    chosen = [
        index
        for index in range(len(data.val))
        if np.isin(np.asarray(data.val.load_label(index)), classes).any()
    ]
    if not count or count >= len(chosen):
        return chosen
    return [chosen[int(k)] for k in np.linspace(0, len(chosen) - 1, count).round()]


def valid_pixels(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(h, w) bool: pixels with a class (not ignored)."""
    return (label != IGNORE_INDEX) & (label >= 0) & (label < num_classes)


def caption(kind: str, source: Path, split: str, images: list[int], command: str, text: str) -> str:
    """The caption file's text: what the figure shows and how it was made."""
    shown = ", ".join(str(i) for i in images) if images else "none"
    return (
        f"{text}\n\nkind: {kind}\nsource: {source}\nsplit: {split}\n"
        f"images (val indices): {shown}\ncommand: {command}\n"
    )


def _atomic_bytes(path: Path, payload: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(payload)
    temporary.replace(path)


def save_figure(figure, output: Path, stem: str, caption_text: str, pdf: bool) -> list[Path]:
    """Write ``stem``.png (and .pdf) and the caption ``stem``.txt into ``output``, atomically.

    Raises:
        RunFolderError: when one of the files exists already (figures are never overwritten).
    """
    import matplotlib.pyplot as plt

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    suffixes = [".png", *([".pdf"] if pdf else []), CAPTION_SUFFIX]
    paths = [output / f"{stem}{suffix}" for suffix in suffixes]
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        raise RunFolderError(f"{', '.join(existing)} exist(s); choose another --output folder")
    for path in paths[:-1]:
        stream = io.BytesIO()
        figure.savefig(stream, format=path.suffix[1:], dpi=100, bbox_inches="tight")
        _atomic_bytes(path, stream.getvalue())
    _atomic_bytes(paths[-1], caption_text.encode())
    plt.close(figure)
    return paths
