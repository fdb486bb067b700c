"""Issue 4 diagnosis: do CamVid's class embeddings say where the unseen classes' features are?

Usage (from the repository root, with the CamVid copy at ../shared/datasets/camvid)::

    python benchmarks/camvid_embedding_probe.py [--sources glove,minilm] [--seeds 0,1,2] \
        [--config configs/camvid.yaml] [--heading TEXT] [--set KEY=VALUE ...]

``--sources`` lists the embeddings to probe, each alone; ``a+b`` concatenates sources as
``embeddings.sources=[a,b]`` does (e.g. ``glove+minilm:configs/descriptions/camvid.yaml``).
With a config whose ``model.neck.standardize`` is true, the features are standardised per
channel first, as the model's neck does (here with the statistics of all train pixels).

Two probes on the frozen EfficientNet-Lite0 features that ``configs/camvid.yaml`` trains on (the
feature cache; built first if missing), without any network, so that they run in about a minute:

1. Leave one class out. A ridge map from class embedding to class-mean feature is fitted on the
   other seen classes; the held-out class's true mean is ranked among the 11 class means by its
   distance to the prediction (0 = nearest). Random guessing ranks 5 on average. The class means
   come from the **val** labels of all 11 classes: a diagnosis, nothing is chosen with it.
2. A generative linear probe (ZS3Net's recipe reduced to its statistics): features of an unseen
   class = its ridge-predicted mean + residuals of random real seen pixels; a linear classifier
   is trained on the real seen pixels of train plus these; hIoU on val at feature resolution (the
   label at each feature pixel's centre). It runs with the true unseen embedding rows, with car
   and pedestrian swapped, and with random unit vectors in their place. If the embeddings carried
   what the unseen classes look like, swapping or replacing them would cost accuracy. An
   "oracle" row puts the unseen classes' true (val) means where the ridge prediction was: what
   this probe reaches if an embedding located each unseen class's mean exactly.

Results go to the section ``--heading`` (by default "CamVid: what the class embeddings tell
(issue 4)") of benchmarks/RESULTS.md, with the date, machine and command.

The same control for the real model: ``--write-swapped runs/glove-swapped.npy`` only writes the
config's class embeddings with the two unseen rows swapped, for
``cagnet compare configs/camvid.yaml --variants cagnet --seeds 0,1,2 --output
runs/camvid-swapped --set embeddings.sources=[$PWD/runs/glove-swapped.npy]`` (its numbers are in
the CamVid comparison's tuning table).
"""

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from results_file import commit, machine, today, update_section

from cagnet.build import build_data, build_embeddings, prepare_dataset
from cagnet.config import load_config
from cagnet.data.feature_cache import use_feature_cache
from cagnet.data.sample import IGNORE_INDEX
from cagnet.evaluation.metrics import confusion_matrix, report
from cagnet.methods import METHODS

HEADING = "CamVid: what the class embeddings tell (issue 4)"
CONFIG = "configs/camvid_issue4.yaml"
RIDGE = 1.0  # ridge penalty of the embedding -> mean map (rows are unit vectors)
GENERATED_PER_CLASS = 20_000
CLASSIFIER_STEPS, CLASSIFIER_BATCH, CLASSIFIER_LR = 300, 4096, 1e-2


