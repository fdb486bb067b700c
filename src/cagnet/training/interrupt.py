"""Stopping a training run cleanly on Ctrl-C (SIGINT) or SIGTERM.

Inside ``StopRequests`` the first signal only sets a flag: the loop finishes the iteration in
progress, saves a checkpoint and raises ``TrainingInterrupted``, which the CLI turns into one
line and exit status 130. A second signal stops at once (``KeyboardInterrupt``).
"""

import signal
import threading
from pathlib import Path
from types import FrameType

EXIT_STATUS = 130  # 128 + SIGINT, the shell's convention for a run stopped by Ctrl-C
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """A run stopped by a signal after saving a checkpoint at ``iteration``."""

    def __init__(self, iteration: int, run_dir: Path, signal_name: str):
        self.iteration, self.run_dir, self.signal_name = iteration, Path(run_dir), signal_name
        super().__init__(
            f"interrupted at iteration {iteration}; resume with: cagnet train --resume {run_dir}"
        )


class StopRequests:
    """Context manager that turns SIGINT/SIGTERM into a flag checked between iterations.

    Outside the main thread (where Python cannot install handlers) it does nothing.
    """

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.requested:  # asked twice: stop now, without a checkpoint
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(number).name
        print(
            f"\n{self.signal_name}: stopping after this iteration (send it again to stop now)",
            flush=True,
        )

    def __enter__(self) -> "StopRequests":
        if threading.current_thread() is threading.main_thread():
            for number in _SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def release(self) -> None:
        """Put back the handlers that were there before (also done on leaving the block)."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def terminate_as_interrupt(number: int, frame: FrameType | None) -> None:
    """A SIGTERM handler that behaves like Ctrl-C outside the training loop."""
    raise KeyboardInterrupt
