"""``cagnet tune``: choose settings as the paper chose lambda1 and lambda2, "via cross-validation
by splitting a set of validation categories from seen categories".

Example::

    cagnet tune src/cagnet/configs/demo.yaml --grid loss.reconstruction_weight=10,50 \\
        --grid train.iterations=1000,2000 --seeds 0,1 --output runs/tune-demo --final

Every configuration of the grid (the cartesian product of the ``--grid`` lists) is trained once
per seed on the calibration proxy's data (``calibration_cli.proxy_data``, the same split that
``cagnet calibrate`` uses): ``calibration.pseudo_unseen`` seen classes are hidden as pseudo-unseen
and a ``calibration.holdout_fraction`` of the training images is held out. The score of a run is
its hIoU on those held-out training images, seen vs pseudo-unseen classes; the configuration
with the best mean over the seeds is chosen. Neither val nor any unseen label is read for the
choice. With ``--final`` the chosen configuration is then trained on all seen classes and scored
on val, once per seed. The runs score raw scores (gamma = 0), or with ``--calibrate`` (for a
calibrated variant such as SPNet-c) each proxy at the gamma that ``calibration.choose_gamma``
picks for it on its own held-out images; the final model is calibrated by ``cagnet calibrate``.

Written to ``--output`` (a new folder): ``tune.md``, ``tune.csv`` and ``tune.json`` (every
configuration, seed and score, and the choice), and one run folder per training.
"""

import argparse
import csv
import io
import itertools
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from cagnet.cli_args import add_overrides_argument
from cagnet.config import Config, load_config
from cagnet.errors import ConfigError, RunFolderError
from cagnet.evaluation.calibration import LABEL_SOURCES
from cagnet.evaluation.calibration_cli import (
    proxy_data,
    proxy_training_config,
    pseudo_unseen_classes,
)
from cagnet.training.run_folder import atomic_write_text

SCORES = ("hiou", "seen_miou", "unseen_miou")


def split_values(text: str) -> list[str]:
    """Splits ``v1,v2`` on the commas that are outside brackets: ``[a,b],c`` -> ``[a,b]``, ``c``."""
    values, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += char
    values.append(current)
    return [value.strip() for value in values]


def parse_grid(items: Sequence[str]) -> list[tuple[str, ...]]:
    """``["a=1,2", "b=x,y"]`` -> every combination as override strings, first key slowest.

    Keys joined by ``&`` form one axis whose values are joined the same way:
    ``"train.iterations&train.pretrain_iterations=450&226,1800&1000"`` gives 2 configurations,
    each setting both keys (for settings that must change together).

    Raises:
        ConfigError: for an item without ``=``, an empty value, a key given twice, or a linked
            value whose number of ``&`` parts differs from the number of keys.
    """
    axes, keys = [], []
    for item in items:
        key, sep, text = item.partition("=")
        names = [name.strip() for name in key.split("&")]
        values = split_values(text) if sep else []
        if not all(names) or not values or any(not v for v in values):
            raise ConfigError(
                f"--grid {item!r}: write it as key=value1,value2, e.g. "
                "--grid loss.reconstruction_weight=10,50"
            )
        for name in names:
            if name in keys:
                raise ConfigError(f"--grid gives {name!r} twice; list all its values in one --grid")
            keys.append(name)
        axis = []
        for value in values:
            parts = value.split("&") if len(names) > 1 else [value]
            if len(parts) != len(names) or any(not part.strip() for part in parts):
                raise ConfigError(
                    f"--grid {item!r}: the value {value!r} has {len(parts)} '&' part(s) for "
                    f"{len(names)} linked key(s); give one part per key, e.g. "
                    "a&b=1&2,3&4"
                )
            axis.append(tuple(f"{n}={part.strip()}" for n, part in zip(names, parts, strict=True)))
        axes.append(axis)
    if not axes:
        return [()]
    return [
        tuple(override for group in combination for override in group)
        for combination in itertools.product(*axes)
    ]


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2]; ConfigError for anything that is not distinct integers."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError as error:
        raise ConfigError(
            f"--seeds {text!r}: give integers separated by commas, e.g. 0,1,2"
        ) from error
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r} repeats a seed")
    return seeds


def _scores(metrics: dict) -> dict:
    return {
        "hiou": metrics["hiou"],
        "seen_miou": metrics["seen"]["miou"],
        "unseen_miou": metrics["unseen"]["miou"],
    }


def _train(config: Config, folder: Path, proxy: bool, progress: bool, calibrate: bool) -> dict:
    """Train one run; its scores on the proxy's held-out images (proxy) or on val."""
    from cagnet.training.loop import train

    started = time.perf_counter()
    if proxy:
        config = proxy_training_config(config)
        result = train(
            config,
            run_dir=folder,
            progress=progress,
            data_hook=lambda data: proxy_data(data, config),
        )
    else:
        result = train(config, run_dir=folder, progress=progress)
    scores = _scores(result.metrics)
    if proxy and calibrate:
        scores = _calibrated_scores(config, result.run_dir)
    return {**scores, "seconds": time.perf_counter() - started}