def pixels(reader, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C) features and (N,) labels of every labelled feature pixel of a cached split."""
    features, labels = [], []
    for index in range(len(reader)):
        feature = torch.from_numpy(reader.features(index).astype(np.float32))
        label = torch.from_numpy(reader.load_label(index).astype(np.int64))
        label = label[stride // 2 :: stride, stride // 2 :: stride]
        height = min(label.shape[0], feature.shape[1])
        width = min(label.shape[1], feature.shape[2])
        features.append(feature[:, :height, :width].reshape(feature.shape[0], -1).T)
        labels.append(label[:height, :width].reshape(-1))
    features, labels = torch.cat(features), torch.cat(labels)
    keep = labels != IGNORE_INDEX
    return features[keep], labels[keep]


def class_means(features: torch.Tensor, labels: torch.Tensor, classes: list[int]) -> torch.Tensor:
    """(len(classes), C) mean feature of each class."""
    return torch.stack([features[labels == k].mean(0) for k in classes])


def ridge_map(embeddings: torch.Tensor, means: torch.Tensor) -> tuple:
    """Fit mean ~ (w - w_bar) W + m_bar on a few classes (dual form); returns a predictor."""
    centre_w, centre_m = embeddings.mean(0), means.mean(0)
    gram = (embeddings - centre_w) @ (embeddings - centre_w).T
    weights = (embeddings - centre_w).T @ torch.linalg.solve(
        gram + RIDGE * torch.eye(len(embeddings)), means - centre_m
    )
    return lambda rows: (rows - centre_w) @ weights + centre_m


def leave_one_out_ranks(embeddings, val_means, seen, names) -> dict[str, int]:
    """Rank of each class's true val mean among all class means, from the other seen classes."""
    ranks = {}
    for k in range(len(names)):
        fitted = [j for j in seen if j != k]
        predict = ridge_map(embeddings[fitted], val_means[fitted])
        distances = (val_means - predict(embeddings[k])).norm(dim=1)
        ranks[names[k]] = int((distances < distances[k]).sum())
    return ranks


