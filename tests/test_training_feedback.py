"""What a run tells while it trains: the bar's fields, the mu_spread warning, skip reasons."""

import logging

from conftest import skip_summary
from helpers import KEY_CONFIG, PatchBackbone, write_folder

from cagnet.data.feature_store import build_store
from cagnet.training.collapse import SpreadWatch
from cagnet.training.loop import bar_fields


def test_the_bar_shows_the_phase_and_the_finetuning_losses():
    log = {"ft_loss_cls": 0.51234, "ft_loss_adv": 0.2, "ft_unseen_fraction": 0.5}
    assert bar_fields("finetuning", log) == {"phase": "finetuning", "cls": "0.512", "adv": "0.2"}
    fields = bar_fields("training", {"loss_rec": 3.0, "mu_spread": 0.1})
    assert fields == {"phase": "training", "rec": "3"}


def test_a_collapsing_mu_spread_is_a_warning_once(caplog):
    watch = SpreadWatch()
    with caplog.at_level(logging.WARNING):
        assert not watch.check(0, {"mu_spread": 0.2})
        assert not watch.check(20, {"mu_spread": 0.05})  # lower, not collapsed
        assert not watch.check(40, {"loss_cls": 1.0})  # no spread logged: nothing to say
        assert watch.check(60, {"mu_spread": 0.002})
        assert not watch.check(80, {"mu_spread": 0.001})  # said once
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and "mu_spread collapsed" in record.getMessage()


def test_a_collapse_of_a_code_trained_by_the_kl_alone_is_information(caplog):
    watch = SpreadWatch(expected=True)  # model.detach_generator_input=true
    with caplog.at_level(logging.INFO):
        assert not watch.check(0, {"mu_spread": 0.2})
        assert watch.check(20, {"mu_spread": 0.0})
    (record,) = caplog.records
    assert record.levelno == logging.INFO and "expected" in record.getMessage()


def test_skips_are_explained_in_one_line():
    reasons = ["Skipped: ../shared is absent"] * 3 + ["Skipped: needs efficientnet"]
    line = skip_summary(reasons)
    assert line.startswith("4 skipped: 3 because ../shared is absent; 1 because needs")
    assert skip_summary([]) is None


def test_a_complete_cache_shows_no_progress_bar(tmp_path, capsys):
    reader = write_folder(tmp_path / "data")
    build_store(reader, PatchBackbone(), KEY_CONFIG, tmp_path / "cache", progress=True)
    assert "cache" in capsys.readouterr().err  # computed: a bar
    build_store(reader, PatchBackbone(), KEY_CONFIG, tmp_path / "cache", progress=True)
    assert "cache" not in capsys.readouterr().err  # complete: none
