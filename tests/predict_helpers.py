"""A tiny trained run and its model file, shared by the inference tests (trained once)."""

import functools
import os
import tempfile
from pathlib import Path

from helpers import SHARED, small_overrides

from cagnet.config import load_config
from cagnet.inference import export_model
from cagnet.training.loop import train

GLOVE = ["embeddings.sources=[glove]"]  # the synthetic class names are GloVe words
# ../shared from the repository root; CAGNET_SHARED points a git worktree elsewhere at it.
SHARED_DATA = SHARED if SHARED.is_dir() else Path(os.environ.get("CAGNET_SHARED", SHARED))


@functools.cache
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="cagnet-tiny-runs-"))  # one synthetic data set for all


@functools.cache
def tiny_run(method: str = "cagnet") -> tuple[Path, Path]:
    """Train the embedded benchmark for 6 iterations; return (run folder, model file)."""
    folder = _folder()
    overrides = small_overrides(folder, iterations=6) + GLOVE + [f"model.method={method}"]
    if method == "zs3net":
        overrides += [
            "train.pretrain_iterations=2",
            "zs3net.generator_iterations=2",
            "zs3net.classifier_iterations=2",
        ]
    config = load_config(None, overrides)
    result = train(config, run_dir=folder / f"run-{method}", progress=False)
    return result.run_dir, export_model(result.run_dir)
