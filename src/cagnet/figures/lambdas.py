"""Supplementary Fig. 1: hIoU against lambda1 (reconstruction) and lambda2 (KL), log axis.

Reads the ``lambda1/<value>`` and ``lambda2/<value>`` variants of a compare folder's
results.csv; each value's seeds are drawn as dots, their mean as the line, +- the sample
standard deviation as error bars.
"""

from pathlib import Path

import numpy as np

from cagnet.errors import ConfigError
from cagnet.figures.methods import read_compare_rows

FAMILIES = {"lambda1": "lambda1 (reconstruction weight)", "lambda2": "lambda2 (KL weight)"}


def lambda_points(compare_dir: Path, metric: str = "hiou") -> dict[str, dict[float, list[float]]]:
    """{family: {lambda: [metric per seed, by seed]}} of the compare folder's lambda variants."""
    rows = read_compare_rows(compare_dir)
    points: dict[str, dict[float, list[tuple[int, float]]]] = {}
    for row in rows:
        family, _, value = row["variant"].partition("/")
        if family in FAMILIES and value:
            entry = points.setdefault(family, {}).setdefault(float(value), [])
            entry.append((int(row["seed"]), float(row[metric])))
    if not points:
        raise ConfigError(
            f"{compare_dir}/results.csv has no lambda1/* or lambda2/* variant; run e.g. "
            "`cagnet compare --variants 'lambda1/*,lambda2/*' --seeds 0,1,2` first"
        )
    return {
        family: {value: [v for _, v in sorted(seeds)] for value, seeds in sorted(values.items())}
        for family, values in sorted(points.items())
    }


def draw_lambdas(points: dict[str, dict[float, list[float]]], metric: str = "hIoU"):
    """One panel per family: the seeds as dots, the mean as a line with std error bars."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(points), figsize=(4.5 * len(points), 3.4), squeeze=False)
    for axis, (family, values) in zip(axes[0], points.items(), strict=True):
        lambdas = np.array(sorted(values))
        means = np.array([np.mean(values[v]) for v in lambdas])
        spread = np.array(
            [np.std(values[v], ddof=1) if len(values[v]) > 1 else 0.0 for v in lambdas]
        )
        for value in lambdas:
            axis.scatter([value] * len(values[value]), values[value], color="grey", s=12, zorder=3)
        axis.errorbar(lambdas, means, yerr=spread, marker="o", capsize=3, label="mean +- std")
        axis.set_xscale("log")
        axis.set_xlabel(FAMILIES[family])
        axis.set_ylabel(metric)
        seeds = sorted({len(v) for v in values.values()})
        axis.set_title(f"{family}: {'/'.join(map(str, seeds))} seed(s) per value", fontsize=9)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
