"""``compare``: train and evaluate every variant x seed, one run folder each, then report.

Runs are sequential. Each lives in ``OUTPUT/runs/<variant>/seed<N>`` and is finished when its
``compare.json`` (the run's final numbers) exists. A post-processed variant that shares another
variant's training (``Variant.shares``, e.g. cagnet-c on cagnet) post-processes that variant's
run folder and records its numbers there in ``compare-<variant>.json``; the shared run trains
once, whichever of the two comes first. Two ``compare`` processes must not train one run at
the same time. Re-running the same comparison skips finished
runs, resumes interrupted ones from their checkpoint and never overwrites a run folder: a folder
interrupted before its first checkpoint is left as it is and the run starts again beside it
(``seed<N>-1``); only an empty folder is reused. A finished or resumable run trained with
another config is an error. Every run is resolved (variant, method, post-processing, folder)
before the first one trains.
"""

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cagnet.atomic import atomic_write_text
from cagnet.build import prepare_dataset
from cagnet.compare.post import post_process, require_post_step
from cagnet.compare.records import Comparison, RunRecord, flat_metrics
from cagnet.compare.report import write_reports
from cagnet.compare.variants import VARIANTS, Variant, select_variants
from cagnet.config import Config
from cagnet.config_io import from_dict, merge, parse_overrides, to_dict
from cagnet.errors import ConfigError, RunFolderError
from cagnet.training.checkpoint import CHECKPOINT_NAME
from cagnet.training.loop import CONFIG_NAME, read_run_config, train

RECORD_NAME = "compare.json"
# Fields that say where or how a run goes, not what it computes: they may change on a re-run.
WHERE_NOT_WHAT = ("output_dir:", "device:", "train.num_workers:")
METRICS_NAME = "metrics.json"


def slug(name: str) -> str:
    """A folder name for a variant name: 'table5/1:10' -> 'table5_1-10'."""
    return re.sub(r"[^A-Za-z0-9.+-]", "_", name.replace(":", "-"))


def variant_config(config: Config, variant: Variant, seed: int, name: str) -> Config:
    """``config`` with the variant's overrides (they win over the user's) and ``seed``."""
    values = merge(to_dict(config), parse_overrides(variant.overrides))
    varied = from_dict(Config, values, f"variant {name!r} ({' '.join(variant.overrides)})")
    return replace(varied, seed=seed, name=f"{slug(name)}-seed{seed}")


def require_available(name: str, variant: Variant, config: Config) -> None:
    """Raise ConfigError when the variant's method or post-processing is not in this build, or
    its method rejects the config (``Method.check_config``)."""
    from cagnet.methods import METHODS

    if config.model.method not in METHODS:
        raise ConfigError(
            f"variant {name!r} needs model.method={config.model.method!r}, which this build "
            f"does not have (available methods: {', '.join(sorted(METHODS))}); leave the "
            "variant out or add the method to cagnet.methods.METHODS"
        )
    require_post_step(name, variant.post)
    try:
        METHODS[config.model.method].check_config(config)
    except ConfigError as error:
        raise ConfigError(f"variant {name!r} (seed {config.seed}): {error}") from None


def _attempts(base: Path) -> list[Path]:
    """``base`` and its restarts ``base-1``, ``base-2``, ... that exist, in order."""
    restarts = [
        p for p in base.parent.glob(f"{base.name}-*") if p.name[len(base.name) + 1 :].isdigit()
    ]
    restarts.sort(key=lambda p: int(p.name[len(base.name) + 1 :]))
    return [p for p in [base, *restarts] if p.exists()]


def locate_run(base: Path) -> Path:
    """The folder of a run: finished, else resumable, else empty or not there yet (new)."""
    existing = _attempts(base)
    for marker in (RECORD_NAME, METRICS_NAME, CHECKPOINT_NAME):
        for folder in existing:
            if (folder / marker).is_file():
                return folder
    for folder in existing:
        if folder.is_dir() and not any(folder.iterdir()):
            return folder  # a run that failed before writing anything: nothing to overwrite
    attempt, folder = 0, base
    while folder.exists():
        attempt += 1
        folder = base.with_name(f"{base.name}-{attempt}")
    return folder


def _check_same_config(folder: Path, expected: Config) -> None:
    """A run folder may only be reused for exactly the config it was trained with."""
    if not (folder / CONFIG_NAME).is_file():
        return
    saved, wanted = to_dict(read_run_config(folder)), to_dict(expected)
    differences = [key for key in _diff_keys(saved, wanted) if not key.startswith(WHERE_NOT_WHAT)]
    if differences:
        raise RunFolderError(
            f"{folder} holds a run of another config (differs in {', '.join(differences[:5])}; "
            "a --set or a default in the code changed); choose another --output, or move that "
            "folder away to train it again"
        )


def _diff_keys(a: dict, b: dict, prefix: str = "") -> list[str]:
    keys = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            keys += _diff_keys(left, right, f"{prefix}{key}.")
        elif left != right:
            keys.append(f"{prefix}{key}: {left!r} vs {right!r}")
    return keys


@dataclass(frozen=True)
class _Planned:
    name: str
    variant: Variant
    seed: int
    config: Config
    folder: Path
    record_name: str


