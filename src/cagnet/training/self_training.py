"""Self-training (ST, section 4.3, after ZS3Net) for every method.

A trained model tags the unlabelled pixels of the training images with unseen classes; training
then continues from that model, with the pseudo-labels added to the training labels, in a new
run folder. ``self_training.rounds`` > 1 repeats both, each round labelling with the newest model.

Candidates: every pixel whose training label is 255. The training reader has already hidden the
unseen classes there, so a candidate may be an unseen-class pixel, Pascal-VOC's void/boundary
outline or, under the spnet protocol, background. Telling these apart would need the hidden
ground truth, which pseudo-labelling never reads, so all of them are candidates (as in ZS3Net's
and the official CaGNet code). Pseudo-labels are a function of the model's scores and of the
training labels as training sees them, nothing else.

Rules (``SelfTrainingConfig.rule``):
  percent (ZS3Net): among the candidates predicted (argmax) as unseen class u, keep the
    ``percent`` % with the highest softmax score, counted over the whole training set. Two
    passes: the first fills one histogram of confidence keys per unseen class (32513 counts per
    class, whatever the data set's size), the second writes the labels. Pixels whose key equals
    the cut-off key are all kept, so a class keeps at least ``percent`` % and more only when
    scores tie to within 2^-8 relative in 1 - score.
  topk (the official CaGNet code's ``top_p``): a candidate gets the best-ranked unseen class
    among its ``top_k`` best classes, if there is one.
  Both: ``threshold`` > 0 first drops proposals whose softmax score is below it.

A confidence key is the float32 bit pattern of 1 - score, shifted right by 15 bits (its exponent
and 8 mantissa bits). 1 - score is summed from the other classes' probabilities, so it stays
accurate near score 1, where a trained model's scores crowd; the key falls as the score rises.
"""

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from tqdm import tqdm

from cagnet.atomic import atomic_write_text
from cagnet.build import Data
from cagnet.config import Config, SelfTrainingConfig
from cagnet.config_io import from_dict, merge, parse_overrides, to_dict
from cagnet.data.loader import evaluation_loader
from cagnet.data.readers.pseudo_labelled import PseudoLabelledReader, write_pseudo_label
from cagnet.data.sample import IGNORE_INDEX
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import CheckpointError, ConfigError, RunFolderError
from cagnet.guards import require_finite_scores
from cagnet.training.checkpoint import CHECKPOINT_NAME, load_checkpoint
from cagnet.training.distributed import Context
from cagnet.training.loop import (
    TrainResult,
    load_trained_model,
    read_run_config,
    resolve_device,
    train,
)

PERCENT, TOPK = "percent", "topk"
RULES = (PERCENT, TOPK)
PSEUDO_LABEL_DIR = "pseudo_labels"
SUMMARY_NAME = "pseudo_labels.json"
_KEY_SHIFT = 15
NUM_KEYS = (0x3F800000 >> _KEY_SHIFT) + 1  # 0x3F800000 is 1.0 in float32


def check_self_training(config: SelfTrainingConfig) -> None:
    """ConfigError naming the first ``self_training.*`` value that is out of range."""
    problems = [
        (config.rule not in RULES, f"rule={config.rule!r}; choose from {list(RULES)}"),
        (not 0.0 <= config.percent <= 100.0, f"percent={config.percent}; give 0..100"),
        (config.top_k < 1, f"top_k={config.top_k}; give 1 or more"),
        (not 0.0 <= config.threshold <= 1.0, f"threshold={config.threshold}; give 0..1"),
        (config.rounds < 1, f"rounds={config.rounds}; give 1 or more"),
        (config.iterations < 0, f"iterations={config.iterations}; give 0 (default) or more"),
        (config.lr_factor <= 0.0, f"lr_factor={config.lr_factor}; give a positive factor"),
    ]
    for bad, message in problems:
        if bad:
            raise ConfigError(f"self_training.{message}")


class Proposals(NamedTuple):
    """Pseudo-label proposals of one image, before the percent rule's cut-off.

    Attributes:
        classes: (H, W) int64, an unseen class or IGNORE_INDEX (no proposal).
        scores: (H, W) float32 softmax score of the proposed class.
        keys: (H, W) int64 confidence keys; smaller means more confident.
    """

    classes: torch.Tensor
    scores: torch.Tensor
    keys: torch.Tensor


def confidence_keys(uncertainty: torch.Tensor) -> torch.Tensor:
    """Histogram keys of 1 - score values in [0, 1] (any shape): monotone, 0..NUM_KEYS-1."""
    value = uncertainty.float().clamp(0.0, 1.0)
    value = torch.where(value > 0, value, torch.zeros_like(value))  # no -0.0 (sign bit)
    return (value.view(torch.int32) >> _KEY_SHIFT).long()


