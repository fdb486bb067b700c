"""The paper's learning-rate schedule: "divided by 10 when the loss stops decreasing" (sec. 4.2).

``train.lr_schedule=plateau`` replaces the poly decay of E and CM with a factor that starts at
1 and is multiplied by ``plateau_factor`` (0.1) whenever the mean of the logged training loss
``plateau_metric`` over a window of ``plateau_window`` training iterations has not fallen
below ``(1 - plateau_threshold)`` times the best window mean for ``plateau_patience`` windows.
Unlike poly, the rate then depends on the losses seen so far, so the tracker's state is saved
in the checkpoint and a resumed run continues exactly.
"""

import math
from dataclasses import asdict, dataclass

import torch

from cagnet.config import TrainConfig
from cagnet.errors import ConfigError

LR_SCHEDULES = ("poly", "plateau")


@dataclass
class Plateau:
    """Tracks the training loss and divides the learning rate when it stops decreasing."""

    metric: str
    window: int
    patience: int
    factor: float
    threshold: float
    scale: float = 1.0  # what the base rates are multiplied by now
    best: float = math.inf  # the lowest window mean so far
    stale: int = 0  # windows since the last improvement
    total: float = 0.0  # sum and count of the current window
    count: int = 0

    @classmethod
    def from_config(cls, config: TrainConfig) -> "Plateau | None":
        """The tracker of ``config``, or None for the poly schedule."""
        if config.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"train.lr_schedule={config.lr_schedule!r}; choose {LR_SCHEDULES}")
        if config.lr_schedule == "poly":
            return None
        if config.plateau_window < 1 or config.plateau_patience < 1:
            raise ConfigError("train.plateau_window and train.plateau_patience must be >= 1")
        if not 0.0 < config.plateau_factor < 1.0:
            raise ConfigError(f"train.plateau_factor={config.plateau_factor}; give 0 < f < 1")
        return cls(
            metric=config.plateau_metric,
            window=config.plateau_window,
            patience=config.plateau_patience,
            factor=config.plateau_factor,
            threshold=config.plateau_threshold,
        )

    def observe(self, log: dict[str, float]) -> None:
        """Count one iteration's log; iterations without ``metric`` (finetuning) are skipped."""
        if self.metric not in log:
            return
        self.total += float(log[self.metric])
        self.count += 1
        if self.count < self.window:
            return
        mean = self.total / self.count
        self.total, self.count = 0.0, 0
        if self.best == math.inf or mean < self.best - abs(self.best) * self.threshold:
            self.best, self.stale = mean, 0
            return
        self.stale += 1
        if self.stale >= self.patience:
            self.scale *= self.factor
            self.best, self.stale = mean, 0

    def apply(self, optimizer: torch.optim.Optimizer) -> float:
        """Multiply the rates of ``optimizer`` (E and CM) by the scale; return the first one."""
        for group in optimizer.param_groups:
            group["lr"] = group["lr"] * self.scale
        return optimizer.param_groups[0]["lr"]

    def state_dict(self) -> dict[str, float | int | str]:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key in ("scale", "best", "stale", "total", "count"):
            setattr(self, key, type(getattr(self, key))(state[key]))
