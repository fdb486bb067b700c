"""ONNX export checked against PyTorch on real images, and time per image in each.

Exports the model's network for the given names, compares the scores on the images (targets:
max abs difference <= 1e-3, same argmax on >= 99.9 % of pixels) and times one image at a time,
onnxruntime against PyTorch eager, both on ``--threads`` threads (median of the repeats).

    python benchmarks/onnx_speed.py --model camvid-streets --classes car,road,sky,bus,truck \\
        --images ../shared/datasets/camvid/images/val --count 10
"""

import argparse
import tempfile
from pathlib import Path

import torch

from cagnet.deploy.onnx_export import compare_with_torch, export_network, time_per_image
from cagnet.inference import Segmenter
from cagnet.inference.segmenter import image_array


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="camvid-streets")
    parser.add_argument("--classes", default="car,road,sky,bus,truck")
    parser.add_argument("--images", type=Path, required=True, help="folder of .jpg/.png images")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    images = [image_array(p) for p in paths[: args.count]]
    names = [name.strip() for name in args.classes.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        segmenter = Segmenter.load(args.model, cache_dir=Path(folder) / "cache")
        network = segmenter.network(names)
        path = export_network(network, names, Path(folder) / "model.onnx")
        check = compare_with_torch(path, network, images, threads=args.threads)
        onnx_s, torch_s = time_per_image(path, network, images, args.repeats, args.threads)
        size_mb = path.stat().st_size / 1e6
    height, width = images[0].shape[:2]
    print(
        f"model {args.model}, classes {names}, {len(images)} images {width}x{height}, "
        f"ONNX file {size_mb:.1f} MB"
    )
    print(
        f"max abs score difference {check.max_abs_diff:.2e}, same argmax on "
        f"{100 * check.argmax_agreement:.4f} % of {check.pixels} pixels"
    )
    print(
        f"time per image ({args.threads} threads): onnxruntime {1000 * onnx_s:.0f} ms, "
        f"PyTorch eager {1000 * torch_s:.0f} ms"
    )


if __name__ == "__main__":
    main()