def propose(
    probabilities: torch.Tensor,
    label: torch.Tensor,
    unseen: torch.Tensor,
    config: SelfTrainingConfig,
) -> Proposals:
    """Unseen-class proposals for the unlabelled pixels of one image.

    Args:
        probabilities: (K, H, W) softmax scores at label resolution.
        label: (H, W) training label (unseen classes already hidden); only 255 pixels are used.
        unseen: (K,) bool, True for unseen classes.
    """
    if config.rule == PERCENT:
        classes = probabilities.argmax(dim=0)
        found = unseen[classes]
    elif config.rule == TOPK:
        ranked = probabilities.topk(min(config.top_k, probabilities.shape[0]), dim=0).indices
        is_unseen = unseen[ranked]  # (k, H, W)
        first = is_unseen.to(torch.uint8).argmax(dim=0)  # first unseen rank (0 when none)
        classes = ranked.gather(0, first[None])[0]
        found = is_unseen.any(dim=0)
    else:
        raise ConfigError(f"self_training.rule={config.rule!r}; choose from {list(RULES)}")
    scores = probabilities.gather(0, classes[None])[0]
    # 1 - score as the sum of the other probabilities: exact where score rounds to 1.
    uncertainty = probabilities.scatter(0, classes[None], 0.0).sum(dim=0)
    keep = (label == IGNORE_INDEX) & found & (scores >= config.threshold)
    classes = torch.where(keep, classes, torch.full_like(classes, IGNORE_INDEX))
    return Proposals(classes, scores, confidence_keys(uncertainty))


