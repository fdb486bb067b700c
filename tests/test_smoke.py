"""Train a few iterations on the embedded benchmark, evaluate, save, resume."""

import csv
import json

import pytest
from helpers import small_overrides

from cagnet.config import load_config
from cagnet.errors import RunFolderError
from cagnet.training.loop import train


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
    assert (straight.run_dir / "losses.png").stat().st_size > 1000

    interrupted = train(config, run_dir=tmp_path / "resumed", progress=False, stop_after=3)
    assert interrupted.metrics is None
    resumed = train(config, resume=interrupted.run_dir, progress=False)
    first, second = _losses(straight.run_dir), _losses(resumed.run_dir)
    assert [r["iteration"] for r in first] == [r["iteration"] for r in second]
    for a, b in zip(first, second, strict=True):
        for key in ("loss_cls", "loss_rec", "loss_kl", "ft_loss_cls"):
            if a.get(key):
                assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-5), (key, a, b)
    assert resumed.metrics["hiou"] == pytest.approx(straight.metrics["hiou"], abs=1e-9)


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
