"""Ctrl-C / SIGTERM: a checkpoint, one line, exit 130; resuming, also without a checkpoint."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml
from helpers import small_overrides

from cagnet.cli import main
from cagnet.config import Config, load_config
from cagnet.config_io import parse_overrides, to_dict
from cagnet.training import loop
from cagnet.training.checkpoint import CHECKPOINT_NAME
from cagnet.training.loop import CONFIG_NAME, train
from cagnet.training.run_folder import write_yaml

SOURCES = Path(__file__).resolve().parents[1] / "src"


def _iterations(folder: Path) -> list[int]:
    with (folder / "losses.csv").open() as stream:
        return [int(row["iteration"]) for row in csv.DictReader(stream)]


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    signal_number = signal.SIGINT  # a real process: no traceback at all on stderr
    config = tmp_path / "long.yaml"  # far more iterations than the test waits for
    config.write_text(yaml.safe_dump(parse_overrides(small_overrides(tmp_path, 100000))))
    run = tmp_path / "run"
    environment = {**os.environ, "PYTHONPATH": str(SOURCES), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "cagnet.cli", "train", str(config), "--run-dir", str(run)]
    process = subprocess.Popen(
        command + ["--quiet"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not (run / "losses.csv").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)  # the loop has begun once it logs
    process.send_signal(signal_number)
    out, err = (stream.decode() for stream in process.communicate(timeout=60))
    assert process.returncode == 130, err
    assert "Traceback" not in err + out
    saved = torch.load(run / CHECKPOINT_NAME, weights_only=False)["iteration"]
    assert saved >= 1
    assert f"interrupted at iteration {saved}; resume with: cagnet train --resume {run}" in err
    train(Config(), resume=run, progress=False, stop_after=1)
    assert torch.load(run / CHECKPOINT_NAME, weights_only=False)["iteration"] == saved + 1


def test_a_run_folder_without_a_checkpoint_resumes_from_the_start(tmp_path):
    config = load_config(None, small_overrides(tmp_path, 4))
    fresh = train(config, run_dir=tmp_path / "fresh", progress=False, stop_after=2).run_dir
    stopped = tmp_path / "stopped"  # as a run stopped before its first checkpoint leaves it
    stopped.mkdir()
    write_yaml(stopped / CONFIG_NAME, to_dict(config))
    train(Config(), resume=stopped, progress=False, stop_after=2)
    assert _iterations(stopped) == _iterations(fresh) == [0, 1]
    with (fresh / "losses.csv").open() as a, (stopped / "losses.csv").open() as b:
        assert a.read() == b.read()  # the same start: same seed, same numbers


def test_sigterm_stops_the_same_way(tmp_path, monkeypatch, capsys):
    shown = loop.bar_fields

    def signal_during_the_third_iteration(phase, log):
        if signal_during_the_third_iteration.calls == 2:
            signal.raise_signal(signal.SIGTERM)
        signal_during_the_third_iteration.calls += 1
        return shown(phase, log)

    signal_during_the_third_iteration.calls = 0
    monkeypatch.setattr(loop, "bar_fields", signal_during_the_third_iteration)
    config = tmp_path / "long.yaml"
    config.write_text(yaml.safe_dump(parse_overrides(small_overrides(tmp_path, 50))))
    run = tmp_path / "run"
    before = signal.getsignal(signal.SIGTERM)
    assert main(["train", str(config), "--run-dir", str(run), "--quiet"]) == 130
    assert f"interrupted at iteration 3; resume with: cagnet train --resume {run}" in (
        capsys.readouterr().err
    )
    assert torch.load(run / CHECKPOINT_NAME, weights_only=False)["iteration"] == 3
    assert signal.getsignal(signal.SIGTERM) == before  # the handlers are put back
