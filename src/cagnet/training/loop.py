"""The explicit training loop: build, (resume,) alternate the two steps, log, save, evaluate."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from cagnet.build import Data, build_data, build_embeddings, prepare_dataset
from cagnet.config import Config
from cagnet.config_io import from_dict, read_yaml, to_dict
from cagnet.data.feature_cache import feature_training_loader, use_feature_cache
from cagnet.data.loader import training_loader
from cagnet.errors import CheckpointError, ConfigError, RunFolderError
from cagnet.evaluation.run import evaluate_and_save
from cagnet.extras import check_extras
from cagnet.guards import guarded_step
from cagnet.methods import StepInputs, get_method
from cagnet.plots import plot_losses
from cagnet.training import distributed
from cagnet.training.checkpoint import (
    CHECKPOINT_NAME,
    load_checkpoint,
    load_newest_good,
    numbered_checkpoints,
    restore,
    save_checkpoint,
)
from cagnet.training.collapse import SpreadWatch
from cagnet.training.feature_statistics import fit_neck_statistics
from cagnet.training.interrupt import StopRequests, TrainingInterrupted
from cagnet.training.logger import MetricLogger
from cagnet.training.plateau import Plateau
from cagnet.training.run_folder import new_run_folder, remove_unfinished_run, write_yaml
from cagnet.training.schedule import parse_ratio
from cagnet.training.steps import FLOAT32, Precision

CONFIG_NAME = "config.yaml"


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    metrics: dict | None


def resolve_device(name: str, context: distributed.Context) -> torch.device:
    """'auto' -> this rank's GPU when CUDA is available, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{context.local_rank}"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} but CUDA is not available here; use device=cpu")
    return torch.device(name)


def resolve_precision(amp: str, device: torch.device) -> Precision:
    """train.amp -> autocast dtype and, for fp16, a gradient scaler."""
    if amp == "":
        return FLOAT32
    if amp == "bf16":
        return Precision(torch.bfloat16, None)
    if amp == "fp16":
        if device.type != "cuda":
            raise ConfigError("train.amp=fp16 needs a GPU; use bf16 or '' on the CPU")
        return Precision(torch.float16, torch.amp.GradScaler("cuda"))
    raise ConfigError(f"train.amp={amp!r}; choose '', 'bf16' or 'fp16'")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def read_run_config(run_dir: Path) -> Config:
    """The resolved config saved in a run folder."""
    path = Path(run_dir) / CONFIG_NAME
    if not path.is_file():
        raise RunFolderError(f"{run_dir} has no {CONFIG_NAME}; is it a cagnet run folder?")
    return from_dict(Config, read_yaml(path), str(path))


def _shared_run_folder(config: Config, run_dir: Path | None, context) -> Path:
    """Rank 0 creates the folder; the other ranks learn its path."""
    folder = [None]
    if context.is_main:
        folder = [str(new_run_folder(Path(config.output_dir), config.name, run_dir))]
    if context.distributed:
        dist.broadcast_object_list(folder, src=0)
    return Path(folder[0])


def train(
    config: Config,
    run_dir: Path | None = None,
    resume: Path | None = None,
    progress: bool = True,
    evaluate_at_end: bool = True,
    stop_after: int | None = None,
    init_from: Path | None = None,
    data_hook: Callable[[Data], Data] | None = None,
) -> TrainResult:
    """Train a model from ``config`` (or continue the run in folder ``resume``).

    Args:
        run_dir: an exact, new run folder; default ``output_dir/<name>-<timestamp>``.
        resume: a run folder; its saved config is used, ``config`` ignored. Without a
            checkpoint yet (stopped early) the run starts again from iteration 0.
        stop_after: stop (with a checkpoint) after this many iterations, as an interruption would.
        init_from: a checkpoint whose model weights start this run (e.g. self-training continues
            a trained model); optimisers and iteration start fresh.
        data_hook: replaces the data after it is built (e.g. adds pseudo-labels to ``train``).

    Returns:
        The run folder and the final metrics (None when not evaluated).

    Raises:
        TrainingInterrupted: after SIGINT/SIGTERM, once a checkpoint is saved.
    """
    if resume is not None:
        config = read_run_config(resume)
    check_extras(config)  # every missing optional package in one message, before any work
    context = distributed.init_from_environment(
        "cuda" if config.device != "cpu" and torch.cuda.is_available() else "cpu"
    )
    device = resolve_device(config.device, context)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    precision = resolve_precision(config.train.amp, device)._replace(
        grad_clip=config.train.grad_clip
    )

    if context.is_main:
        config = prepare_dataset(config, progress=progress)
    distributed.barrier(context)
    if not context.is_main:
        config = prepare_dataset(config, progress=False)

    # The data first: a missing root or an unknown unseen class fails before a folder exists.
    seed_everything(config.seed)  # identical initial weights on every rank
    method = get_method(config.model.method)
    data = build_data(config)
    if resume is not None:
        folder = Path(resume)
    else:
        folder = _shared_run_folder(config, run_dir, context)
        if context.is_main:  # at once, so that a run stopped before its first checkpoint resumes
            write_yaml(folder / CONFIG_NAME, to_dict(config))
    try:
        with StopRequests() as stop:
            if data_hook is not None:  # may write into the run folder (self-training)
                data = data_hook(data)
            embeddings = build_embeddings(config, data.split.class_names)
            model = method.build_model(config, embeddings).to(device)
            return _train_in_folder(
                _Run(config, folder, context, device, precision, method, data, model, stop),
                progress,
                evaluate_at_end,
                stop_after,
                None if resume is not None else init_from,
            )
    except TrainingInterrupted:
        raise
    except BaseException:  # a failed start: remove the folder unless it holds a checkpoint
        if resume is None and context.is_main:
            remove_unfinished_run(folder, keep=(CHECKPOINT_NAME,))
        raise


