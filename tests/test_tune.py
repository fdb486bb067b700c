"""cagnet tune: the grid, the choice on pseudo-unseen classes, the tables, the final run."""

import csv
import json

import pytest
from helpers import small_overrides

from cagnet.cli import demo_config_path, main
from cagnet.errors import ConfigError, RunFolderError
from cagnet.evaluation import tune as tune_module
from cagnet.evaluation.tune import parse_grid, parse_seeds, split_values, tune


def test_grid_is_the_product_of_the_lists_and_keeps_bracketed_values_whole():
    assert split_values("[glove,minilm],glove") == ["[glove,minilm]", "glove"]
    assert parse_grid(["a=1,2", "b.c=[x,y],z"]) == [
        ("a=1", "b.c=[x,y]"),
        ("a=1", "b.c=z"),
        ("a=2", "b.c=[x,y]"),
        ("a=2", "b.c=z"),
    ]
    assert parse_grid([]) == [()]
    for wrong in (["a"], ["a="], ["a=1,,2"], ["a=1", "a=2"]):
        with pytest.raises(ConfigError):
            parse_grid(wrong)
    assert parse_seeds("0,3") == [0, 3]
    for wrong in ("0,x", "1,1"):
        with pytest.raises(ConfigError):
            parse_seeds(wrong)


def test_linked_keys_change_together_and_a_part_count_mismatch_is_refused():
    assert parse_grid(["i&p=450&226,1800&1000", "e=[a,b]"]) == [
        ("i=450", "p=226", "e=[a,b]"),
        ("i=1800", "p=1000", "e=[a,b]"),
    ]
    for wrong in (["i&p=450"], ["i&p=1&2&3"], ["i&=1&2"], ["i&p=1&"], ["i&i=1&2"]):
        with pytest.raises(ConfigError):
            parse_grid(wrong)


def test_the_best_mean_over_seeds_is_chosen_and_every_run_is_tabled(tmp_path, monkeypatch, capsys):
    # config 0 has the best single run (0.9) but config 1 the best mean: the mean decides.
    hious = {
        ("loss.kl_weight=1", 0): 0.9,
        ("loss.kl_weight=1", 1): 0.0,
        ("loss.kl_weight=2", 0): 0.5,
        ("loss.kl_weight=2", 1): 0.6,
    }
    calls = []

    def scripted(config, folder, proxy, progress, calibrate):
        calls.append((folder.name, proxy))
        key = f"loss.kl_weight={config.loss.kl_weight:g}"
        hiou = hious[key, config.seed] if proxy else 0.25
        return {"hiou": hiou, "seen_miou": 0.5, "unseen_miou": hiou, "seconds": 1.0}

    monkeypatch.setattr(tune_module, "_train", scripted)
    base = small_overrides(tmp_path)
    output = tmp_path / "tune"
    payload = tune(
        demo_config_path(), base, parse_grid(["loss.kl_weight=1,2"]), [0, 1], output, final=True
    )
    assert payload["chosen"] == 1 and payload["use"] == "--set loss.kl_weight=2"
    assert payload["tuned_on_test_labels"] is False
    # every grid run scores on the proxy's held-out images; only the final runs read val
    assert calls == [
        ("config0-seed0", True),
        ("config0-seed1", True),
        ("config1-seed0", True),
        ("config1-seed1", True),
        ("final-seed0", False),
        ("final-seed1", False),
    ]
    assert payload["configurations"][1]["mean_hiou"] == pytest.approx(0.55)
    # each seed hides its own pair, and the progress line names both
    pairs = payload["pseudo_unseen"]
    assert pairs["0"] != pairs["1"]
    hidden = f"seed 0: {', '.join(pairs['0'])}; seed 1: {', '.join(pairs['1'])}"
    printed = capsys.readouterr().out
    assert f"config 1 loss.kl_weight=2: mean hIoU 0.5500, pseudo-unseen {hidden}" in printed
    rows = list(csv.DictReader((output / "tune.csv").open()))
    assert [(r["stage"], r["config"], r["seed"]) for r in rows] == [
        ("pseudo-unseen", "0", "0"),
        ("pseudo-unseen", "0", "1"),
        ("pseudo-unseen", "1", "0"),
        ("pseudo-unseen", "1", "1"),
        ("final-val", "1", "0"),
        ("final-val", "1", "1"),
    ]
    markdown = (output / "tune.md").read_text()
    assert "| 1 | `loss.kl_weight=2` | 0.500 0.600 | 0.5500 |" in markdown
    assert json.loads((output / "tune.json").read_text())["final"]["mean_hiou"] == 0.25
    with pytest.raises(RunFolderError):  # never overwrites
        tune(demo_config_path(), base, [()], [0], output)


def test_a_wrong_key_fails_before_anything_is_trained(tmp_path, monkeypatch):
    monkeypatch.setattr(tune_module, "_train", lambda *args: pytest.fail("trained"))
    with pytest.raises(ConfigError, match="no_such_key"):
        tune(demo_config_path(), [], parse_grid(["train.no_such_key=1,2"]), [0], tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_tune_trains_on_pseudo_unseen_classes_and_scores_held_out_training_images(tmp_path):
    output = tmp_path / "tune"
    base = [*small_overrides(tmp_path, iterations=2), "eval.num_overlays=0"]
    code = main(
        [
            "tune",
            str(demo_config_path()),
            *sum((["--set", o] for o in base), []),
            "--grid",
            "train.lr=0.001",
            "--output",
            str(output),
            "--final",
            "--calibrate",
            "--quiet",
        ]
    )
    assert code == 0
    payload = json.loads((output / "tune.json").read_text())
    pseudo = payload["pseudo_unseen"]["0"]
    assert len(pseudo) == 3  # as many as the true unseen classes
    proxy = json.loads((output / "config0-seed0" / "metrics.json").read_text())
    # the score comes from held-out training images (20% of 12), with pseudo-unseen as unseen
    assert proxy["images_evaluated"] == 2
    assert set(pseudo) <= set(proxy["unseen_classes"])
    final = json.loads((output / "final-seed0" / "metrics.json").read_text())
    assert final["images_evaluated"] == 4  # val
    assert not set(pseudo) & set(final["unseen_classes"])
    assert payload["final"]["runs"][0]["hiou"] == final["hiou"]
    # --calibrate: the proxy is scored at the gamma chosen for it on those same images;
    # gamma = 0 (its raw scores, those of metrics.json) is one of the candidates
    run = payload["configurations"][0]["runs"][0]
    assert run["raw_hiou"] == pytest.approx(proxy["hiou"])
    assert run["gamma"] >= 0.0 and run["hiou"] >= run["raw_hiou"]
    assert payload["scores"].startswith("calibrated")