def generative_probe(embeddings, train, val, seen, unseen, seed: int, unseen_means=None):
    """hIoU report of a linear classifier on real seen + ridge-generated unseen features;
    ``unseen_means`` ((len(unseen), C), optional) replaces the ridge prediction (the oracle)."""
    generator = torch.Generator().manual_seed(seed)
    features, labels = train
    means = torch.zeros(embeddings.shape[0], features.shape[1])
    means[seen] = class_means(features, labels, seen)
    predicted = ridge_map(embeddings[seen], means[seen])(embeddings)
    if unseen_means is not None:
        predicted[unseen] = unseen_means
    fake_features, fake_labels = [features], [labels]
    for k in unseen:
        donors = torch.randint(0, len(labels), (GENERATED_PER_CLASS,), generator=generator)
        fake_features.append(predicted[k] + features[donors] - means[labels[donors]])
        fake_labels.append(torch.full((GENERATED_PER_CLASS,), k))
    inputs, targets = torch.cat(fake_features), torch.cat(fake_labels)
    torch.manual_seed(seed)
    classifier = torch.nn.Linear(inputs.shape[1], embeddings.shape[0])
    optimizer = torch.optim.Adam(classifier.parameters(), lr=CLASSIFIER_LR)
    for _ in range(CLASSIFIER_STEPS):
        batch = torch.randint(0, len(targets), (CLASSIFIER_BATCH,), generator=generator)
        loss = torch.nn.functional.cross_entropy(classifier(inputs[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predictions = classifier(val[0]).argmax(1)
    return report(confusion_matrix(predictions, val[1], embeddings.shape[0]), seen, unseen)


def embedding_controls(embeddings: torch.Tensor, unseen: list[int]) -> dict[str, torch.Tensor]:
    """The true rows, the unseen rows swapped (2 unseen classes), and random unseen rows."""
    swapped = embeddings.clone()
    swapped[unseen] = embeddings[list(reversed(unseen))]
    random_rows = embeddings.clone()
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(len(unseen), embeddings.shape[1], generator=generator)
    random_rows[unseen] = noise / noise.norm(dim=1, keepdim=True)
    return {"true": embeddings, "swapped": swapped, "random": random_rows}


def standardized(train, val) -> tuple:
    """Both splits' features standardised per channel with the train pixels' statistics."""
    mean, std = train[0].mean(0), train[0].std(0).clamp_min(1e-6)
    return ((train[0] - mean) / std, train[1]), ((val[0] - mean) / std, val[1])


def source_list(item: str) -> str:
    """``a+b`` -> ``[a,b]``, the value of ``embeddings.sources`` that concatenates them."""
    return "[" + ",".join(item.split("+")) + "]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument(
        "--sources", default="glove,minilm", help="embedding sources, each alone; a+b concatenates"
    )
    parser.add_argument("--heading", default=HEADING, help="the RESULTS.md section to write")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE")
    parser.add_argument("--seeds", type=lambda t: [int(s) for s in t.split(",")], default=[0, 1, 2])
    parser.add_argument("--write-swapped", type=Path, help="only write swapped embeddings here")
    args = parser.parse_args()
    started = time.perf_counter()
    config = prepare_dataset(load_config(Path(args.config), args.overrides), progress=False)
    data = build_data(config)
    names = list(data.split.class_names)
    seen, unseen = list(data.split.seen), list(data.split.unseen)
    if len(unseen) != 2:
        sys.exit(f"the swap control needs exactly 2 unseen classes, the config has {len(unseen)}")
    if args.write_swapped:
        rows = embedding_controls(build_embeddings(config, names).float(), unseen)["swapped"]
        np.save(args.write_swapped, rows.numpy())
        print(f"wrote {args.write_swapped}: {config.embeddings.sources} rows, unseen swapped")
        return
    model = METHODS["spnet"].build_model(config, build_embeddings(config, names))
    data = use_feature_cache(model, data, config, progress=False)
    stride = model.encoder.backbone.output_stride
    train, val = pixels(data.train, stride), pixels(data.val, stride)
    if config.model.neck.standardize:
        train, val = standardized(train, val)
    val_means = class_means(*val, list(range(len(names))))
    lines = []
    for source in args.sources.split(","):
        source_config = load_config(
            Path(args.config), [*args.overrides, f"embeddings.sources={source_list(source)}"]
        )
        embeddings = build_embeddings(source_config, names).float()
        ranks = leave_one_out_ranks(embeddings, val_means, seen, names)
        lines.append(f"**{source}** ({embeddings.shape[1]}-d)\n")
        lines.append(
            f"- leave-one-class-out rank of the true mean (0 = nearest of {len(names)}, chance "
            f"{(len(names) - 1) / 2:.0f}): mean {np.mean(list(ranks.values())):.1f}; "
            + ", ".join(f"{name} {rank}" for name, rank in ranks.items())
        )
        controls = {
            label: (rows, None) for label, rows in embedding_controls(embeddings, unseen).items()
        }
        controls["oracle (true val means)"] = (embeddings, val_means[unseen])
        for label, (rows, oracle) in controls.items():
            reports = [
                generative_probe(rows, train, val, seen, unseen, s, oracle) for s in args.seeds
            ]
            hious = [r.hiou for r in reports]
            per_class = " / ".join(
                f"{names[k]} " + ", ".join(f"{r.class_iou[k]:.3f}" for r in reports) for k in unseen
            )
            lines.append(
                f"- generative probe, {label} unseen rows: hIoU {np.mean(hious):.3f} ± "
                f"{np.std(hious, ddof=1) if len(hious) > 1 else 0:.3f} "
                f"(seeds {', '.join(f'{h:.3f}' for h in hious)}); IoU {per_class}"
            )
        lines.append("")
    wall_s = time.perf_counter() - started
    command = shlex.join(["python", "benchmarks/camvid_embedding_probe.py", *sys.argv[1:]])
    scale = (
        "standardised per channel (train statistics)" if config.model.neck.standardize else "raw"
    )
    body = (
        f"- date: {today()}; code: {commit()}\n- machine: {machine()}\n"
        f"- command: `{command}` ({wall_s:.0f} s, features from the cache)\n"
        f"- features: {config.model.backbone.name} ({train[0].shape[1]} channels), {scale}\n"
        f"- data: {len(train[1])} labelled train feature pixels (unseen hidden), "
        f"{len(val[1])} val; scores at feature resolution (stride {stride}), val\n\n"
        + "\n".join(lines)
    )
    update_section(args.heading, body)
    print(body)


if __name__ == "__main__":
    main()
