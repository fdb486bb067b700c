"""Post-processing of a trained run: calibration (SPNet-c) and self-training (the +ST rows).

Both live in their own modules; this file calls them for a finished run folder and finds
their results again when a comparison is re-run. Like the runs, neither ever overwrites: an
attempt interrupted part-way is left as it is and the step starts again beside it.

* calibrate: ``cagnet calibrate`` on the run's checkpoint chooses gamma on the labels
  ``calibration.labels`` says (default pseudo_unseen: a proxy model trained without some seen
  classes, never the test labels), writing ``calibration[-k].json``; the run's model is then
  evaluated with that gamma into ``metrics-calibrated.json`` (raw and calibrated side by side).
* self_train: ``self_train`` continues the run on its own pseudo-labels in
  ``self-training[-k]`` (one folder per round); the last round's metrics are the variant's.
"""

import argparse
import importlib
import json
from dataclasses import replace
from pathlib import Path

from cagnet.compare.records import flat_metrics
from cagnet.compare.variants import CALIBRATE, POST_STEPS, SELF_TRAIN
from cagnet.config import Config
from cagnet.errors import ConfigError

# post step -> (module, function) that performs it.
PROVIDERS = {
    CALIBRATE: ("cagnet.evaluation.calibration_cli", "command_calibrate"),
    SELF_TRAIN: ("cagnet.training.self_training", "self_train"),
}
CALIBRATED_TAG = "calibrated"


def _provider(post: str):
    module_name, function_name = PROVIDERS[post]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if not module_name.startswith(str(error.name)):
            raise
        return None
    return getattr(module, function_name, None)


def require_post_step(variant: str, post: str) -> None:
    """ConfigError when ``post`` is unknown or its module is not part of this build."""
    if post not in POST_STEPS:
        raise ConfigError(f"variant {variant!r}: unknown post-processing {post!r}")
    if post and _provider(post) is None:
        module_name, function_name = PROVIDERS[post]
        raise ConfigError(
            f"variant {variant!r} needs {module_name}.{function_name}, which this build does "
            "not have yet; leave the variant out"
        )


def _attempt(folder: Path, stem: str, suffix: str, k: int) -> Path:
    return folder / (f"{stem}{suffix}" if k == 0 else f"{stem}-{k}{suffix}")


def _calibrate(config: Config, run_dir: Path, progress: bool) -> tuple[dict, dict]:
    from cagnet.evaluation.calibration import label_source
    from cagnet.evaluation.run import evaluate_and_save
    from cagnet.training.checkpoint import CHECKPOINT_NAME
    from cagnet.training.distributed import Context
    from cagnet.training.loop import CONFIG_NAME, load_trained_model, resolve_device

    metrics_path = run_dir / f"metrics-{CALIBRATED_TAG}.json"
    kind, _ = label_source(config.calibration.labels)
    if kind == "manual":  # gamma set by hand in the config
        choice = {"gamma": config.calibration.gamma, "labels": "manual"}
    else:
        k = 0
        while not _attempt(run_dir, "calibration", ".json", k).is_file() and (
            _attempt(run_dir, "calibration", "-proxy", k).exists()
        ):
            k += 1  # an interrupted attempt (its proxy folder only): start again beside it
        output = _attempt(run_dir, "calibration", ".json", k)
        if not output.is_file():
            _provider(CALIBRATE)(
                argparse.Namespace(
                    config=run_dir / CONFIG_NAME,
                    overrides=[],
                    checkpoint=run_dir / CHECKPOINT_NAME,
                    output=output,
                    proxy_checkpoint=None,
                    quiet=not progress,
                )
            )
        choice = json.loads(output.read_text())
    if not metrics_path.is_file():
        calibration = replace(config.calibration, gamma=float(choice["gamma"]))
        device = resolve_device(config.device, Context())
        model, data, gamma_config = load_trained_model(
            replace(config, calibration=calibration), run_dir / CHECKPOINT_NAME, device
        )
        evaluate_and_save(
            model, data, gamma_config, run_dir, device, CALIBRATED_TAG, progress=progress
        )
    payload = json.loads(metrics_path.read_text())
    calibrated = payload.get("calibrated", payload)  # gamma 0: the raw scores are calibrated
    details = {"gamma": round(float(choice["gamma"]), 6), "gamma_labels": choice["labels"]}
    if "proxy_gamma" in choice:  # pseudo_unseen: the proxy's gamma before the model's cap
        details["proxy_gamma"] = round(float(choice["proxy_gamma"]), 6)
    if choice.get("tuned_on_test_labels"):
        details["tuned_on_test_labels"] = True
    return flat_metrics(calibrated), details


def _self_train(config: Config, run_dir: Path, progress: bool) -> tuple[dict, dict]:
    rounds = config.self_training.rounds
    k = 0
    while True:
        first = _attempt(run_dir, "self-training", "", k)
        last = first if rounds == 1 else first.with_name(f"{first.name}-round{rounds}")
        if (last / "metrics.json").is_file() or not first.exists():
            break
        k += 1  # an interrupted attempt: start again beside it
    if not (last / "metrics.json").is_file():
        _provider(SELF_TRAIN)(run_dir, (), run_dir=first, progress=progress)
    metrics = json.loads((last / "metrics.json").read_text())
    summary_path = last / "pseudo_labels.json"
    details = {"rounds": rounds}
    if summary_path.is_file():
        details["pseudo_labelled_pixels"] = json.loads(summary_path.read_text()).get(
            "pseudo_labelled_pixels"
        )
    return flat_metrics(metrics), details


def post_process(
    post: str, config: Config, run_dir: Path, progress: bool
) -> tuple[dict[str, float], dict]:
    """Run ``post`` on the trained run in ``run_dir`` (or read its earlier result).

    Returns:
        The variant's final flat metrics and details worth reporting (e.g. the chosen gamma).
    """
    require_post_step(run_dir.name, post)
    if post == CALIBRATE:
        return _calibrate(config, run_dir, progress)
    return _self_train(config, run_dir, progress)
