"""How far apart are a trained run's pixel features? For choosing MMD kernel widths.

Usage (from the repository root)::

    python benchmarks/feature_distances.py RUN_DIR [--images 20] [--pixels 3000] [--seed 0]

Loads RUN_DIR/config.yaml and RUN_DIR/checkpoint.pt, runs the encoder (E, and the CM where
the method has one) on the first ``--images`` images of the config's val split, draws
``--pixels`` feature pixels at random and prints the quantiles of their pairwise Euclidean
distances d and of d^2. A Gaussian kernel exp(-d^2 / (2 v)) (ZS3Net's GMMN) or
exp(-d^2 / (2 sigma^2)) (the MMD content loss) only sees pairs whose d^2 is within a few
multiples of its v (resp. sigma^2); kernels far narrower than the median d^2 are flat.
Prints only; nothing is written.
"""

import argparse
from pathlib import Path

import torch

from cagnet.data.transforms import to_tensors
from cagnet.training.loop import load_trained_model, read_run_config

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def encoder_pixels(run: Path, images: int) -> torch.Tensor:
    """(P, C) encoder features of every feature pixel of the first ``images`` val images."""
    config = read_run_config(run)
    model, data, _ = load_trained_model(config, run / "checkpoint.pt", torch.device("cpu"))
    rows = []
    with torch.no_grad():
        for index in range(min(images, len(data.val))):
            image, _ = to_tensors(data.val[index])
            output = model.encoder(image[None])
            features = output[0] if isinstance(output, tuple) else output
            features = getattr(features, "features", features)
            rows.append(features[0].flatten(1).T)
    return torch.cat(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a run folder with config.yaml and checkpoint.pt")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--pixels", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name in ("config.yaml", "checkpoint.pt"):
        if not (args.run / name).is_file():
            raise SystemExit(f"{args.run / name}: missing; give a finished run's folder")
    pixels = encoder_pixels(args.run, args.images)
    generator = torch.Generator().manual_seed(args.seed)
    chosen = pixels[torch.randperm(len(pixels), generator=generator)[: args.pixels]]
    distances = torch.cdist(chosen, chosen)
    distances = distances[torch.triu(torch.ones_like(distances, dtype=torch.bool), diagonal=1)]
    levels = torch.tensor(QUANTILES, dtype=distances.dtype)
    d = torch.quantile(distances, levels)
    print(f"{args.run}: {len(chosen)} of {len(pixels)} feature pixels, {pixels.shape[1]} channels")
    print(f"feature norm, median: {pixels.norm(dim=1).median().item():.2f}")
    print("quantile " + " ".join(f"{q:>8.2f}" for q in QUANTILES))
    print("d        " + " ".join(f"{v:>8.2f}" for v in d.tolist()))
    print("d^2      " + " ".join(f"{v:>8.1f}" for v in (d**2).tolist()))


if __name__ == "__main__":
    main()
