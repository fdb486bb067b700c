"""The ``cagnet calibrate`` sub-command: choose the calibration gamma and write calibration.json.

Example::

    cagnet calibrate src/cagnet/configs/demo.yaml --checkpoint runs/demo-X/checkpoint.pt
    cagnet eval src/cagnet/configs/demo.yaml --checkpoint runs/demo-X/checkpoint.pt \\
        --set calibration.gamma=G --set calibration.labels=pseudo_unseen

Which labels choose gamma (``calibration.labels``), from honest to optimistic:

* ``pseudo_unseen`` (default): SPNet's and the CaGNet paper's way of choosing a hyper-parameter
  ("splitting a set of validation categories from seen categories"). A proxy model is trained
  with the same config, with ``calibration.pseudo_unseen`` seen classes hidden as well and
  without a held-out ``holdout_fraction`` of the training images; gamma is chosen for the proxy
  on those held-out images, seen vs pseudo-unseen classes, and then used for the real model.
  No unseen label and no test image is touched, at the price of one more training run and of
  a gamma measured on another model (trained on fewer classes and images). Because the proxy's
  scores are not the real model's, the seen-mIoU bound is checked again on the real model over
  the same held-out images (their seen labels only): gamma is lowered to the largest value that
  keeps the real model within ``max_seen_drop`` of its raw seen mIoU there.
* ``split:NAME``: the given model on another labelled split of the data set (e.g. a held-out
  val split), disjoint from the reported one; as honest as that split is separate.
* ``val``: the given model on the reported split itself. This tunes on the test labels: the
  numbers are an optimistic upper bound and every report says so.
"""

import argparse
import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np

from cagnet.atomic import atomic_write_text
from cagnet.build import Data, hide_unseen
from cagnet.cli_args import add_overrides_argument
from cagnet.config import Config, load_config
from cagnet.data.feature_cache import CachedReader, cache_reader
from cagnet.data.readers import build_reader
from cagnet.data.readers.base import check_index
from cagnet.data.sample import Sample
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import ConfigError, DataError, RunFolderError
from cagnet.evaluation.calibration import (
    LABEL_SOURCES,
    GammaChoice,
    check_calibration,
    choose_gamma,
    label_source,
    largest_safe_gamma,
    sweep,
)
from cagnet.evaluation.metrics import report
from cagnet.evaluation.test_time import configured_segment

CALIBRATION_NAME = "calibration.json"


class SubsetReader:
    """The items ``indices`` of ``reader``, in that order (same labels and classes)."""

    def __init__(self, reader, indices: list[int], name: str):
        self.reader, self.indices, self.name = reader, list(indices), name
        self.class_names = reader.class_names
        self.valid_classes = np.asarray(reader.valid_classes, dtype=bool)

    def __len__(self) -> int:
        return len(self.indices)

    def load_label(self, index: int) -> np.ndarray:
        return self.reader.load_label(self.indices[check_index(index, len(self))])

    def __getitem__(self, index: int) -> Sample:
        return self.reader[self.indices[check_index(index, len(self))]]


def pseudo_unseen_classes(
    split: ZeroShotSplit, names: tuple[str, ...], seed: int
) -> tuple[int, ...]:
    """The seen classes that play unseen: ``names``, or |Cu| seen classes drawn with ``seed``."""
    if names:
        lookup = {name: i for i, name in enumerate(split.class_names)}
        wrong = [n for n in names if lookup.get(n) not in split.seen]
        if wrong:
            raise ConfigError(
                f"calibration.pseudo_unseen {wrong} are not seen classes; choose among "
                f"{[split.class_names[i] for i in split.seen]}"
            )
        chosen = [lookup[n] for n in names]
    else:
        count = max(1, min(len(split.unseen), len(split.seen) - 1))
        chosen = random.Random(seed).sample(list(split.seen), count)
    if len(chosen) >= len(split.seen):
        raise ConfigError("calibration.pseudo_unseen must leave at least one seen class")
    return tuple(sorted(chosen))


def proxy_data(data: Data, config: Config) -> Data:
    """The proxy's data: training images minus a held-out part, pseudo-unseen classes hidden.

    ``val`` is the held-out part of the TRAIN split with its seen and pseudo-unseen labels (the
    true unseen classes are already hidden there); ``split`` counts pseudo-unseen as unseen.
    """
    calibration = config.calibration
    pseudo = pseudo_unseen_classes(data.split, calibration.pseudo_unseen, config.seed)
    count = len(data.train)
    held = round(count * calibration.holdout_fraction)
    if not 0 < held < count:
        raise DataError(
            f"calibration.holdout_fraction={calibration.holdout_fraction} of {count} training "
            "images holds out none or all of them; change the fraction"
        )
    order = random.Random(config.seed).sample(range(count), count)
    holdout, rest = sorted(order[:held]), sorted(order[held:])
    split = ZeroShotSplit(data.split.class_names, tuple(sorted({*data.split.unseen, *pseudo})))
    name = data.train.name
    return Data(
        train=hide_unseen(SubsetReader(data.train, rest, f"{name} (calibration proxy)"), split),
        val=SubsetReader(data.train, holdout, f"{name} (held out for calibration)"),
        split=split,
    )


