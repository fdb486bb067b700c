"""The ``cagnet embed`` sub-command: write the class-embedding matrix of a class list to ``.npy``.

Example::

    cagnet embed --classes classes.txt --source glove --output class_emb.npy
    cagnet embed --classes labels.txt --source vectors:crawl-300d-2M.vec \\
        --source vectors:GoogleNews-vectors-negative300.bin --output fasttext_word2vec.npy
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from cagnet.atomic import atomic_save_npy
from cagnet.embeddings import ACCEPTED_FORMS, class_embeddings
from cagnet.errors import CagnetError, EmbeddingError


def read_class_names(path: Path) -> list[str]:
    """Reads class names, one per line, in label order.

    Blank lines are skipped. A line ``"<index>\\t<name>"`` (the official ``labels_refined.txt``
    layout) gives ``<name>``.

    Args:
        path: A UTF-8 text file.

    Returns:
        The K class names.

    Raises:
        EmbeddingError: If the file cannot be read or names no class.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise EmbeddingError(f"cannot read class list {path}: {err}") from err
    names = [line.split("\t")[-1].strip() for line in lines if line.strip()]
    if not names:
        raise EmbeddingError(f"class list {path} names no class (one name per line expected)")
    return names


def save_npy_atomic(matrix: np.ndarray, output: Path) -> None:
    """Writes ``matrix`` to ``output`` through a temporary file and ``os.replace``.

    A reader never sees a half-written file, and a failure leaves no partial output.

    Args:
        matrix: The array to save.
        output: Destination ``.npy`` path; its folder must exist.
    """
    atomic_save_npy(output, matrix)


def run_embed(args: argparse.Namespace) -> int:
    """Handles ``cagnet embed``: embeds the classes and writes the (K, d) float32 matrix.

    Args:
        args: Namespace with ``classes`` (Path), ``sources`` (list of str), ``output`` (Path)
            and ``force`` (bool).

    Returns:
        0 on success, 1 on a user error (message on stderr).
    """
    output = Path(args.output)
    try:
        if output.suffix != ".npy":
            raise EmbeddingError(f"output {output} must end with .npy")
        if output.exists() and not args.force:
            raise EmbeddingError(f"output {output} already exists; pass --force to overwrite it")
        if not output.parent.is_dir():
            raise EmbeddingError(f"folder {output.parent} of output {output} does not exist")
        names = read_class_names(Path(args.classes))
        matrix = class_embeddings(args.sources, names, base_dir=Path.cwd()).numpy()
        save_npy_atomic(matrix, output)
    except CagnetError as err:
        print(f"cagnet embed: error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {output}: {matrix.shape[0]} classes x {matrix.shape[1]} dims ({args.sources})")
    return 0


def add_embed_parser(subparsers: argparse._SubParsersAction) -> None:
    """Registers the ``embed`` sub-command on a ``cagnet`` argument parser.

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers()``.
    """
    parser = subparsers.add_parser(
        "embed",
        help="write the class-embedding matrix of a class list to a .npy file",
        description="Embed class names (one per line) and write the (K, d) float32 matrix, "
        "each source's rows L2-normalised and concatenated.",
    )
    parser.add_argument("--classes", type=Path, required=True, help="text file, one class per line")
    parser.add_argument(
        "--source",
        dest="sources",
        action="append",
        required=True,
        help=f"embedding source, repeatable; one of: {ACCEPTED_FORMS}",
    )
    parser.add_argument("--output", type=Path, required=True, help="destination .npy file")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.set_defaults(func=run_embed)
