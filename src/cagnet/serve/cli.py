"""``cagnet serve --model MODEL [--host 127.0.0.1] [--port 8000] [--max-megapixels 20]``."""

import argparse
from pathlib import Path

from cagnet.errors import CagnetError
from cagnet.serve.uploads import DEFAULT_MAX_MEGAPIXELS


class MissingExtraError(CagnetError):
    """An optional extra the command needs is not installed."""


def command_serve(args: argparse.Namespace) -> int:
    """Loads the model and serves the page until interrupted; 0 on a clean stop."""
    try:
        import uvicorn

        from cagnet.serve.app import ServeSettings, create_app
    except ModuleNotFoundError as error:
        raise MissingExtraError(
            f"cagnet serve needs the web extra ({error.name} is missing): pip install 'cagnet[web]'"
        ) from None
    from cagnet.inference import Segmenter

    segmenter = Segmenter.load(args.model, device=args.device)
    settings = ServeSettings(max_megapixels=args.max_megapixels)
    if args.examples is not None:
        settings = ServeSettings(max_megapixels=args.max_megapixels, examples=args.examples)
    app = create_app(segmenter, settings)
    print(f"cagnet serve: {args.model} on http://{args.host}:{args.port}/ (Ctrl-C stops)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def add_serve_parser(commands: argparse._SubParsersAction) -> None:
    """Adds ``cagnet serve`` to the ``cagnet`` command's sub-commands."""
    parser = commands.add_parser("serve", help="a local web page that segments images by name")
    parser.add_argument("--model", required=True, help="model file or shipped model name")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--max-megapixels",
        type=float,
        default=DEFAULT_MAX_MEGAPIXELS,
        help=f"largest image accepted (default {DEFAULT_MAX_MEGAPIXELS:g} megapixels)",
    )
    parser.add_argument("--examples", type=Path, help="folder of example images to offer")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.set_defaults(func=command_serve)