def _proxy_checkpoint(config: Config, folder: Path, progress: bool) -> Path:
    from cagnet.training.checkpoint import CHECKPOINT_NAME
    from cagnet.training.loop import train

    if folder.exists():
        raise RunFolderError(
            f"calibration proxy folder {folder} already exists; reuse its model with "
            f"--proxy-checkpoint {folder / CHECKPOINT_NAME}, or choose another --output"
        )
    proxy_config = proxy_training_config(config)

    def hook(data: Data) -> Data:
        return proxy_data(data, proxy_config)

    result = train(
        proxy_config, run_dir=folder, progress=progress, evaluate_at_end=False, data_hook=hook
    )
    return result.run_dir / CHECKPOINT_NAME


def proxy_training_config(config: Config) -> Config:
    """The config the proxy trains with: the same, raw scores, its own name."""
    return replace(
        config,
        name=f"{config.name}-calibration-proxy",
        calibration=replace(config.calibration, gamma=0.0),
    )


def _summary(report) -> dict:
    return {
        "hiou": report.hiou,
        "seen_miou": report.seen.miou,
        "unseen_miou": report.unseen.miou,
        "miou": report.overall.miou,
    }


def calibration_payload(choice: GammaChoice, gammas, facts: dict, config: Config) -> dict:
    """What calibration.json holds: gamma, its labels, the search and before/after scores."""
    calibration = config.calibration
    kind, _ = label_source(calibration.labels)
    return {
        "gamma": choice.gamma,
        "labels": calibration.labels,
        "chosen_on": LABEL_SOURCES[kind],
        "tuned_on_test_labels": kind == "val",
        **facts,
        "search": {
            "min": float(gammas[0]),
            "max": float(gammas[-1]),
            "steps": len(gammas),
            "automatic_max": calibration.search_max == 0.0,
            "max_seen_drop": calibration.max_seen_drop,
            "seen_miou_floor": choice.seen_floor,
        },
        "before": _summary(choice.raw),
        "after": _summary(choice.calibrated),
        "unbounded_gamma": choice.unbounded_gamma,
        "curve": [
            {"gamma": float(g), **_summary(r)} for g, r in zip(gammas, choice.reports, strict=True)
        ],
        "use": f"--set calibration.gamma={choice.gamma!r} "
        f"--set calibration.labels={calibration.labels}",
    }


def bound_on_model(
    config: Config, checkpoint: Path, proxy_gamma: float, device, progress: bool
) -> dict:
    """The proxy's gamma capped so that the real model keeps its seen mIoU.

    The real model is swept from 0 to ``proxy_gamma`` on the proxy's held-out training images,
    scored on their seen labels only (the true unseen classes are hidden in training labels).
    The model trained on these images, so its seen mIoU there is optimistic; what is bounded is
    its relative loss, which is what gamma trades away.
    """
    from cagnet.training.loop import load_trained_model

    model, data, prepared = load_trained_model(config, checkpoint, device)
    reader = proxy_data(data, prepared).val  # the same held-out images as the proxy's
    # Their labels hide the true unseen classes, which therefore count as "never present";
    # the model must still be free to predict them, or no gamma would flip any pixel.
    reader.valid_classes = reader.valid_classes | data.split.unseen_mask().numpy()
    if prepared.feature_cache.enabled:
        reader = cache_reader(model, reader, prepared, device, progress=progress)
    searched = replace(
        prepared, calibration=replace(prepared.calibration, search_min=0.0, search_max=proxy_gamma)
    )
    segment = configured_segment(model.segment, prepared.eval)
    gammas, confusions = sweep(segment, reader, data.split, device, searched, progress=progress)
    seen_mious = [report(c, data.split.seen, data.split.unseen).seen.miou for c in confusions]
    max_drop = prepared.calibration.max_seen_drop
    gamma = largest_safe_gamma(gammas, seen_mious, max_drop)
    return {
        "gamma": gamma,
        "images": len(reader),
        "seen_miou_raw": seen_mious[0],
        "seen_miou_floor": (1.0 - max_drop) * seen_mious[0],
        "seen_miou_at_gamma": seen_mious[[float(g) for g in gammas].index(gamma)],
        "seen_miou_at_proxy_gamma": seen_mious[-1],
    }


