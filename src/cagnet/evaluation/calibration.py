"""Calibrated stacking (Chao et al., ECCV 2016; SPNet-c): subtract gamma from the seen-class
scores at test time, for any method, and choose gamma on labelled pixels.

Choosing gamma is one pass of the network: for every pixel only the best seen class, the best
unseen class and the margin m = best seen score - best unseen score matter, since the
calibrated prediction is the unseen one exactly when gamma > m. ``GammaSweep`` turns these
into the exact confusion matrix of every gamma of a grid at once (a cumulative sum over the
grid), so the sweep costs O(pixels + grid x K^2), whatever the grid.

Honesty: gamma must not be chosen on the labels that are then reported. ``choose_gamma``
works on any labelled pixels; which ones (``calibration.labels``) is the caller's choice and is
written beside gamma into every report (see ``cagnet calibrate``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from tqdm import tqdm

from cagnet.config import CalibrationConfig, Config
from cagnet.data.feature_cache import CachedReader
from cagnet.data.loader import evaluation_loader
from cagnet.data.sample import IGNORE_INDEX
from cagnet.data.split import ZeroShotSplit
from cagnet.data.transforms import downsample_labels
from cagnet.errors import ConfigError
from cagnet.evaluation.evaluator import evaluate
from cagnet.evaluation.metrics import Report, report
from cagnet.guards import require_finite_scores

Segment = Callable[[torch.Tensor], torch.Tensor]
LABEL_SOURCES = {
    "pseudo_unseen": "held-out training images, seen classes hidden as pseudo-unseen (honest)",
    "split": "a labelled split other than the reported one (honest when disjoint)",
    "val": "the reported split itself: tuned on the test labels (optimistic)",
    "manual": "set by hand",
}
AUTO_QUANTILE = 0.99  # the automatic search range ends at this quantile of positive margins
BUFFER_PIXELS = 1 << 22  # pixels buffered to set the automatic range before streaming


def calibrated(segment: Segment, seen_mask: torch.Tensor, gamma: float) -> Segment:
    """``segment`` with ``gamma`` subtracted from every seen-class score.

    Args:
        segment: images (B, 3, H, W) -> scores (B, K, h, w).
        seen_mask: (K,) bool, True for seen classes.
        gamma: the calibration factor; 0 returns ``segment`` itself.
    """
    if gamma == 0.0:
        return segment

    def calibrated_segment(images: torch.Tensor) -> torch.Tensor:
        scores = segment(images)
        shift = gamma * seen_mask.to(device=scores.device, dtype=scores.dtype)
        return scores - shift[None, :, None, None]

    return calibrated_segment


def label_source(labels: str) -> tuple[str, str]:
    """Parse ``calibration.labels``: (kind, split name); the name is "" except for split:NAME."""
    if labels.startswith("split:") and labels[len("split:") :]:
        return "split", labels[len("split:") :]
    if labels in LABEL_SOURCES and labels != "split":
        return labels, ""
    raise ConfigError(
        f"calibration.labels={labels!r}; choose pseudo_unseen (honest, default), "
        "split:NAME (another labelled split), val (the reported split: tuning on test "
        "labels) or manual"
    )


def check_calibration(config: CalibrationConfig) -> None:
    """ConfigError for values the search cannot use."""
    label_source(config.labels)
    if not 0.0 <= config.max_seen_drop <= 1.0:
        raise ConfigError(f"calibration.max_seen_drop={config.max_seen_drop}; use 0..1, e.g. 0.1")
    if config.search_steps < 2:
        raise ConfigError(f"calibration.search_steps={config.search_steps}; use at least 2")
    if config.search_max != 0.0 and config.search_max <= config.search_min:
        raise ConfigError(
            f"calibration.search_max={config.search_max} must exceed search_min="
            f"{config.search_min} (or be 0 for the automatic range)"
        )
    if not 0.0 < config.holdout_fraction < 1.0:
        raise ConfigError(
            f"calibration.holdout_fraction={config.holdout_fraction}; use a fraction in (0, 1)"
        )


class TopScores(NamedTuple):
    """Per pixel: best seen class, best unseen class and margin = their score difference.

    Attributes:
        seen_class: (N,) int64.
        unseen_class: (N,) int64.
        margin: (N,) float32, best seen score - best unseen score.
    """

    seen_class: torch.Tensor
    unseen_class: torch.Tensor
    margin: torch.Tensor


def top_scores(scores: torch.Tensor, seen_mask: torch.Tensor) -> TopScores:
    """(N, K) scores and (K,) seen mask -> ``TopScores`` of the N pixels."""
    seen_mask = seen_mask.to(scores.device)
    if bool(seen_mask.all()) or not bool(seen_mask.any()):
        raise ValueError("calibration needs both seen and unseen classes")
    low = torch.finfo(scores.dtype).min
    seen_score, seen_class = scores.masked_fill(~seen_mask, low).max(dim=1)
    unseen_score, unseen_class = scores.masked_fill(seen_mask, low).max(dim=1)
    return TopScores(seen_class, unseen_class, (seen_score - unseen_score).float())


class GammaSweep:
    """Confusion matrices of every gamma of a grid, accumulated in one pass.

    A pixel is predicted as its best unseen class for the gammas above its margin and as its
    best seen class otherwise (ties count as seen). ``add`` files each pixel under the first
    grid gamma that flips it; the cumulative sum over the grid then gives every matrix.

    Args:
        gammas: (G,) ascending.
        num_classes: K.
    """

    def __init__(self, gammas: torch.Tensor, num_classes: int):
        self.gammas = gammas.float()
        self.num_classes = num_classes
        grid = gammas.numel()
        self.base = torch.zeros(num_classes * num_classes, dtype=torch.long, device=gammas.device)
        self.delta = torch.zeros(
            (grid + 1) * num_classes * num_classes, dtype=torch.long, device=gammas.device
        )

    def add(self, labels: torch.Tensor, top: TopScores) -> None:
        """Add N labelled pixels: (N,) ground truth (no IGNORE_INDEX) and their top scores."""
        k = self.num_classes
        device = self.base.device
        labels = labels.to(device)
        seen_index = labels * k + top.seen_class.to(device)
        unseen_index = labels * k + top.unseen_class.to(device)
        bucket = torch.searchsorted(self.gammas, top.margin.to(device).contiguous(), right=True)
        ones = torch.ones_like(labels)
        self.base.index_add_(0, seen_index, ones)
        offset = bucket * k * k
        self.delta.index_add_(0, offset + unseen_index, ones)
        self.delta.index_add_(0, offset + seen_index, -ones)

    def confusions(self) -> torch.Tensor:
        """(G, K, K) confusion matrices, rows ground truth, columns predictions (on the CPU)."""
        k, grid = self.num_classes, self.gammas.numel()
        steps = self.delta.view(grid + 1, k * k)[:grid].cumsum(dim=0)
        return (self.base[None] + steps).view(grid, k, k).cpu()


def gamma_grid(config: CalibrationConfig, margins: torch.Tensor | None = None) -> torch.Tensor:
    """The gammas searched: ``search_steps`` values from search_min to search_max, plus 0.

    With ``search_max`` = 0 the range ends at the 99th percentile of the positive ``margins``
    (gammas beyond flip nearly every pixel to unseen), or at 1 when none is positive.
    """
    top = config.search_max
    if top == 0.0:
        positive = margins[margins > 0] if margins is not None else torch.empty(0)
        top = (
            float(torch.quantile(positive.float().cpu(), AUTO_QUANTILE))
            if positive.numel()
            else 1.0
        )
        top = max(top, config.search_min + 1e-6)
    grid = torch.linspace(config.search_min, top, config.search_steps)
    return torch.unique(torch.cat([grid, torch.zeros(1)]))  # sorted; 0 = raw scores


def pixel_scores(
    logits: torch.Tensor, labels: torch.Tensor, resolution: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K) scores and (N,) labels of the labelled pixels, at the evaluator's resolution."""
    if resolution == "label":
        logits = F.interpolate(logits, size=labels.shape[-2:], mode="bilinear", align_corners=False)
    elif resolution == "feature":
        labels = downsample_labels(labels, tuple(logits.shape[-2:]))
    else:
        raise ConfigError(f"eval.resolution={resolution!r}; choose 'label' or 'feature'")
    scores = logits.permute(0, 2, 3, 1).reshape(-1, logits.shape[1])
    labels = labels.reshape(-1)
    keep = labels != IGNORE_INDEX
    return scores[keep], labels[keep]