@dataclass(frozen=True)
class _Run:
    """What ``train`` has built before the loop starts."""

    config: Config
    folder: Path
    context: distributed.Context
    device: torch.device
    precision: Precision
    method: object
    data: Data
    model: torch.nn.Module
    stop: StopRequests


def _train_in_folder(
    run: _Run,
    progress: bool,
    evaluate_at_end: bool,
    stop_after: int | None,
    init_from: Path | None,
) -> TrainResult:
    """The part of ``train`` after the run folder exists: resume or start, loop, evaluate."""
    config, folder, context, device = run.config, run.folder, run.context, run.device
    precision, method, data, model = run.precision, run.method, run.data, run.model
    stop = run.stop
    if init_from is not None:
        restore_model_only(model, load_checkpoint(init_from), str(init_from))
    if config.feature_cache.enabled:  # E frozen: read its outputs from the cache from now on
        data = use_feature_cache(model, data, config, device, progress and context.is_main)
    resuming = (folder / CHECKPOINT_NAME).is_file() or bool(numbered_checkpoints(folder))
    if not resuming and init_from is None:  # otherwise the checkpoint carries them
        fit_neck_statistics(model, data.train, config.model.neck.statistics_images, device)
    optimizers = method.build_optimizers(model, config)
    named_optimizers = optimizers._asdict()
    plateau = Plateau.from_config(config.train)  # None with the poly schedule
    start = 0
    if resuming:
        payload, _ = load_newest_good(folder)
        start = restore(payload, model, named_optimizers, precision.scaler, str(folder))
        if plateau is not None and "plateau" in payload:
            plateau.load_state_dict(payload["plateau"])
    else:  # a new run, or one stopped before its first checkpoint: from the start
        seed_everything(config.seed + 7919 * context.rank)

    replicas = method.replicate(model, context, device)
    train_config = config.train
    total = train_config.iterations
    end = total if stop_after is None else min(total, start + stop_after)
    schedule = [method.phase(it, config, model) for it in range(total)]
    reads = [method.reads_images(p, config) for p in schedule]
    # Only iterations that read images advance the data stream, which counts them.
    make_loader = feature_training_loader if config.feature_cache.enabled else training_loader
    batches = iter(
        make_loader(
            data.train,
            config.augment,
            train_config.batch_size,
            config.seed,
            sum(reads[:start]),
            sum(reads[:end]),
            context.rank,
            context.world_size,
            train_config.num_workers,
        )
    )
    ratio = parse_ratio(train_config.unseen_ratio, len(data.split.seen), len(data.split.unseen))
    stride = getattr(model_backbone(model), "output_stride", 1)
    feature_size = -(-config.augment.crop_size // stride)
    finetune_pixels = train_config.finetune_pixels or train_config.batch_size * feature_size**2
    logger = MetricLogger(folder, enabled=context.is_main)
    logger.truncate(start)

    bar = tqdm(
        range(start, end), desc="train", disable=not (progress and context.is_main), initial=start
    )
    bar.total = total
    spread = SpreadWatch(expected=config.model.detach_generator_input)
    for iteration in bar:
        learning_rate = method.set_learning_rates(optimizers, config, iteration)
        if plateau is not None:
            learning_rate = plateau.apply(named_optimizers["segmentation"])
        model.train()
        images = labels = None
        if reads[iteration]:
            images, labels = next(batches)
            images, labels = images.to(device), labels.to(device)  # unseen already hidden
        inputs = StepInputs(
            replicas=replicas,
            optimizers=optimizers,
            images=images,
            labels=labels,
            split=data.split,
            config=config,
            precision=precision,
            finetune_pixels=finetune_pixels,
            ratio=ratio,
            iteration=iteration,
        )
        log = guarded_step(method, schedule[iteration], inputs, folder)
        if plateau is not None:  # the ranks' mean, so that every rank scales alike
            plateau.observe(distributed.average(log, context))
        done = iteration + 1
        if iteration % train_config.log_every == 0 or done == end:
            log = distributed.average(log, context)
            logger.log(iteration, {**log, "lr": learning_rate, "phase": schedule[iteration]})
            bar.set_postfix(bar_fields(schedule[iteration], log))
            spread.check(iteration, log)
        logged = iteration % train_config.log_every == 0 or done == end
        stopping = _stop_requested(stop, context, logged)
        if context.is_main and (
            done % train_config.checkpoint_every == 0 or done == end or stopping
        ):
            save_checkpoint(
                folder / CHECKPOINT_NAME,
                done,
                model,
                named_optimizers,
                to_dict(config),
                precision.scaler,
                keep=train_config.keep_checkpoints,
                extra=None if plateau is None else {"plateau": plateau.state_dict()},
            )
        if stopping:
            bar.close()
            logger.close()
            distributed.barrier(context)
            raise TrainingInterrupted(done, folder, stop.signal_name or "")
        if train_config.eval_every and done % train_config.eval_every == 0 and done < total:
            if context.is_main:
                report = evaluate_and_save(
                    model, data, config, folder, device, tag=f"iter{done}", progress=False
                )
                logger.log(iteration, {f"val_{k}": v for k, v in report.flat().items()})
            distributed.barrier(context)
    bar.close()
    logger.close()
    stop.release()  # from here on Ctrl-C stops at once (the final checkpoint is saved)
    if context.is_main:
        plot_losses(folder / "losses.csv", folder / "losses.png")

    metrics = None
    if evaluate_at_end and end == total and context.is_main:
        report = evaluate_and_save(
            model, data, config, folder, device, overlays=True, progress=progress
        )
        metrics = report.as_dict()
    distributed.barrier(context)
    distributed.shutdown(context)
    return TrainResult(run_dir=folder, metrics=metrics)


def bar_fields(phase: str, log: dict[str, float]) -> dict[str, str]:
    """The progress bar's postfix: the phase and the losses it logged (``ft_`` in finetuning)."""
    fields = {"phase": phase}
    for key, value in log.items():
        if key.startswith(("loss_", "ft_loss_")):
            fields[key.removeprefix("ft_").removeprefix("loss_")] = f"{value:.3g}"
    return fields


def _stop_requested(stop: StopRequests, context: distributed.Context, logged: bool) -> bool:
    """Whether a signal asked to stop; with several ranks, whether any rank was asked, agreed
    on at the iterations that log (they already exchange values) so all ranks stop together."""
    if not context.distributed:
        return stop.requested
    if not logged:
        return False
    return distributed.average({"stop": float(stop.requested)}, context)["stop"] > 0


def model_backbone(model: torch.nn.Module) -> torch.nn.Module | None:
    """The backbone E of any method's model (they keep it at ``encoder.backbone``)."""
    encoder = getattr(model, "encoder", None)
    return getattr(encoder, "backbone", None)


def load_trained_model(config: Config, checkpoint: Path, device: torch.device):
    """Build the model of ``config`` and load weights from ``checkpoint`` (for evaluation)."""
    config = prepare_dataset(config, progress=False)
    data = build_data(config)
    method = get_method(config.model.method)
    model = method.build_model(config, build_embeddings(config, data.split.class_names))
    payload = load_checkpoint(checkpoint)
    restore_model_only(model, payload, str(checkpoint))
    if config.feature_cache.enabled:  # after loading: the cache key hashes E's weights
        data = use_feature_cache(model, data, config, device, progress=False, training=False)
    return model.to(device).eval(), data, config


def restore_model_only(model: torch.nn.Module, payload: dict, source: str) -> None:
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        raise CheckpointError(
            f"{source} does not fit the model of this config (another backbone, class list or "
            f"embedding?): {error}"
        ) from error