def _calibrated_scores(config: Config, run_dir: Path) -> dict:
    """The proxy's scores at the gamma that ``cagnet calibrate`` would choose for it on its
    held-out images (``calibration.max_seen_drop`` bound), and that gamma."""
    from cagnet.data.feature_cache import CachedReader, cache_reader
    from cagnet.evaluation.calibration import choose_gamma, sweep
    from cagnet.evaluation.test_time import configured_segment
    from cagnet.training.checkpoint import CHECKPOINT_NAME
    from cagnet.training.distributed import Context
    from cagnet.training.loop import load_trained_model, resolve_device

    device = resolve_device(config.device, Context())
    model, data, prepared = load_trained_model(config, run_dir / CHECKPOINT_NAME, device)
    data = proxy_data(data, prepared)
    reader = data.val
    if prepared.feature_cache.enabled and not isinstance(reader, CachedReader):
        reader = cache_reader(model, reader, prepared, device, progress=False)
    segment = configured_segment(model.segment, prepared.eval)
    gammas, confusions = sweep(segment, reader, data.split, device, prepared, progress=False)
    split = data.split
    choice = choose_gamma(
        gammas, confusions, split.seen, split.unseen, prepared.calibration.max_seen_drop
    )
    calibrated = choice.calibrated
    return {
        "hiou": calibrated.hiou,
        "seen_miou": calibrated.seen.miou,
        "unseen_miou": calibrated.unseen.miou,
        "gamma": choice.gamma,
        "raw_hiou": choice.raw.hiou,
    }


def _summary(runs: list[dict]) -> dict:
    summary = {f"mean_{name}": statistics.fmean(r[name] for r in runs) for name in SCORES}
    hious = [r["hiou"] for r in runs]
    summary["std_hiou"] = statistics.stdev(hious) if len(hious) > 1 else 0.0
    summary["seconds"] = sum(r["seconds"] for r in runs)
    return summary


def tune(
    config_path: Path,
    base: Sequence[str],
    grid: list[tuple[str, ...]],
    seeds: Sequence[int],
    output: Path,
    final: bool = False,
    progress: bool = False,
    calibrate: bool = False,
) -> dict:
    """Run the search (see the module docstring) and write tune.md / .csv / .json.

    Args:
        config_path: the YAML config every configuration starts from.
        base: ``--set`` overrides applied before each configuration's own.
        grid: the configurations, each a tuple of ``key=value`` overrides (``parse_grid``).
        seeds: every configuration is trained once per seed (``seed=N``).
        output: a new folder for the tables and the run folders.
        final: also train the chosen configuration on all seen classes and score val.
        calibrate: score each proxy at the calibration gamma chosen for it on its held-out
            images (for the calibrated variants, e.g. SPNet-c), not at its raw scores.

    Returns:
        What tune.json holds.
    """
    if output.exists():
        raise RunFolderError(
            f"{output} exists; cagnet tune never overwrites: choose a new --output"
        )
    configs = {  # load every config first: a wrong key fails before any training
        (index, seed): load_config(config_path, [*base, *overrides, f"seed={seed}"])
        for index, overrides in enumerate(grid)
        for seed in seeds
    }
    output.mkdir(parents=True)
    rows = []
    for index, overrides in enumerate(grid):
        runs = []
        for seed in seeds:
            config = configs[index, seed]
            folder = output / f"config{index}-seed{seed}"
            runs.append({"seed": seed, **_train(config, folder, True, progress, calibrate)})
        hidden = "; ".join(
            f"seed {seed}: {', '.join(_pseudo_names(configs[index, seed]))}" for seed in seeds
        )
        rows.append({"index": index, "overrides": list(overrides), "runs": runs, **_summary(runs)})
        print(
            f"config {index} {' '.join(overrides) or '(as is)'}: "
            f"mean hIoU {rows[-1]['mean_hiou']:.4f}, pseudo-unseen {hidden}"
        )
    chosen = max(rows, key=lambda row: (row["mean_hiou"], -row["index"]))  # ties: first
    payload = {
        "config": str(config_path),
        "base_overrides": list(base),
        "seeds": list(seeds),
        "chosen_on": LABEL_SOURCES["pseudo_unseen"],
        "tuned_on_test_labels": False,
        "scores": "calibrated (gamma chosen per proxy on its held-out images)"
        if calibrate
        else "raw (gamma = 0)",
        "pseudo_unseen": {str(s): _pseudo_names(configs[0, s]) for s in seeds},
        "configurations": rows,
        "chosen": chosen["index"],
        "use": " ".join(f"--set {o}" for o in chosen["overrides"]),
    }
    if final:
        runs = []
        for seed in seeds:
            config = load_config(config_path, [*base, *chosen["overrides"], f"seed={seed}"])
            folder = output / f"final-seed{seed}"
            runs.append({"seed": seed, **_train(config, folder, False, progress, False)})
        payload["final"] = {
            "evaluated_on": "val (all seen classes trained)",
            "runs": runs,
            **_summary(runs),
        }
    atomic_write_text(output / "tune.json", json.dumps(payload, indent=1))
    atomic_write_text(output / "tune.csv", tune_csv(payload))
    atomic_write_text(output / "tune.md", tune_markdown(payload))
    return payload


