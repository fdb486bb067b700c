"""Write one section of benchmarks/RESULTS.md, leaving the other sections as they are."""

import os
import platform
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    """A one-line description of this machine: CPU model, cores, torch and threads."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, Python {platform.python_version()}"
    )


def commit() -> str:
    """The git commit of the code measured (with '+dirty' when it has uncommitted changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def update_section(heading: str, body: str, path: Path = RESULTS) -> None:
    """Replace the body of ``## heading`` (or add the section at the end), atomically."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    marker = f"## {heading}\n"
    if marker in text:
        start = text.index(marker)
        following = text.find("\n## ", start + len(marker))
        end = len(text) if following < 0 else following + 1
        text = text[:start] + marker + "\n" + body.strip() + "\n\n" + text[end:]
    else:
        text = text.rstrip() + "\n\n" + marker + "\n" + body.strip() + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".RESULTS.", suffix=".tmp")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)


def today() -> str:
    return date.today().isoformat()