def command_calibrate(args: argparse.Namespace) -> int:
    """Choose gamma for ``args.checkpoint`` on ``calibration.labels``; write calibration.json."""
    from cagnet.training.distributed import Context
    from cagnet.training.loop import load_trained_model, resolve_device

    config = load_config(args.config, args.overrides)
    # With feature_cache.enabled the proxy trains and the sweep runs on cached features, as the
    # model itself did: running the backbone on every image again would cost minutes on a CPU.
    check_calibration(config.calibration)
    kind, split_name = label_source(config.calibration.labels)
    if kind == "manual":
        raise ConfigError(
            "calibration.labels=manual means gamma is set by hand; to search, choose "
            "pseudo_unseen, split:NAME or val"
        )
    if kind == "split" and split_name in (config.dataset.val_split, config.dataset.train_split):
        raise ConfigError(
            f"calibration.labels=split:{split_name} is the reported or the training split; use "
            "labels=val to tune on the reported split knowingly, or pseudo_unseen to stay clear "
            "of unseen labels"
        )
    output = args.output or args.checkpoint.parent / CALIBRATION_NAME
    if output.exists():
        raise RunFolderError(f"{output} exists; calibrate refuses to overwrite it: use --output")
    output.parent.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device, Context())
    facts = {"checkpoint": str(args.checkpoint)}  # the model gamma is for
    if kind == "pseudo_unseen":
        proxy = args.proxy_checkpoint or _proxy_checkpoint(
            config, output.parent / f"{output.stem}-proxy", not args.quiet
        )
        model, data, prepared = load_trained_model(proxy_training_config(config), proxy, device)
        pseudo = pseudo_unseen_classes(
            data.split, prepared.calibration.pseudo_unseen, prepared.seed
        )
        data = proxy_data(data, prepared)
        facts.update(
            proxy_checkpoint=str(proxy),
            pseudo_unseen=[data.split.class_names[i] for i in pseudo],
        )
        reader = data.val
    else:
        model, data, prepared = load_trained_model(config, args.checkpoint, device)
        reader = data.val
        if kind == "split":
            reader = build_reader(prepared.dataset, split_name)
    if prepared.feature_cache.enabled and not isinstance(reader, CachedReader):
        reader = cache_reader(model, reader, prepared, device, progress=not args.quiet)
    limit = prepared.eval.max_images
    indices = list(range(len(reader) if limit <= 0 else min(limit, len(reader))))
    facts.update(reader=reader.name, images=len(indices), images_in_split=len(reader))
    segment = configured_segment(model.segment, prepared.eval)
    gammas, confusions = sweep(
        segment, reader, data.split, device, prepared, indices, progress=not args.quiet
    )
    choice = choose_gamma(
        gammas, confusions, data.split.seen, data.split.unseen, prepared.calibration.max_seen_drop
    )
    payload = calibration_payload(choice, gammas.tolist(), facts, prepared)
    if kind == "pseudo_unseen" and choice.gamma > 0:
        bound = bound_on_model(config, args.checkpoint, choice.gamma, device, not args.quiet)
        payload.update(gamma=bound["gamma"], proxy_gamma=choice.gamma, model_bound=bound)
        payload["before_after_of"] = "the proxy, at proxy_gamma"
        payload["use"] = (
            f"--set calibration.gamma={bound['gamma']!r} --set calibration.labels=pseudo_unseen"
        )
    atomic_write_text(output, json.dumps(payload, indent=1))
    before, after = payload["before"], payload["after"]
    print(f"gamma = {choice.gamma:.6g} chosen on {payload['labels']} ({payload['chosen_on']})")
    if "model_bound" in payload:
        bound = payload["model_bound"]
        print(
            f"  capped at {payload['gamma']:.6g} for the model: its seen mIoU on those images "
            f"{bound['seen_miou_raw']:.4f} raw, {bound['seen_miou_at_gamma']:.4f} at the cap "
            f"(floor {bound['seen_miou_floor']:.4f})"
        )
    for name, scores in (("raw", before), ("calibrated", after)):
        print(
            f"  {name:>10}: hIoU {scores['hiou']:.4f}  seen mIoU {scores['seen_miou']:.4f}  "
            f"unseen mIoU {scores['unseen_miou']:.4f}"
        )
    print(f"written: {output}\nevaluate with: {payload['use']}")
    return 0


def add_calibrate_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``cagnet calibrate`` on the ``cagnet`` sub-command parser."""
    parser = subparsers.add_parser(
        "calibrate",
        help="choose the calibration gamma (SPNet-c) and write calibration.json",
        description="Search gamma, subtracted from seen-class scores at test time, to maximise "
        "hIoU while the seen mIoU stays within calibration.max_seen_drop of its raw value. "
        "calibration.labels picks the labels (default pseudo_unseen: honest, trains a proxy).",
    )
    parser.add_argument("config", type=Path, help="YAML config file the model was trained with")
    add_overrides_argument(
        parser, "override a config field, e.g. --set calibration.labels=val (repeatable)"
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="the model's checkpoint")
    parser.add_argument(
        "--output", type=Path, help=f"default: beside the checkpoint, {CALIBRATION_NAME}"
    )
    parser.add_argument(
        "--proxy-checkpoint", type=Path, help="pseudo_unseen: reuse an already trained proxy"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=command_calibrate)