def _pseudo_names(config: Config) -> list[str]:
    from cagnet.build import build_data, prepare_dataset

    data = build_data(prepare_dataset(config, progress=False))
    pseudo = pseudo_unseen_classes(data.split, config.calibration.pseudo_unseen, config.seed)
    return [data.split.class_names[i] for i in pseudo]


def tune_csv(payload: dict) -> str:
    """One line per run: configuration, overrides, seed, scores, seconds, chosen, stage."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(["stage", "config", "overrides", "seed", *SCORES, "seconds", "chosen"])
    for row in payload["configurations"]:
        for run in row["runs"]:
            writer.writerow(
                ["pseudo-unseen", row["index"], " ".join(row["overrides"]), run["seed"],
                 *(f"{run[s]:.6f}" for s in SCORES), f"{run['seconds']:.1f}",
                 row["index"] == payload["chosen"]]
            )  # fmt: skip
    chosen = payload["configurations"][payload["chosen"]]
    for run in payload.get("final", {}).get("runs", []):
        writer.writerow(
            ["final-val", chosen["index"], " ".join(chosen["overrides"]), run["seed"],
             *(f"{run[s]:.6f}" for s in SCORES), f"{run['seconds']:.1f}", True]
        )  # fmt: skip
    return stream.getvalue()


def tune_markdown(payload: dict) -> str:
    """The table of every configuration (mean +- std over seeds) and the choice."""
    seeds = ", ".join(str(s) for s in payload["seeds"])
    lines = [
        f"# cagnet tune {payload['config']}",
        "",
        f"Base overrides: `{' '.join(payload['base_overrides']) or '(none)'}`; seeds {seeds}.",
        f"Scored ({payload['scores']}) on {payload['chosen_on']}; pseudo-unseen classes per seed: "
        + "; ".join(f"{s}: {', '.join(n)}" for s, n in payload["pseudo_unseen"].items())
        + ". Val is not read for the choice.",
        "",
        "| config | overrides | hIoU per seed | mean hIoU | std | seen mIoU | unseen mIoU "
        "| time (s) | chosen |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in payload["configurations"]:
        per_seed = " ".join(f"{r['hiou']:.3f}" for r in row["runs"])
        lines.append(
            f"| {row['index']} | `{' '.join(row['overrides']) or '(as is)'}` | {per_seed} "
            f"| {row['mean_hiou']:.4f} | {row['std_hiou']:.4f} | {row['mean_seen_miou']:.4f} "
            f"| {row['mean_unseen_miou']:.4f} | {row['seconds']:.0f} "
            f"| {'yes' if row['index'] == payload['chosen'] else ''} |"
        )
    lines += ["", f"Chosen: config {payload['chosen']} (`{payload['use'] or 'as is'}`)."]
    final = payload.get("final")
    if final:
        per_seed = " ".join(f"{r['hiou']:.3f}" for r in final["runs"])
        lines += [
            "",
            f"Final, trained on all seen classes, on val: hIoU {final['mean_hiou']:.4f} "
            f"± {final['std_hiou']:.4f} (per seed {per_seed}), seen mIoU "
            f"{final['mean_seen_miou']:.4f}, unseen mIoU {final['mean_unseen_miou']:.4f}.",
        ]
    return "\n".join(lines) + "\n"


def command_tune(args: argparse.Namespace) -> int:
    """``cagnet tune``: search the grid on pseudo-unseen classes, print and write the tables."""
    payload = tune(
        args.config,
        args.overrides,
        parse_grid(args.grid),
        parse_seeds(args.seeds),
        args.output,
        final=args.final,
        progress=not args.quiet,
        calibrate=args.calibrate,
    )
    print(tune_markdown(payload))
    print(f"written: {args.output / 'tune.md'}, tune.csv, tune.json")
    return 0


def add_tune_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``cagnet tune`` on the ``cagnet`` sub-command parser."""
    parser = subparsers.add_parser(
        "tune",
        help="choose settings on pseudo-unseen seen classes (the paper's cross-validation)",
        description="Train every configuration of the grid with some seen classes hidden as "
        "pseudo-unseen, score hIoU on held-out training images, choose the best mean over "
        "seeds; --final then trains it on all seen classes and scores val.",
    )
    parser.add_argument(
        "config", type=Path, help="YAML config file every configuration starts from"
    )
    add_overrides_argument(parser, "override a field in every configuration (repeatable)")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="values to try for one field (repeatable; the grid is their product)",
    )
    parser.add_argument("--seeds", default="0", help="seeds, e.g. 0,1,2 (default 0)")
    parser.add_argument("--output", type=Path, required=True, help="a new folder for the results")
    parser.add_argument("--final", action="store_true", help="train the choice and score val")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="score each configuration calibrated (gamma chosen on its held-out images), "
        "as for SPNet-c",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=command_tune)
