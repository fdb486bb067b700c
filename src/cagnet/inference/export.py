"""Model files from run folders (``cagnet export-model``) and models from model files."""

import json
from pathlib import Path

import torch
from torch import nn

import cagnet
from cagnet.config import Config
from cagnet.config_io import to_dict
from cagnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from cagnet.errors import CheckpointError
from cagnet.inference.model_file import (
    SUFFIX,
    ModelFile,
    ModelFileError,
    save_model_file,
    tensor_digest,
)
from cagnet.methods import get_method
from cagnet.models.backbones import build_backbone
from cagnet.training.checkpoint import CHECKPOINT_NAME, load_checkpoint

BACKBONE_PREFIX = "encoder.backbone."
METRIC_KEYS = ("hiou", "overall", "seen", "unseen", "images_evaluated", "split")


def packaged_backbone_keys(config: Config, state: dict[str, torch.Tensor]) -> list[str]:
    """Keys of ``state`` that a freshly built backbone of ``config`` reproduces exactly.

    Only a frozen backbone with packaged weights (``pretrained: imagenet``) qualifies: those
    weights come with the installed package, so a model file need not store them again.
    """
    spec = config.model.backbone
    if not (spec.freeze and spec.pretrained == "imagenet"):
        return []
    fresh = build_backbone(spec).state_dict()
    keys = []
    for name, value in fresh.items():
        key = BACKBONE_PREFIX + name
        if key in state and state[key].shape == value.shape and torch.equal(state[key], value):
            keys.append(key)
    return keys


def run_classes(run_dir: Path, config: Config) -> tuple[list[str], list[str], dict]:
    """(class names, unseen names, metrics) from the run's metrics.json, else from its data."""
    metrics_path = run_dir / "metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
        return metrics["class_names"], metrics["unseen_classes"], metrics
    from cagnet.build import build_data, prepare_dataset

    split = build_data(prepare_dataset(config, progress=False)).split
    names = list(split.class_names)
    return names, [names[i] for i in split.unseen], {}


def saved_gamma(run_dir: Path, config: Config) -> float:
    """gamma from the run's ``calibration.json`` (``cagnet calibrate``), else its config's."""
    path = run_dir / "calibration.json"
    if path.is_file():
        return float(json.loads(path.read_text())["gamma"])
    return float(config.calibration.gamma)


def export_model(run_dir: Path, output: Path | None = None, half: bool = False) -> Path:
    """Write the model file of a finished run.

    Args:
        run_dir: a run folder with ``config.yaml`` and ``checkpoint.pt``.
        output: the file to write; default ``RUN_DIR/<run name>.cagnet.pt``. An existing file
            is never overwritten.
        half: store floating-point weights as float16 (half the size; the model runs in
            float32 after loading, its scores differ from the run's by the rounding).

    Returns:
        The path written.

    Raises:
        CheckpointError: when the run folder has no checkpoint or config.
        ModelFileError: when ``output`` exists already.
    """
    from cagnet.training.loop import read_run_config

    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT_NAME).is_file():
        raise CheckpointError(f"{run_dir} has no {CHECKPOINT_NAME}; give a finished run folder")
    config = read_run_config(run_dir)
    output = Path(output) if output is not None else run_dir / f"{config.name}{SUFFIX}"
    if output.exists():
        raise ModelFileError(f"{output} exists already; give another --output")
    state = load_checkpoint(run_dir / CHECKPOINT_NAME)["model"]
    names, unseen, metrics = run_classes(run_dir, config)
    left_out = packaged_backbone_keys(config, state)
    meta = {
        "version": cagnet.__version__,
        "method": config.model.method,
        "backbone": to_dict(config.model.backbone),
        "class_names": names,
        "seen": [name not in unseen for name in names],
        "embedding_sources": list(config.embeddings.sources),
        "embedding_rows": "state['class_embeddings'], one row per class in class_names order",
        "feature_normalisation": "none: the classifier reads the features F (or X) as they are",
        "input_normalisation": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "input_range": "RGB in [0, 1], then (x - mean) / std",
        "training_resolution": config.augment.crop_size,
        "calibration_gamma": saved_gamma(run_dir, config),
        "metrics": {k: metrics[k] for k in METRIC_KEYS if k in metrics},
        "packaged_backbone_keys": left_out,
        "packaged_backbone_digest": tensor_digest({k: state[k] for k in left_out}),
        "config": to_dict(config),
        "run": run_dir.name,
        "stored_dtype": "float16" if half else "float32",
    }
    kept = {k: v for k, v in state.items() if k not in set(left_out)}
    if half:
        kept = {k: v.half() if v.is_floating_point() else v for k, v in kept.items()}
    save_model_file(ModelFile(meta=meta, state=kept), output)
    return output


def build_model(model_file: ModelFile) -> nn.Module:
    """The trained model of ``model_file`` on the CPU, in eval mode, with its real backbone.

    Raises:
        ModelFileError: when the weights do not fit the model its config builds, or the
            packaged backbone weights differ from those the file was trained with.
    """
    config = model_file.config
    state = {k: v.float() if v.is_floating_point() else v for k, v in model_file.state.items()}
    if "class_embeddings" not in state:
        raise ModelFileError(f"{model_file.path} has no 'class_embeddings' in its weights")
    model = get_method(config.model.method).build_model(config, state["class_embeddings"])
    left_out = set(model_file.meta.get("packaged_backbone_keys", []))
    result = model.load_state_dict(state, strict=False)
    missing = set(result.missing_keys) - left_out
    if missing or result.unexpected_keys:
        raise ModelFileError(
            f"{model_file.path} does not fit the model of its own config: missing "
            f"{sorted(missing)[:5]}, unexpected {result.unexpected_keys[:5]}"
        )
    if left_out:
        full = model.state_dict()
        digest = tensor_digest({k: full[k] for k in left_out})
        if digest != model_file.meta.get("packaged_backbone_digest"):
            raise ModelFileError(
                f"{model_file.path}: the installed backbone weights "
                f"({config.model.backbone.name}, {config.model.backbone.pretrained}) differ "
                "from those the model was trained on; install the package version it names "
                f"(model written by cagnet {model_file.meta.get('version')})"
            )
    return model.eval()