@torch.no_grad()
def sweep(
    segment: Segment,
    reader: Sequence,
    split: ZeroShotSplit,
    device: torch.device,
    config: Config,
    indices: Sequence[int] | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``segment`` once over ``reader`` and score every gamma of the search grid.

    The first pixels (up to ``BUFFER_PIXELS``) are buffered to set an automatic range; then
    everything streams into a ``GammaSweep``.

    Returns:
        (G,) gammas (ascending, 0 included) and their (G, K, K) confusion matrices.
    """
    indices = list(range(len(reader))) if indices is None else list(indices)
    seen_mask = ~split.unseen_mask(device)
    valid = getattr(reader, "valid_classes", None)
    invalid = None if valid is None else ~torch.as_tensor(list(valid), device=device)
    accumulator, buffered = None, []
    if isinstance(reader, CachedReader):  # frozen-backbone mode: cached features, not images
        loader = reader.evaluation_loader(indices, config.eval.batch_size)
    else:
        loader = evaluation_loader(reader, indices, config.eval.batch_size)
    for images, labels, batch in tqdm(loader, desc="calibrate", disable=not progress, leave=False):
        logits = segment(images.to(device)).float()
        require_finite_scores(logits, batch)
        if invalid is not None and bool(invalid.any()):
            logits = logits.masked_fill(invalid[None, :, None, None], -1e9)
        scores, targets = pixel_scores(logits, labels.to(device), config.eval.resolution)
        record = (targets, top_scores(scores, seen_mask))
        if accumulator is not None:
            accumulator.add(*record)
            continue
        buffered.append(record)
        if sum(r[0].numel() for r in buffered) >= BUFFER_PIXELS:
            accumulator = _flush(buffered, config.calibration, split.num_classes, device)
    if accumulator is None:
        accumulator = _flush(buffered, config.calibration, split.num_classes, device)
    return accumulator.gammas.cpu(), accumulator.confusions()


def _flush(buffered, config: CalibrationConfig, num_classes: int, device) -> GammaSweep:
    margins = torch.cat([top.margin for _, top in buffered]) if buffered else None
    accumulator = GammaSweep(gamma_grid(config, margins).to(device), num_classes)
    for labels, top in buffered:
        accumulator.add(labels, top)
    buffered.clear()
    return accumulator


@dataclass(frozen=True)
class GammaChoice:
    """The chosen gamma and the evidence for it.

    Attributes:
        gamma: the chosen value (0 when no gamma beats the raw scores within the bound).
        raw: the report at gamma = 0; calibrated: the report at ``gamma``.
        seen_floor: the lowest seen mIoU allowed, (1 - max_seen_drop) x raw seen mIoU.
        unbounded_gamma: the best gamma without the bound, for comparison.
        reports: one report per searched gamma, in grid order.
    """

    gamma: float
    raw: Report
    calibrated: Report
    seen_floor: float
    unbounded_gamma: float
    reports: tuple[Report, ...]


def choose_gamma(
    gammas: torch.Tensor,
    confusions: torch.Tensor,
    seen: Sequence[int],
    unseen: Sequence[int],
    max_seen_drop: float,
) -> GammaChoice:
    """Maximise hIoU subject to seen mIoU >= (1 - max_seen_drop) x the raw seen mIoU.

    Args:
        gammas: (G,) searched values; 0 (the raw scores) must be one of them.
        confusions: (G, K, K) confusion matrix of each gamma.
        seen, unseen: the class indices of the two groups.
        max_seen_drop: the relative seen-mIoU loss allowed (the unbounded search can halve
            the seen mIoU to win a little hIoU on a small set).

    Ties in hIoU go to the gamma closest to 0.
    """
    values = [float(g) for g in gammas]
    if 0.0 not in values:
        raise ValueError("the searched gammas must include 0 (the raw scores)")
    reports = tuple(report(c, seen, unseen) for c in confusions)
    raw = reports[values.index(0.0)]
    floor = (1.0 - max_seen_drop) * raw.seen.miou

    def best(candidates: list[int]) -> int:
        return max(candidates, key=lambda i: (reports[i].hiou, -abs(values[i])))

    everything = list(range(len(values)))
    chosen = best([i for i in everything if reports[i].seen.miou >= floor - 1e-12])
    return GammaChoice(
        gamma=values[chosen],
        raw=raw,
        calibrated=reports[chosen],
        seen_floor=floor,
        unbounded_gamma=values[best(everything)],
        reports=reports,
    )


def largest_safe_gamma(
    gammas: torch.Tensor, seen_mious: Sequence[float], max_seen_drop: float
) -> float:
    """The largest gamma before the first one that costs more than ``max_seen_drop`` of seen mIoU.

    Args:
        gammas: (G,) ascending searched values, starting at 0 (the raw scores).
        seen_mious: the model's seen mIoU at each gamma.
        max_seen_drop: the relative seen-mIoU loss allowed.

    Returns:
        A searched gamma; 0 when the first step above 0 already breaks the bound.
    """
    values = [float(g) for g in gammas]
    if not values or values[0] != 0.0:
        raise ValueError("the searched gammas must start at 0 (the raw scores)")
    floor = (1.0 - max_seen_drop) * seen_mious[0]
    safe = 0.0
    for gamma, seen_miou in zip(values, seen_mious, strict=True):
        if seen_miou < floor - 1e-12:
            break
        safe = gamma
    return safe


def evaluate_calibrated(
    segment: Segment,
    reader: Sequence,
    split: ZeroShotSplit,
    device: torch.device,
    config: Config,
    indices: Sequence[int],
    progress: bool = True,
) -> tuple[Report, dict]:
    """Evaluate with ``config.calibration.gamma``; return the report and its metrics block.

    The block holds gamma, the labels that chose it and whether those are honest, beside the
    scores, so that a calibrated number is never shown without its provenance.
    """
    calibration = config.calibration
    kind, _ = label_source(calibration.labels)
    result, confusion = evaluate(
        calibrated(segment, ~split.unseen_mask(device), calibration.gamma),
        reader,
        split,
        device,
        resolution=config.eval.resolution,
        batch_size=config.eval.batch_size,
        indices=indices,
        progress=progress,
        valid_classes=getattr(reader, "valid_classes", None),
    )
    block = {
        "gamma": calibration.gamma,
        "labels": calibration.labels,
        "chosen_on": LABEL_SOURCES[kind],
        "tuned_on_test_labels": kind == "val",
        **result.as_dict(),
        "confusion": confusion.tolist(),
    }
    return result, block


def calibration_title(config: Config) -> str:
    """A heading that states gamma and where it came from."""
    calibration = config.calibration
    kind, _ = label_source(calibration.labels)
    return (
        f"Calibrated: gamma = {calibration.gamma:g} subtracted from seen scores, chosen on "
        f"{calibration.labels} ({LABEL_SOURCES[kind]})"
    )
