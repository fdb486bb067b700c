"""Two CPU processes with gloo under torchrun train a few iterations together."""

import json
import os
import socket
import subprocess
import sys

import torch
import yaml
from helpers import small_overrides

from cagnet.config_io import parse_overrides
from cagnet.training.checkpoint import load_checkpoint


def _free_port() -> int:
    """A port nothing listens on now: a fixed one may be held by another process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SAVE_PARAMETERS = """
import os, sys
import torch
from cagnet.cli import main
from cagnet.training import loop

models = []
get_method = loop.get_method


def _parameters(model):
    return {k: v.detach().cpu().clone() for k, v in model.named_parameters()}


def _path(kind):
    return os.path.join(os.environ["PARAMETERS_DIR"], kind + os.environ["RANK"] + ".pt")


def capturing(name):
    method = get_method(name)
    build_model = method.build_model

    def build_and_keep(config, embeddings):
        models.append(build_model(config, embeddings))
        torch.save(_parameters(models[-1]), _path("initial"))
        return models[-1]

    method.build_model = build_and_keep
    return method


loop.get_method = capturing
code = main(sys.argv[1:])
torch.save(_parameters(models[-1]), _path("rank"))
sys.exit(code)
"""


def test_two_gloo_processes_train_the_same_weights_and_only_rank0_writes(tmp_path):
    config_path = tmp_path / "ddp.yaml"
    overrides = small_overrides(tmp_path, iterations=4) + ["device=cpu"]
    config_path.write_text(yaml.safe_dump(parse_overrides(overrides)))
    script = tmp_path / "save_parameters.py"
    script.write_text(SAVE_PARAMETERS)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_free_port()}",
        str(script),
        "train",
        str(config_path),
        "--run-dir",
        str(tmp_path / "run"),
        "--quiet",
    ]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PARAMETERS_DIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = list((tmp_path / "runs").glob("*")) if (tmp_path / "runs").exists() else []
    assert runs == []  # the explicit --run-dir is the only folder written
    run = tmp_path / "run"
    assert (run / "checkpoint.pt").is_file() and (run / "losses.csv").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["images_evaluated"] == 4
    assert result.stdout.count("run folder:") == 2  # both ranks finished the same run
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    saved = load_checkpoint(run / "checkpoint.pt")["model"]
    initial = torch.load(tmp_path / "initial0.pt", weights_only=True)
    assert ranks[0].keys() == ranks[1].keys() and len(ranks[0]) > 10
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), name
        assert torch.equal(ranks[0][name], saved[name]), name
    assert any(not torch.equal(initial[name], ranks[0][name]) for name in initial)  # it trained
