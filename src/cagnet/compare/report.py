"""The comparison's reports: results.csv (one row per run), results.md (the paper's Table 1
layout, mean ± sample standard deviation over seeds) and results.png (``cagnet.compare.chart``).

Every file is written atomically (a temporary file renamed into place).
"""

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from cagnet.atomic import atomic_write_text
from cagnet.compare.chart import save_chart
from cagnet.compare.records import Comparison, RunRecord
from cagnet.compare.variants import CALIBRATE, SELF_TRAIN, VARIANTS

# (key in the flat metrics, column title), in the order of the paper's Table 1.
COLUMNS = (
    ("hiou", "hIoU"),
    ("overall_miou", "mIoU"),
    ("overall_pixel_accuracy", "pixel acc."),
    ("overall_mean_accuracy", "mean acc."),
    ("seen_miou", "seen mIoU"),
    ("seen_pixel_accuracy", "seen pixel acc."),
    ("seen_mean_accuracy", "seen mean acc."),
    ("unseen_miou", "unseen mIoU"),
    ("unseen_pixel_accuracy", "unseen pixel acc."),
    ("unseen_mean_accuracy", "unseen mean acc."),
)
METRIC_KEYS = tuple(key for key, _ in COLUMNS)
BEFORE_POST = {CALIBRATE: ("raw", "calibrated"), SELF_TRAIN: ("before ST", "self-trained")}


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation (n - 1; 0 for one seed) of one metric over seeds."""

    mean: float
    std: float
    count: int


def summarise(values: Sequence[float]) -> Summary:
    """Mean and sample standard deviation of ``values`` (at least one)."""
    count = len(values)
    mean = sum(values) / count
    variance = sum((v - mean) ** 2 for v in values) / (count - 1) if count > 1 else 0.0
    return Summary(mean, math.sqrt(variance), count)


def group_by_variant(records: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    """Records per variant, variants in their first-appearance order, seeds ascending."""
    groups: dict[str, list] = {}
    for record in records:
        groups.setdefault(record.variant, []).append(record)
    return {name: sorted(group, key=lambda r: r.seed) for name, group in groups.items()}


def summary_table(
    records: Sequence[RunRecord], before_post: bool = False
) -> dict[str, dict[str, Summary]]:
    """{variant: {metric: Summary}} of the final numbers (or those before post-processing)."""
    table = {}
    for name, group in group_by_variant(records).items():
        runs = [r.before_post if before_post else r.metrics for r in group]
        if any(run is None for run in runs):
            continue
        table[name] = {key: summarise([run[key] for run in runs]) for key in METRIC_KEYS}
    return table


def results_csv(records: Sequence[RunRecord]) -> str:
    """One row per run: the final numbers, those before post-processing and where it lives."""
    fields = ["variant", "seed", "post", "paper_row", *METRIC_KEYS]
    fields += [f"before_post_{key}" for key in METRIC_KEYS] + ["details", "wall_s", "run_dir"]
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = {
            "variant": record.variant,
            "seed": record.seed,
            "post": record.post,
            "paper_row": VARIANTS[record.variant].row if record.variant in VARIANTS else "",
            "details": json.dumps(record.details, sort_keys=True) if record.details else "",
            "wall_s": f"{record.wall_s:.2f}",
            "run_dir": str(record.run_dir),
        }
        row.update({key: repr(float(record.metrics[key])) for key in METRIC_KEYS})
        for key in METRIC_KEYS:
            before = record.before_post
            row[f"before_post_{key}"] = "" if before is None else repr(float(before[key]))
        writer.writerow(row)
    return stream.getvalue()


def _cell(summary: Summary) -> str:
    if summary.count == 1:
        return f"{summary.mean:.4f}"
    return f"{summary.mean:.4f} ± {summary.std:.4f}"


def _header(first: Sequence[str]) -> list[str]:
    titles = [*first, *(title for _, title in COLUMNS)]
    return ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]


def _seeds(group: Sequence[RunRecord]) -> str:
    return ", ".join(str(r.seed) for r in group)


def results_markdown(comparison: Comparison, command: str, chart: bool = True) -> str:
    """results.md: header (command, wall time), the Table 1 layout and the before/after block;
    with ``chart``, a link to results.png, otherwise a line saying how to get it drawn."""
    records = comparison.records
    groups = group_by_variant(records)
    trained_now = sum(not r.skipped for r in records)
    lines = [
        "# cagnet compare",
        "",
        f"- command: `{command}`" if command else "- command: (called from Python)",
        f"- wall time: {comparison.wall_s:.1f} s for this invocation ({trained_now} runs done "
        f"now, {len(records) - trained_now} finished earlier and skipped); the runs' own times "
        f"sum to {sum(r.wall_s for r in records):.1f} s",
        "- cells: mean ± sample standard deviation (n - 1) over the seeds listed; fractions, "
        "not percentages",
        f"- runs: `{comparison.output_dir / 'runs'}`; every run is one row of results.csv",
        "",
        "## Results in the paper's Table 1 layout",
        "",
        *_header(["variant", "paper row", "seeds"]),
    ]
    finals = summary_table(records)
    for name, group in groups.items():
        row = VARIANTS[name].row if name in VARIANTS else ""
        cells = [name, row, _seeds(group), *(_cell(finals[name][k]) for k in METRIC_KEYS)]
        lines.append("| " + " | ".join(cells) + " |")
    befores = summary_table(records, before_post=True)
    if befores:
        lines += [
            "",
            "## Before and after post-processing (raw and calibrated, before and after ST)",
            "",
            *_header(["variant", "numbers", "seeds"]),
        ]
        for name, before in befores.items():
            group = groups[name]
            raw_name, post_name = BEFORE_POST.get(group[0].post, ("before", "after"))
            for label, table in ((raw_name, before), (post_name, finals[name])):
                cells = [name, label, _seeds(group), *(_cell(table[k]) for k in METRIC_KEYS)]
                lines.append("| " + " | ".join(cells) + " |")
        details = [(r.variant, r.seed, r.details) for r in records if r.details]
        if details:
            lines += ["", "Post-processing details per run:", ""]
            lines += [
                f"- {name} seed {seed}: "
                + ", ".join(f"{key} = {value}" for key, value in sorted(info.items()))
                for name, seed, info in details
            ]
    if chart:
        picture = "![seen mIoU, unseen mIoU and hIoU per variant, mean with ± std error bars]"
        lines += ["", picture + "(results.png)", ""]
    else:
        lines += ["", "No chart: matplotlib is not installed (pip install 'cagnet[plots]').", ""]
    return "\n".join(lines)


def write_reports(comparison: Comparison, command: str = "") -> None:
    """results.csv, results.md and results.png in ``comparison.output_dir``, atomically."""
    folder = comparison.output_dir
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "results.csv", results_csv(comparison.records))
    table = summary_table(comparison.records)
    chart = save_chart(folder / "results.png", table)
    if chart is None:  # a chart of an earlier invocation would not show these numbers
        (folder / "results.png").unlink(missing_ok=True)
    markdown = results_markdown(comparison, command, chart=chart is not None)
    atomic_write_text(folder / "results.md", markdown)
