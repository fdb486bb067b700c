"""``cagnet figures KIND RUN_DIR_OR_COMPARE_DIR``: the paper's figures from a run."""

import argparse
import shlex
import sys
from pathlib import Path

KINDS = ("clusters", "methods", "reconstruction", "scales", "lambdas")
DEFAULT_IMAGES = 4


def _make(args: argparse.Namespace, command: str) -> list[Path]:
    from cagnet.figures import common

    source, count = Path(args.source), args.images
    output = Path(args.output) if args.output else source / "figures"
    split = "val"
    if args.kind == "lambdas":
        from cagnet.figures.lambdas import draw_lambdas, lambda_points

        points = lambda_points(source)
        text = "hIoU on val against lambda1 and lambda2 (log axis); dots: seeds, bars: +- std."
        figure, images = draw_lambdas(points), []
    elif args.kind == "methods":
        from cagnet.figures.methods import draw_methods, methods_grid

        grid = methods_grid(source, count)
        run = common.load_run(grid.columns[0].run_dir)
        names, unseen = list(run.data.split.class_names), run.data.split.unseen
        runs = ", ".join(f"{c.title}: {c.run_dir} (gamma {c.gamma:g})" for c in grid.columns)
        text = f"Predictions of each method on val images with unseen classes. Runs: {runs}."
        figure, images = draw_methods(grid, names, unseen), grid.indices
    else:
        run = common.load_run(source)
        if args.kind == "clusters":
            from cagnet.figures.clusters import cluster_class, draw_clusters

            name = args.class_name or run.data.split.class_names[run.data.split.unseen[0]]
            result = cluster_class(run, name, args.feature, count, seed=args.seed)
            text = (
                f"K-means (scikit-learn, seed {args.seed}) over the {args.feature} features of "
                f"class '{name}' pooled over the images; one colour = one cluster."
            )
            figure, images = (
                draw_clusters(result, name, args.feature),
                [i.index for i in result.images],
            )
        elif args.kind == "scales":
            from cagnet.figures.scales import draw_scales, selected_scales

            indices = common.images_with(run.data, list(run.data.split.unseen), count)
            result = selected_scales(run, indices)
            names, unseen = list(run.data.split.class_names), run.data.split.unseen
            text = "The context selector's argmax scale per pixel; histogram over these images."
            figure, images = draw_scales(result, names, unseen), indices
        else:
            from cagnet.figures.reconstruction import (
                draw_reconstruction,
                reconstruction,
                table_markdown,
            )

            indices = common.images_with(run.data, list(run.data.split.unseen), count)
            result = reconstruction(run, indices, list(range(len(run.data.val))), args.seed)
            table = table_markdown(result)
            text = (
                "Per-pixel ||G(z, w) - X|| with the CM's code (z = mu) and with N(0, 1) noise "
                f"(seed {args.seed} + image index), one colour scale, darker = lower. Mean "
                f"loss over all {len(result.table_images)} val images:\n\n{table}"
            )
            figure, images = draw_reconstruction(result), indices
            print(table)
    caption = common.caption(args.kind, source, split, images, command, text)
    return common.save_figure(figure, output, args.kind, caption, args.pdf)


def command_line(args: argparse.Namespace) -> str:
    """The command that makes this figure again, for its caption."""
    words = ["cagnet", "figures", args.kind, str(args.source), "--images", str(args.images)]
    if args.output:
        words += ["--output", str(args.output)]
    if args.kind == "clusters":
        words += (["--class", args.class_name] if args.class_name else []) + [
            "--feature",
            args.feature,
        ]
    if args.kind in ("clusters", "reconstruction"):
        words += ["--seed", str(args.seed)]
    return shlex.join(words + (["--pdf"] if args.pdf else []))


def command_figures(args: argparse.Namespace) -> int:
    command = command_line(args)
    try:
        import matplotlib
        import sklearn  # noqa: F401
    except ModuleNotFoundError as error:
        print(f"cagnet figures needs {error.name}: pip install 'cagnet[figures]'", file=sys.stderr)
        return 2
    matplotlib.use("Agg")
    for path in _make(args, command):
        print(f"wrote {path}")
    return 0


def add_figures_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``figures`` to the ``cagnet`` command's sub-parsers."""
    parser = subparsers.add_parser(
        "figures",
        help="the paper's figures (Fig. 1, 4, 5, 6, supp. Fig. 1) from a run or compare folder",
        description=(
            "clusters (Fig. 1), reconstruction (Fig. 5) and scales (Fig. 6) read a CaGNet run "
            "folder; methods (Fig. 4) and lambdas (supp. Fig. 1) a `cagnet compare` folder. "
            "Writes KIND.png (and .pdf) and a caption KIND.txt; never overwrites."
        ),
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("source", type=Path, metavar="RUN_DIR_OR_COMPARE_DIR")
    parser.add_argument(
        "--images", type=int, default=DEFAULT_IMAGES, help="val images shown (default 4)"
    )
    parser.add_argument("--output", type=Path, help="folder for the files (default SOURCE/figures)")
    parser.add_argument("--pdf", action="store_true", help="also write a PDF")
    parser.add_argument(
        "--class", dest="class_name", help="clusters: the class (default: the first unseen)"
    )
    parser.add_argument("--feature", choices=("F", "X"), default="X", help="clusters: F or X")
    parser.add_argument("--seed", type=int, default=0, help="K-means / noise seed (default 0)")
    parser.set_defaults(func=command_figures)
    return parser
