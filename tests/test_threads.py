"""``--threads`` on every command and the default thread count (issue 12)."""

import argparse

import pytest
import torch

from cagnet import threads
from cagnet.cli import build_parser, main
from cagnet.errors import ConfigError


@pytest.mark.parametrize(
    ("cpus", "busy", "expected"), [(2, 0.0, 2), (2, 1.0, 1), (2, 5.0, 1), (4, 1.4, 3), (1, 0.0, 1)]
)
def test_default_leaves_the_busy_cores_alone(cpus, busy, expected):
    assert threads.default_threads(cpus, busy) == expected


def test_threads_option_then_environment_then_the_default(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.choose_threads(3) == threads.ThreadChoice(3, "--threads")
    assert threads.choose_threads(None).threads == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "busy_cores", lambda: 1.0)
    choice = threads.choose_threads(None)
    assert choice.threads == 1 and "1.0 busy" in choice.reason
    with pytest.raises(ConfigError, match="--threads 0"):
        threads.choose_threads(0)


def test_every_command_takes_threads():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"train", "eval", "demo", "compare", "cache"} <= set(commands.choices)
    for name, sub_parser in commands.choices.items():
        options = {o for action in sub_parser._actions for o in action.option_strings}
        assert "--threads" in options, name


def test_the_chosen_count_is_applied_and_printed(capsys):
    before = torch.get_num_threads()
    try:
        assert main(["compare", "--list", "--threads", "1"]) == 0
        assert torch.get_num_threads() == 1
        assert "1 torch thread(s) (--threads)" in capsys.readouterr().err
        assert main(["compare", "--list", "--threads", "2"]) == 0
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
