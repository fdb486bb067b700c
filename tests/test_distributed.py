"""Two CPU processes with gloo under torchrun train a few iterations together."""

import json
import os
import socket
import subprocess
import sys

import yaml
from helpers import small_overrides

from cagnet.config_io import parse_overrides


def _free_port() -> int:
    """A port nothing listens on now: a fixed one may be held by another process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_gloo_processes_train_and_only_rank0_writes(tmp_path):
    config_path = tmp_path / "ddp.yaml"
    overrides = small_overrides(tmp_path, iterations=4) + ["device=cpu"]
    config_path.write_text(yaml.safe_dump(parse_overrides(overrides)))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        "-m",
        "cagnet.cli",
        "train",
        str(config_path),
        "--run-dir",
        str(tmp_path / "run"),
        "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = list((tmp_path / "runs").glob("*")) if (tmp_path / "runs").exists() else []
    assert runs == []  # the explicit --run-dir is the only folder written
    run = tmp_path / "run"
    assert (run / "checkpoint.pt").is_file() and (run / "losses.csv").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["images_evaluated"] == 4
    assert result.stdout.count("run folder:") == 2  # both ranks finished the same run
