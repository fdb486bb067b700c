"""Time `cagnet demo` and record its numbers in RESULTS.md.

Usage: python benchmarks/demo_benchmark.py [--set key=value ...]

Runs what `cagnet demo` runs (src/cagnet/configs/demo.yaml), measures the
wall time from start to metrics (data generation included when the data is not there yet) and
rewrites the section "Embedded benchmark: cagnet demo" of benchmarks/RESULTS.md.
"""

import argparse
import json
import time

from results_file import commit, machine, today, update_section

from cagnet.cli import demo_config_path
from cagnet.config import load_config
from cagnet.evaluation.metrics import Report
from cagnet.evaluation.run import format_class_iou, format_table
from cagnet.training.loop import train


def main() -> None:
    parser = argparse.ArgumentParser(description="Time cagnet demo and record its numbers.")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    config = load_config(demo_config_path(), args.overrides)
    started = time.perf_counter()
    result = train(config, progress=False)
    minutes = (time.perf_counter() - started) / 60
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    report = Report.from_dict(metrics)
    names = metrics["class_names"]
    unseen = [names.index(name) for name in metrics["unseen_classes"]]
    sets = "".join(f" --set {o}" for o in args.overrides)
    body = (
        f"- date: {today()}; code: {commit()}\n"
        f"- machine: {machine()}\n"
        f"- command: `python benchmarks/demo_benchmark.py{sets}` (the same run as "
        f"`cagnet demo{sets}`)\n"
        f"- wall time: {minutes:.1f} min ({config.train.iterations} iterations; evaluation on all "
        f"{metrics['images_evaluated']} val images at label resolution)\n\n"
        + format_table(report)
        + "\n"
        + format_class_iou(report, names, unseen)
    )
    update_section("Embedded benchmark: cagnet demo", body)
    print(body)


if __name__ == "__main__":
    main()
