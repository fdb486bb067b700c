"""The phase and the learning rates as pure functions of the iteration (section 3.4)."""

from cagnet.config import TrainConfig

TRAINING = "training"
FINETUNING = "finetuning"


def alternating(iteration: int, config: TrainConfig, has_generator: bool = True) -> bool:
    """Whether iteration ``iteration`` (0-based) lies past the pure training, where training and
    finetuning alternate; never for models without a generator."""
    return has_generator and iteration >= config.pretrain_iterations


def phase(iteration: int, config: TrainConfig, has_generator: bool = True) -> str:
    """Which step iteration ``iteration`` (0-based) runs.

    Pure training for ``pretrain_iterations``, then finetuning and training alternate in blocks of
    ``alternate_every`` iterations. Blocks are counted back from the last iteration so that the
    run always ends with a finetuning block: a classifier last updated on real seen features
    alone forgets the unseen classes (``end_with_finetuning=false``: blocks counted from the
    end of the pure training, finetuning first). Models without a generator only ever train.
    """
    if not alternating(iteration, config, has_generator):
        return TRAINING
    if not config.end_with_finetuning:
        block = (iteration - config.pretrain_iterations) // max(1, config.alternate_every)
        return FINETUNING if block % 2 == 0 else TRAINING
    block_from_end = (config.iterations - 1 - iteration) // max(1, config.alternate_every)
    return FINETUNING if block_from_end % 2 == 0 else TRAINING


def poly_factor(iteration: int, total: int, power: float) -> float:
    """(1 - iteration / total) ** power, the DeepLab 'poly' decay, clamped at 0."""
    return max(0.0, 1.0 - iteration / max(1, total)) ** power


def parse_ratio(text: str, num_seen: int, num_unseen: int) -> tuple[float, float]:
    """'1:1' -> (1, 1); 'classes' -> (|Cs|, |Cu|), the unconstrained ratio of Table 5's first row.

    Raises:
        ValueError: for text that is neither, naming it.
    """
    if text == "classes":
        return float(num_seen), float(num_unseen)
    parts = text.split(":")
    try:
        seen, unseen = (float(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"train.unseen_ratio={text!r}: write 'seen:unseen' such as '1:1' or '0:1', or 'classes'"
        ) from None
    if seen < 0 or unseen < 0 or seen + unseen == 0:
        raise ValueError(f"train.unseen_ratio={text!r}: both parts >= 0 and not both 0")
    return seen, unseen
