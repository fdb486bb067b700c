"""Train a few iterations on the embedded benchmark, evaluate, save, resume."""

import csv
import json
import math
import os
import signal
import subprocess
import sys

import pytest
import torch
import yaml
from helpers import assert_scores_follow_from_class_iou, small_overrides

from cagnet.config import load_config
from cagnet.config_io import parse_overrides
from cagnet.errors import RunFolderError
from cagnet.training.checkpoint import load_checkpoint
from cagnet.training.loop import train


def _losses(run_dir):
    with (run_dir / "losses.csv").open() as stream:
        return list(csv.DictReader(stream))


KILL_AT = """
import os, signal, sys
from cagnet.cli import main
from cagnet.training import loop

guarded_step = loop.guarded_step


def step_or_die(method, phase, inputs, folder):
    if inputs.iteration == int(os.environ["KILL_AT_ITERATION"]):
        os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind, as a crash or OOM kill
    return guarded_step(method, phase, inputs, folder)


loop.guarded_step = step_or_die
sys.exit(main(sys.argv[1:]))
"""


def test_train_evaluate_save_then_sigkill_and_resume_give_the_same_run(tmp_path):
    overrides = small_overrides(tmp_path, iterations=6) + ["train.checkpoint_every=2"]
    config = load_config(None, overrides)
    straight = train(config, run_dir=tmp_path / "straight", progress=False)
    assert (straight.run_dir / "checkpoint.pt").is_file()
    assert (straight.run_dir / "config.yaml").is_file()
    metrics = json.loads((straight.run_dir / "metrics.json").read_text())
    assert metrics["images_evaluated"] == metrics["images_in_split"] == 4
    assert_scores_follow_from_class_iou(metrics)
    assert list((straight.run_dir / "overlays").glob("*.png"))
    assert (straight.run_dir / "losses.png").stat().st_size > 1000

    # Killed in iteration 5, after the periodic checkpoint of iteration 4 and one more logged
    # iteration; the same thread count as here, so that the arithmetic is the same.
    config_path = tmp_path / "run.yaml"
    config_path.write_text(yaml.safe_dump(parse_overrides(overrides)))
    killed = tmp_path / "killed"
    env = {
        **os.environ,
        "KILL_AT_ITERATION": "5",
        "OMP_NUM_THREADS": str(torch.get_num_threads()),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    command = [sys.executable, "-c", KILL_AT, "train", str(config_path), "--run-dir", str(killed)]
    result = subprocess.run(command + ["--quiet"], env=env, capture_output=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]
    assert load_checkpoint(killed / "checkpoint.pt")["iteration"] == 4
    assert int(float(_losses(killed)[-1]["iteration"])) == 4  # a row past the checkpoint

    resumed = train(config, resume=killed, progress=False)
    first, second = _losses(straight.run_dir), _losses(resumed.run_dir)
    assert [r["iteration"] for r in first] == [r["iteration"] for r in second]
    for a, b in zip(first, second, strict=True):
        for key in ("loss_cls", "loss_rec", "loss_kl", "ft_loss_cls"):
            if a.get(key):
                assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-5), (key, a, b)
    assert _same(resumed.metrics, straight.metrics), (resumed.metrics, straight.metrics)


def _same(a, b):
    """Nested metrics equal to 1e-9 (NaN equals NaN: classes absent from the ground truth)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9
    return a == b


def test_a_new_run_never_overwrites_a_run_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    config = load_config(None, small_overrides(tmp_path, iterations=2))
    with pytest.raises(RunFolderError, match="already exists"):
        train(config, run_dir=tmp_path / "taken", progress=False)


def test_bf16_autocast_trains_on_the_cpu_and_fp16_asks_for_a_gpu(tmp_path):
    from cagnet.errors import ConfigError

    config = load_config(None, small_overrides(tmp_path, iterations=2) + ["train.amp=bf16"])
    result = train(config, run_dir=tmp_path / "bf16", progress=False, evaluate_at_end=False)
    rows = _losses(result.run_dir)
    assert all(float(r["loss_cls"]) > 0 for r in rows if r.get("loss_cls"))
    fp16 = load_config(None, small_overrides(tmp_path, iterations=2) + ["train.amp=fp16"])
    with pytest.raises(ConfigError, match="fp16"):
        train(fp16, run_dir=tmp_path / "fp16", progress=False)
    assert not (tmp_path / "fp16").exists()


def test_metrics_file_names_the_unseen_classes_and_holds_their_scores(tmp_path):
    config = load_config(None, small_overrides(tmp_path, iterations=2))
    result = train(config, run_dir=tmp_path / "run", progress=False)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["unseen_classes"] == ["green square", "blue triangle", "yellow circle"]
    assert set(metrics["unseen"]) == {"pixel_accuracy", "mean_accuracy", "miou"}
