"""Issue 10's targets: model load, adapting to 5 new names, predict s/image at batch 8.

    OMP_NUM_THREADS=1 python benchmarks/predict_speed.py \
        --images ../shared/datasets/camvid/images/val

Prints a Markdown block for benchmarks/RESULTS.md. Also counts the multiply-adds of E, of the
neck (when the model has one) and of the CM on one 480x360 image (FlopCounterMode: FLOP / 2).
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from cagnet.inference import Segmenter
from cagnet.inference.segmenter import image_array

NEW_NAMES = ["bus", "truck", "bicycle", "dog", "traffic light"]


def gmac(module, tensor) -> float:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(tensor)
    return counter.get_total_flops() / 2e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="camvid-streets")
    parser.add_argument("--images", type=Path, required=True, help="a folder of 480x360 images")
    parser.add_argument("--count", type=int, default=24, help="images timed (after a warm-up)")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)

    started = time.perf_counter()
    segmenter = Segmenter.load(args.model, cache_dir=Path(tempfile.mkdtemp()))
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    segmenter.adapt([*segmenter.class_names, *NEW_NAMES])
    adapt_s = time.perf_counter() - started

    paths = sorted(args.images.glob("*.*"))[: args.count + args.batch_size]
    arrays = [image_array(p) for p in paths]
    segmenter.predict_batch(arrays[: args.batch_size], batch_size=args.batch_size)  # warm-up
    timed = arrays[args.batch_size :]
    started, cpu_started = time.perf_counter(), time.process_time()
    segmenter.predict_batch(timed, batch_size=args.batch_size)
    per_image = (time.perf_counter() - started) / len(timed)
    cpu_per_image = (time.process_time() - cpu_started) / len(timed)  # one thread: CPU-s

    model = segmenter.model
    image = torch.zeros(1, 3, *arrays[0].shape[:2])
    backbone = gmac(model.encoder.backbone, image)
    with torch.no_grad():
        features = model.encoder.backbone(image)
    neck = model.encoder.neck
    neck_gmac = gmac(neck, features) if neck is not None else 0.0
    if neck is not None:
        with torch.no_grad():
            features = neck(features)
    contextual = model.encoder.contextual_module
    cm = gmac(contextual, features) if contextual is not None else 0.0
    print(
        f"| model load (incl. backbone from the wheel) | {load_s:.2f} s | <= 2 s |\n"
        f"| adapt to 5 new names ({', '.join(NEW_NAMES)}) + the 11 own, incl. GloVe lookup "
        f"| {adapt_s:.2f} s | <= 10 s |\n"
        f"| predict {arrays[0].shape[1]}x{arrays[0].shape[0]}, batch {args.batch_size}, "
        f"steady state, {len(timed)} images | {per_image:.3f} s/image wall, "
        f"{cpu_per_image:.3f} CPU-s/image | <= 0.5 s |\n"
        f"\nMultiply-adds per {arrays[0].shape[1]}x{arrays[0].shape[0]} image: "
        f"E {backbone:.2f} GMAC, neck {neck_gmac:.2f} GMAC, CM {cm:.2f} GMAC."
    )


if __name__ == "__main__":
    main()
