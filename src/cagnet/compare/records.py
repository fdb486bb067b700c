"""What a comparison records: one RunRecord per variant x seed, the Comparison of them all, and
the flat metrics both hold. ``run`` writes them, ``report`` and ``post`` read them."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunRecord:
    """The outcome of one variant x seed.

    Attributes:
        metrics: the variant's final numbers, flat (``hiou``, ``seen_miou``, ...): calibrated
            for "-c" variants, self-trained for "+ST" ones.
        before_post: the trained model's numbers before post-processing (None without it).
        details: what post-processing reports besides numbers (e.g. the chosen gamma).
        wall_s: seconds spent on this run in the invocation that finished it.
        skipped: finished by an earlier invocation and only read now.
    """

    variant: str
    seed: int
    post: str
    run_dir: Path
    metrics: dict[str, float]
    before_post: dict[str, float] | None
    details: dict
    wall_s: float
    skipped: bool = False


@dataclass(frozen=True)
class Comparison:
    """Every run of one ``compare`` call and where the reports are."""

    records: tuple[RunRecord, ...]
    output_dir: Path
    wall_s: float


def flat_metrics(metrics: dict) -> dict[str, float]:
    """metrics.json's nested Table 1 numbers as {'hiou': .., 'seen_miou': .., ...}."""
    flat = {"hiou": float(metrics["hiou"])}
    for group in ("overall", "seen", "unseen"):
        for key in ("miou", "pixel_accuracy", "mean_accuracy"):
            flat[f"{group}_{key}"] = float(metrics[group][key])
    return flat
