"""Train a few iterations on the embedded benchmark, evaluate, save, resume."""

import csv
import json

import pytest

from cagnet.config import load_config
from cagnet.errors import RunFolderError
from cagnet.training.loop import train

from helpers import small_overrides


def _losses(run_dir):
    with (run_dir / "losses.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_train_evaluate_save_and_resume_gives_the_same_losses(tmp_path):
    config = load_config(None, small_overrides(tmp_path, iterations=6))
    straight = train(config, run_dir=tmp_path / "straight", progress=False)
    assert (straight.run_dir / "checkpoint.pt").is_file()
    assert (straight.run_dir / "config.yaml").is_file()
    metrics = json.loads((straight.run_dir / "metrics.json").read_text())
    assert metrics["images_evaluated"] == metrics["images_in_split"] == 4
    assert 0.0 <= metrics["hiou"] <= 1.0
    assert list((straight.run_dir / "overlays").glob("*.png"))

    interrupted = train(config, run_dir=tmp_path / "resumed", progress=False, stop_after=3)
    assert interrupted.metrics is None
    resumed = train(config, resume=interrupted.run_dir, progress=False)
    first, second = _losses(straight.run_dir), _losses(resumed.run_dir)
    assert [r["iteration"] for r in first] == [r["iteration"] for r in second]
    for a, b in zip(first, second):
        for key in ("loss_cls", "loss_rec", "loss_kl", "ft_loss_cls"):
            if a.get(key):
                assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-5), (key, a, b)
    assert resumed.metrics["hiou"] == pytest.approx(straight.metrics["hiou"], abs=1e-9)


def test_a_new_run_never_overwrites_a_run_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    config = load_config(None, small_overrides(tmp_path, iterations=2))
    with pytest.raises(RunFolderError, match="already exists"):
        train(config, run_dir=tmp_path / "taken", progress=False)
