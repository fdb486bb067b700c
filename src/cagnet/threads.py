"""How many CPU threads torch uses: ``--threads N``, else a default that leaves busy cores alone.

On a shared machine torch's default (one thread per core) makes every thread wait for the
slowest core: with one of two cores taken by another job, an iteration of the demo took ~2 s
instead of ~0.24 s. The default here counts the cores this process may run on and subtracts
the cores that other processes keep busy.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from cagnet.errors import ConfigError


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count chosen and why (printed at the start of a command)."""

    threads: int
    reason: str


def usable_cpus() -> int:
    """Cores this process may run on (its CPU affinity; ``os.cpu_count()`` where unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def busy_cores() -> float:
    """Cores kept busy by other processes: the larger of the 1-minute load average and the
    processes runnable right now (``/proc/loadavg``, minus this one); 0 where unknown.

    The load average lags a job that has just started by about a minute; the runnable count
    sees it at once but is noisy, hence the larger of the two.
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    try:
        running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1
    except (OSError, IndexError, ValueError):
        running = 0
    return max(load, float(running))


def default_threads(cpus: int | None = None, busy: float | None = None) -> int:
    """``min(cpus, max(1, cpus - round(busy)))``: one thread per core that is free now."""
    cpus = usable_cpus() if cpus is None else cpus
    busy = busy_cores() if busy is None else busy
    return min(cpus, max(1, cpus - round(busy)))


def choose_threads(requested: int | None) -> ThreadChoice:
    """``--threads`` when given, else ``OMP_NUM_THREADS`` when set, else ``default_threads``.

    Raises:
        ConfigError: when ``requested`` or ``OMP_NUM_THREADS`` is not a positive integer.
    """
    if requested is not None:
        if requested < 1:
            raise ConfigError(f"--threads {requested}: give a positive number of threads")
        return ThreadChoice(requested, "--threads")
    environment = os.environ.get("OMP_NUM_THREADS", "").strip()
    if environment:
        if not environment.isdigit() or int(environment) < 1:
            raise ConfigError(
                f"OMP_NUM_THREADS={environment!r} is not a positive integer; unset it or use "
                "--threads N"
            )
        return ThreadChoice(int(environment), "OMP_NUM_THREADS")
    cpus, busy = usable_cpus(), busy_cores()
    threads = default_threads(cpus, busy)
    return ThreadChoice(threads, f"{cpus} usable cores, ~{busy:.1f} busy with other jobs")


def apply_threads(choice: ThreadChoice) -> None:
    """Set torch's intra-op thread count (inter-op threads are left to torch)."""
    torch.set_num_threads(choice.threads)
