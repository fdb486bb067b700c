"""Evaluate a trained model on the config's validation split and write the results."""

import json
import math
from pathlib import Path

import torch

from cagnet.atomic import atomic_write_text
from cagnet.config import Config
from cagnet.data.transforms import denormalise
from cagnet.evaluation.calibration import calibration_title, evaluate_calibrated
from cagnet.evaluation.evaluator import evaluate
from cagnet.evaluation.metrics import Report
from cagnet.evaluation.test_time import configured_segment
from cagnet.visualize import save_panel, spread_indices


def format_table(report: Report, title: str = "") -> str:
    """The paper's Table 1 layout in Markdown: hIoU, then mIoU, pixel and mean accuracy."""
    header = (
        "| hIoU | mIoU | pixel acc. | mean acc. | seen mIoU | seen pixel acc. | seen mean acc. "
        "| unseen mIoU | unseen pixel acc. | unseen mean acc. |\n|" + "---|" * 10
    )
    values = [report.hiou]
    for group in (report.overall, report.seen, report.unseen):
        values += [group.miou, group.pixel_accuracy, group.mean_accuracy]
    row = "| " + " | ".join(f"{v:.4f}" for v in values) + " |"
    return (f"{title}\n\n" if title else "") + header + "\n" + row + "\n"


def format_class_iou(report: Report, class_names, unseen) -> str:
    lines = ["| class | split | IoU |", "|---|---|---|"]
    for index, (name, iou) in enumerate(zip(class_names, report.class_iou, strict=True)):
        value = "absent" if math.isnan(iou) else f"{iou:.4f}"
        lines.append(f"| {name} | {'unseen' if index in unseen else 'seen'} | {value} |")
    return "\n".join(lines) + "\n"


def overlay_name(reader, index: int) -> str:
    """``<image stem>.png`` (the sample's name; ``<index>.png`` when it has none)."""
    name = str(getattr(reader[index], "name", "") or f"{index:05d}")
    return Path(name).name.replace(" ", "_") + ".png"


def evaluate_and_save(
    model: torch.nn.Module,
    data,
    config: Config,
    folder: Path,
    device: torch.device,
    tag: str = "final",
    overlays: bool = False,
    progress: bool = True,
) -> Report:
    """Score ``model`` on ``data.val``; write ``metrics[-tag].json``/``.md`` and overlay PNGs.

    With ``eval.max_images`` > 0 only the first images are used, and the files say so.
    """
    model.eval()
    count = len(data.val)
    limit = config.eval.max_images
    indices = list(range(count if limit <= 0 else min(limit, count)))
    split = data.split
    overlay_dir = Path(folder) / "overlays"
    # Spread over the split: consecutive images of a video split are nearly the same frame.
    chosen = spread_indices(len(indices), config.eval.num_overlays) if overlays else []
    wanted = {indices[position] for position in chosen}

    def draw(images, predictions, labels, batch_indices):
        for k, index in enumerate(batch_indices):
            if index not in wanted:
                continue
            overlay_dir.mkdir(exist_ok=True)
            height, width = labels[k].shape
            if config.feature_cache.enabled:  # the inputs are cached features: read the image
                picture = data.val[index].image
                height, width = picture.shape[:2]
            else:
                picture = denormalise(images[k][:, :height, :width])
            save_panel(
                overlay_dir / overlay_name(data.val, index),
                picture,
                labels[k, :height, :width].cpu().numpy(),
                predictions[k, :height, :width].cpu().numpy(),
                split.class_names,
                split.unseen,
            )

    # Warp / multi-scale / flip as configured (eval.*); model.segment itself by default.
    segment = configured_segment(model.segment, config.eval)
    report, confusion = evaluate(
        segment,
        data.val,
        split,
        device,
        resolution=config.eval.resolution,
        batch_size=config.eval.batch_size,
        indices=indices,
        progress=progress,
        on_batch=draw if wanted else None,
        valid_classes=getattr(data.val, "valid_classes", None),
    )
    subset = "" if len(indices) == count else f" (first {len(indices)} of {count} images)"
    payload = {
        "dataset": config.dataset.kind,
        "split": config.dataset.val_split,
        "images_evaluated": len(indices),
        "images_in_split": count,
        "resolution": config.eval.resolution,
        "test_time": {
            "warp_size": config.eval.warp_size,
            "scales": list(config.eval.scales),
            "flip": config.eval.flip,
            "scale_reduce": config.eval.scale_reduce,
        },
        "torch_threads": torch.get_num_threads(),  # CPU results depend on it (see README)
        "class_names": list(split.class_names),
        "unseen_classes": [split.class_names[i] for i in split.unseen],
        **report.as_dict(),
        "confusion": confusion.tolist(),
    }
    calibrated_report = None
    if config.calibration.gamma != 0.0:  # raw stays at the top level; calibrated beside it
        calibrated_report, payload["calibrated"] = evaluate_calibrated(
            segment, data.val, split, device, config, indices, progress
        )
    suffix = "" if tag == "final" else f"-{tag}"
    atomic_write_text(Path(folder) / f"metrics{suffix}.json", json.dumps(payload, indent=1))
    title = f"{config.name}: {config.dataset.kind} {config.dataset.val_split}{subset}"
    text = (
        format_table(report, title)
        + "\n"
        + format_class_iou(report, split.class_names, split.unseen)
    )
    if calibrated_report is not None:
        text += "\n" + format_table(calibrated_report, calibration_title(config))
    atomic_write_text(Path(folder) / f"metrics{suffix}.md", text)
    return report
