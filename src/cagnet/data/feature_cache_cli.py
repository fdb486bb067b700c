"""``cagnet cache CONFIG``: compute a config's feature cache beforehand (frozen-backbone mode).

``cagnet train`` builds a missing cache itself; this command does it up front, with a progress
bar, and prints where the caches are, their size and the time taken. See
``cagnet.data.feature_store`` for what is cached and when a cache is reused.
"""

import argparse
import dataclasses
import shutil
import time
from pathlib import Path

from cagnet.cli_args import add_overrides_argument
from cagnet.config import load_config


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


def command_cache(args: argparse.Namespace) -> int:
    """Build (or check) the train and val caches of the config; print folders, sizes, time."""
    from cagnet.build import build_data, build_embeddings, prepare_dataset
    from cagnet.data import feature_cache, feature_store
    from cagnet.methods import get_method
    from cagnet.training.distributed import Context
    from cagnet.training.loop import resolve_device, seed_everything

    config = load_config(args.config, args.overrides)
    # The command builds the cache whether or not the config switches it on.
    config = dataclasses.replace(
        config, feature_cache=dataclasses.replace(config.feature_cache, enabled=True)
    )
    feature_cache.check_feature_cache_config(config)
    started = time.perf_counter()
    config = prepare_dataset(config, progress=not args.quiet)
    device = resolve_device(config.device, Context())
    # The same order as ``train``, so a backbone with random parts gets the same weights.
    seed_everything(config.seed)
    method = get_method(config.model.method)
    data = build_data(config)
    model = method.build_model(config, build_embeddings(config, data.split.class_names))
    model = model.to(device)
    if args.rebuild:  # the whole folder of this backbone: every split's features
        backbone = feature_cache.frozen_backbone(model, config)
        key = feature_store.backbone_key(backbone, config.model.backbone)
        folder = feature_store.store_folder(feature_cache.cache_root(config), key)
        if folder.is_dir():
            print(f"deleting {folder}")
            shutil.rmtree(folder)
    cached = feature_cache.use_feature_cache(model, data, config, device, not args.quiet)
    files = set()
    for split in ("train", "val"):
        store = getattr(cached, split).store
        files |= store.paths()
        variants = "+".join(store.variants)
        print(f"{split}: {len(store)} images, {variants}, {_megabytes(store.size_bytes())}")
    size = sum(path.stat().st_size for path in files)
    minutes = (time.perf_counter() - started) / 60
    print(f"feature cache ready in {store.folder}: {_megabytes(size)}, {minutes:.1f} min")
    return 0


def add_cache_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``cache`` sub-command."""
    parser = subparsers.add_parser(
        "cache",
        help="precompute the frozen backbone's features of a config (feature_cache)",
        description=(
            "Compute the features of the config's frozen backbone for the train and val "
            "splits once; training and evaluation then read them (feature_cache.enabled=true)."
        ),
    )
    parser.add_argument("config", type=Path, help="YAML config file (see configs/)")
    add_overrides_argument(
        parser, "override a config field, e.g. --set dataset.root=/data/camvid (repeatable)"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="delete this config's caches and compute them again"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=command_cache)