def record_name(name: str, variant: Variant) -> str:
    """The file of a variant's final numbers in its run folder (see the module docstring)."""
    return f"compare-{slug(name)}.json" if variant.shares else RECORD_NAME


def plan(
    config: Config, variants: Sequence[str], seeds: Sequence[int], output_dir: Path
) -> list[_Planned]:
    """Resolve every run before any trains: an unknown variant, a method or post-processing
    missing from this build, or a folder of another config fails the comparison at once."""
    if not seeds:
        raise ConfigError("no seed given; e.g. --seeds 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds {list(seeds)} repeat a seed")
    names = select_variants(variants)
    runs = []
    for name in names:
        variant = VARIANTS[name]
        trained_as = variant.shares or name  # the variant whose run is trained
        for seed in seeds:
            run_config = prepare_dataset(
                variant_config(config, VARIANTS[trained_as], seed, trained_as), progress=False
            )
            require_available(name, variant, run_config)
            folder = locate_run(Path(output_dir) / "runs" / slug(trained_as) / f"seed{seed}")
            _check_same_config(folder, run_config)
            record = record_name(name, variant)
            runs.append(_Planned(name, variant, seed, run_config, folder, record))
    return runs


def _execute(run: _Planned, progress: bool) -> RunRecord:
    record_path = run.folder / run.record_name
    if record_path.is_file():
        return _read_record(record_path, skipped=True)
    started = time.perf_counter()
    if (run.folder / METRICS_NAME).is_file():
        trained = json.loads((run.folder / METRICS_NAME).read_text())
    elif (run.folder / CHECKPOINT_NAME).is_file():
        trained = train(run.config, resume=run.folder, progress=progress).metrics
    else:
        if run.folder.is_dir():
            run.folder.rmdir()  # empty (see locate_run); train creates its run folder anew
        trained = train(run.config, run_dir=run.folder, progress=progress).metrics
    raw = flat_metrics(trained)
    final, details = raw, {}
    if run.variant.post:
        final, details = post_process(run.variant.post, run.config, run.folder, progress)
    record = RunRecord(
        variant=run.name,
        seed=run.seed,
        post=run.variant.post,
        run_dir=run.folder,
        metrics=final,
        before_post=raw if run.variant.post else None,
        details=details,
        wall_s=time.perf_counter() - started,
    )
    _write_record(record_path, record)
    return record


def _write_record(path: Path, record: RunRecord) -> None:
    payload = {
        "variant": record.variant,
        "seed": record.seed,
        "post": record.post,
        "metrics": record.metrics,
        "before_post": record.before_post,
        "details": record.details,
        "wall_s": record.wall_s,
    }
    atomic_write_text(path, json.dumps(payload, indent=1))


def _read_record(path: Path, skipped: bool) -> RunRecord:
    payload = json.loads(path.read_text())
    return RunRecord(
        variant=payload["variant"],
        seed=int(payload["seed"]),
        post=payload["post"],
        run_dir=path.parent,
        metrics=payload["metrics"],
        before_post=payload["before_post"],
        details=payload["details"],
        wall_s=float(payload["wall_s"]),
        skipped=skipped,
    )


def compare(
    config: Config,
    variants: Sequence[str],
    seeds: Sequence[int],
    output_dir: Path,
    progress: bool = True,
    command: str = "",
) -> Comparison:
    """Train and evaluate each variant with each seed, then write the reports.

    Args:
        config: the base config (file and ``--set`` overrides applied); each variant's
            overrides are applied on top, and ``seed`` is replaced by each of ``seeds``.
        variants: variant names or patterns (see ``cagnet.compare.variants``).
        seeds: training seeds (the data set is the same for every seed).
        output_dir: runs go to ``output_dir/runs``; results.csv, results.md and results.png
            to ``output_dir``.
        progress: progress bars inside each run (one line per run is always printed).
        command: the command line, written in the report's header.

    Returns:
        Every run's record, finished now or earlier, in variant-then-seed order.
    """
    started = time.perf_counter()
    output_dir = Path(output_dir)
    runs = plan(config, variants, seeds, output_dir)
    records = []
    for index, run in enumerate(runs, start=1):
        label = f"[{index}/{len(runs)}] {run.name} seed {run.seed}"
        print(f"{label}: {run.folder}", flush=True)
        try:
            record = _execute(run, progress)
        except BaseException:
            if records:  # report what finished; a re-run continues from here
                partial = Comparison(tuple(records), output_dir, time.perf_counter() - started)
                write_reports(partial, command)
            raise
        state = "finished earlier, skipped" if record.skipped else f"{record.wall_s:.1f} s"
        print(
            f"{label}: hIoU {record.metrics['hiou']:.4f}, seen mIoU "
            f"{record.metrics['seen_miou']:.4f}, unseen mIoU {record.metrics['unseen_miou']:.4f}"
            f" ({state})",
            flush=True,
        )
        records.append(record)
    comparison = Comparison(tuple(records), output_dir, time.perf_counter() - started)
    write_reports(comparison, command)
    print(f"results: {output_dir / 'results.md'} ({comparison.wall_s:.1f} s)", flush=True)
    return comparison