def percent_cutoffs(histograms: torch.Tensor, percent: float) -> torch.Tensor:
    """The largest confidence key kept per unseen class so that at least ``percent`` % stay.

    Args:
        histograms: (U, NUM_KEYS) int64 counts of proposals per class and key.

    Returns:
        (U,) int64; -1 where nothing is kept.
    """
    share = Fraction(repr(float(percent))) / 100
    cumulative = histograms.cumsum(dim=1)
    cutoffs = torch.full((histograms.shape[0],), -1, dtype=torch.long)
    for position, total in enumerate(cumulative[:, -1].tolist()):
        wanted = -(-total * share.numerator // share.denominator)  # ceil, exact
        if wanted > 0:
            target = torch.tensor([wanted], dtype=cumulative.dtype)
            cutoffs[position] = int(torch.searchsorted(cumulative[position], target))
    return cutoffs


def _scored_images(
    segment: Callable[[torch.Tensor], torch.Tensor],
    reader: Sequence,
    device: torch.device,
    batch_size: int,
    valid_classes: Sequence[bool] | None,
    description: str,
    progress: bool,
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """(index, (K, H, W) softmax scores at label resolution, (H, W) label) per training image."""
    loader = evaluation_loader(reader, range(len(reader)), batch_size)  # unpadded, size by size
    invalid = None
    if valid_classes is not None:
        invalid = ~torch.as_tensor(list(valid_classes), dtype=torch.bool, device=device)
    for images, labels, indices in tqdm(
        loader, desc=description, disable=not progress, leave=False
    ):
        logits = segment(images.to(device)).float()
        require_finite_scores(logits, indices)
        if invalid is not None and bool(invalid.any()):
            logits = logits.masked_fill(invalid[None, :, None, None], -1e9)  # never proposed
        logits = F.interpolate(logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
        probabilities = logits.softmax(dim=1)
        labels = labels.to(device)
        for k, index in enumerate(indices):
            yield index, probabilities[k], labels[k]


@torch.no_grad()
def pseudo_label(
    segment: Callable[[torch.Tensor], torch.Tensor],
    reader: Sequence,
    split: ZeroShotSplit,
    config: SelfTrainingConfig,
    folder: Path,
    device: torch.device,
    batch_size: int = 4,
    progress: bool = True,
    valid_classes: Sequence[bool] | None = None,
) -> dict:
    """Write one pseudo-label PNG per training image into ``folder``; return a summary.

    Args:
        segment: images (B, 3, H, W) -> logits (B, K, h, w); the model must be in eval mode.
        reader: the training reader, unseen classes hidden (``Data.train``).
        config: the rule and its parameters.
        folder: where ``<index:06d>.png`` files go (see ``data.readers.pseudo_labelled``).
        valid_classes: (K,) bool; False for classes that never occur (as in ``evaluate``).
            Not the training reader's: hiding marks the unseen classes invalid there.

    Returns:
        Counts per unseen class ("proposed" before the percent cut-off, "pseudo_labelled",
        "min_score") and in total, with the rule and its parameters.
    """
    check_self_training(config)
    if not split.unseen:
        raise ConfigError("self-training labels unseen classes, but this split has none")
    unseen = split.unseen_mask(device)
    position = torch.full((split.num_classes,), -1, dtype=torch.long, device=device)
    position[list(split.unseen)] = torch.arange(len(split.unseen), device=device)
    num_unseen = len(split.unseen)
    histograms = torch.zeros(num_unseen, NUM_KEYS, dtype=torch.long)

    def proposals(description: str) -> Iterator[tuple[int, Proposals, int]]:
        for index, probabilities, label in _scored_images(
            segment, reader, device, batch_size, valid_classes, description, progress
        ):
            unlabelled = int((label == IGNORE_INDEX).sum())
            yield index, propose(probabilities, label, unseen, config), unlabelled

    if config.rule == PERCENT:  # pass 1: how confident the proposals of each class are
        for _, found, _ in proposals("pseudo-label (pass 1 of 2)"):
            mask = found.classes != IGNORE_INDEX
            flat = position[found.classes[mask]] * NUM_KEYS + found.keys[mask]
            histograms += torch.bincount(flat.cpu(), minlength=num_unseen * NUM_KEYS).view(
                num_unseen, NUM_KEYS
            )
        cutoffs = percent_cutoffs(histograms, config.percent).to(device)
    else:
        cutoffs = torch.full((num_unseen,), NUM_KEYS, dtype=torch.long, device=device)

    proposed = torch.zeros(num_unseen, dtype=torch.long)
    kept = torch.zeros(num_unseen, dtype=torch.long)
    min_score = torch.full((num_unseen,), float("inf"))
    unlabelled_pixels = num_images = 0
    description = "pseudo-label (pass 2 of 2)" if config.rule == PERCENT else "pseudo-label"
    for index, found, unlabelled in proposals(description):
        mask = found.classes != IGNORE_INDEX
        where = position[torch.where(mask, found.classes, split.unseen[0])]  # unseen class slot
        keep = mask & (found.keys <= cutoffs[where])
        labels = torch.where(keep, found.classes, torch.full_like(found.classes, IGNORE_INDEX))
        write_pseudo_label(folder, index, labels.cpu().numpy())
        proposed += torch.bincount(where[mask].cpu(), minlength=num_unseen)
        kept += torch.bincount(where[keep].cpu(), minlength=num_unseen)
        if bool(keep.any()):
            lowest = torch.full((num_unseen,), float("inf"), device=device)
            lowest = lowest.scatter_reduce(0, where[keep], found.scores[keep], "amin")
            min_score = torch.minimum(min_score, lowest.cpu())
        unlabelled_pixels += unlabelled
        num_images += 1

    classes = {
        split.class_names[c]: {
            "index": c,
            "proposed": int(proposed[u]),
            "pseudo_labelled": int(kept[u]),
            "min_score": None if kept[u] == 0 else float(min_score[u]),
        }
        for u, c in enumerate(split.unseen)
    }
    return {
        "rule": config.rule,
        "percent": config.percent,
        "top_k": config.top_k,
        "threshold": config.threshold,
        "num_images": num_images,
        "unlabelled_pixels": unlabelled_pixels,
        "pseudo_labelled_pixels": int(kept.sum()),
        "classes": classes,
    }


def round_train_config(config: Config) -> Config:
    """The config every self-training round trains with.

    ``train.iterations`` becomes ``self_training.iterations`` (0: a quarter of the source run's,
    at least two ``alternate_every`` blocks so that CaGNet trains on pseudo-labels at least
    once). CaGNet (and methods without stages) get ``pretrain_iterations`` 0: the alternation of
    training and finetuning starts at once and, as always, ends with finetuning. ZS3Net first
    trains E and C with the pseudo-labels for those iterations (stage a), then runs its G and C
    stages again. Every learning rate is scaled by ``lr_factor``, unless the source run is itself
    a self-training run (``enabled``), whose rates and iterations already are.
    """
    st = config.self_training
    check_self_training(st)
    schedule = config.train
    if st.enabled:
        iterations = st.iterations or schedule.iterations - _stage_iterations(config)
        factor = 1.0
    else:
        quarter = (schedule.iterations - _stage_iterations(config)) // 4
        iterations = st.iterations or max(quarter, 2 * schedule.alternate_every)
        factor = st.lr_factor
    schedule = replace(
        schedule,
        iterations=iterations + _stage_iterations(config),
        pretrain_iterations=iterations if config.model.method == "zs3net" else 0,
        lr=schedule.lr * factor,
        lr_generator=schedule.lr_generator * factor,
        lr_heads=schedule.lr_heads * factor,
    )
    name = config.name if config.name.endswith("-st") else f"{config.name}-st"
    return replace(config, name=name, train=schedule, self_training=replace(st, enabled=True))


def _stage_iterations(config: Config) -> int:
    """Iterations a method runs after its segmentation stage (ZS3Net's G and C stages)."""
    if config.model.method == "zs3net":
        return config.zs3net.generator_iterations + config.zs3net.classifier_iterations
    return 0


def load_source(source: Path, overrides: Sequence[str] = ()) -> tuple[Config, Path]:
    """The config (with ``--set`` overrides) and checkpoint of a run folder or checkpoint file.

    Raises:
        RunFolderError / CheckpointError: when ``source`` is neither, naming it.
    """
    source = Path(source)
    if source.is_dir():
        config, checkpoint = read_run_config(source), source / CHECKPOINT_NAME
        load_checkpoint(checkpoint)  # fail now, naming the file, rather than after labelling
    elif source.is_file():
        checkpoint, saved = source, load_checkpoint(source).get("config")
        if not saved:
            raise CheckpointError(f"{source} holds no config; give its run folder instead")
        config = from_dict(Config, saved, str(source))
    else:
        raise RunFolderError(f"{source} is neither a run folder nor a checkpoint file")
    if overrides:
        values = merge(to_dict(config), parse_overrides(overrides))
        config = from_dict(Config, values, f"{source} with --set {' '.join(overrides)}")
    return config, checkpoint


def round_folders(config: Config, rounds: int, run_dir: Path | None = None) -> list[Path]:
    """New run folders for the rounds: ``X``, ``X-round2``, ... (none may exist yet).

    ``X`` is ``run_dir`` or ``output_dir/<name>-<timestamp>[-k]``.
    """

    def folders(first: Path) -> list[Path]:
        return [first] + [first.with_name(f"{first.name}-round{r}") for r in range(2, rounds + 1)]

    if run_dir is not None:
        taken = [f for f in folders(Path(run_dir)) if f.exists()]
        if taken:
            raise RunFolderError(f"run folder {taken[0]} already exists; choose another --run-dir")
        return folders(Path(run_dir))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        first = Path(config.output_dir) / f"{config.name}-{stamp}{suffix}"
        if not any(f.exists() for f in folders(first)):
            return folders(first)
    raise RunFolderError(f"could not find a free run folder name in {config.output_dir}")


def _is_main_process() -> bool:
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _labelling_hook(
    config: Config, checkpoint: Path, folder: Path, round_index: int, progress: bool
) -> Callable[[Data], Data]:
    """The ``data_hook`` of one round: rank 0 writes the pseudo-labels into the new run folder
    (``train`` has just created it), every rank then reads the training set through them."""

    def hook(data: Data) -> Data:
        if _is_main_process():
            context = Context(local_rank=int(os.environ.get("LOCAL_RANK", "0")))
            device = resolve_device(config.device, context)
            # Labelling reads images: the model keeps its backbone even where training then
            # uses the feature cache (the cached reader takes its labels from ours).
            plain = replace(config, feature_cache=replace(config.feature_cache, enabled=False))
            with torch.random.fork_rng(devices=[]):  # building a model draws random weights
                model, _, _ = load_trained_model(plain, checkpoint, device)
            summary = pseudo_label(
                model.segment,
                data.train,
                data.split,
                config.self_training,
                folder / PSEUDO_LABEL_DIR,
                device,
                config.eval.batch_size,
                progress,
                valid_classes=getattr(data.val, "valid_classes", None),
            )
            del model
            summary.update(round=round_index, source_checkpoint=str(checkpoint))
            atomic_write_text(folder / SUMMARY_NAME, json.dumps(summary, indent=1))
        if dist.is_available() and dist.is_initialized():
            dist.barrier()
        return replace(data, train=PseudoLabelledReader(data.train, folder / PSEUDO_LABEL_DIR))

    return hook


def self_train(
    source: Path,
    overrides: Sequence[str] = (),
    run_dir: Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Self-train the model of run folder (or checkpoint) ``source``; it is only read.

    Each round writes a new run folder (``round_folders``) holding ``pseudo_labels/`` and
    ``pseudo_labels.json`` beside the usual config, losses, checkpoint and metrics; training
    starts from the previous round's weights (fresh optimisers) with ``round_train_config``.

    Args:
        overrides: ``--set`` values applied to the source run's config, e.g.
            ``self_training.rule=topk``.
        run_dir: the first round's exact, new folder.

    Returns:
        The last round's run folder and metrics.
    """
    config, checkpoint = load_source(source, overrides)
    config = round_train_config(config)
    result = None
    folders = round_folders(config, config.self_training.rounds, run_dir)
    for round_index, folder in enumerate(folders, start=1):
        hook = _labelling_hook(config, checkpoint, folder, round_index, progress)
        result = train(
            config, run_dir=folder, progress=progress, init_from=checkpoint, data_hook=hook
        )
        checkpoint = result.run_dir / CHECKPOINT_NAME
    return result
