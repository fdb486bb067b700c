"""Loss logs: a CSV file in the run folder, and TensorBoard when it is installed."""

import csv
import io
from pathlib import Path

from cagnet.atomic import atomic_write_text


class MetricLogger:
    """Appends rows of named scalars to ``losses.csv``; new names extend the header."""

    def __init__(self, folder: Path, enabled: bool = True, tensorboard: bool = True):
        self.path = Path(folder) / "losses.csv"
        self.enabled = enabled
        self.fields: list[str] = []
        self.rows: list[dict[str, float]] = []
        if self.path.exists():
            with self.path.open() as stream:
                self.rows = [dict(r) for r in csv.DictReader(stream)]
                self.fields = list(self.rows[0].keys()) if self.rows else []
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(Path(folder) / "tensorboard"))
            except ImportError:
                self.writer = None

    def log(self, iteration: int, values: dict[str, float | str]) -> None:
        if not self.enabled:
            return
        row = {"iteration": iteration, **values}
        self.rows.append(row)
        new_fields = [k for k in row if k not in self.fields]
        self.fields += new_fields
        if new_fields or not self.path.exists():
            self._rewrite()
        else:
            with self.path.open("a", newline="") as stream:
                csv.DictWriter(stream, fieldnames=self.fields).writerow(row)
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, int | float):
                    self.writer.add_scalar(key, value, iteration)

    def truncate(self, iteration: int) -> None:
        """Drop rows logged at or after ``iteration`` (a resumed run logs them again)."""
        self.rows = [r for r in self.rows if int(float(r["iteration"])) < iteration]
        if self.enabled and self.path.exists():
            self._rewrite()

    def _rewrite(self) -> None:
        stream = io.StringIO(newline="")
        writer = csv.DictWriter(stream, fieldnames=self.fields)
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, stream.getvalue())

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
