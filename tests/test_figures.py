"""`cagnet figures`: the content of every kind, on a tiny SPNet-c, ZS3Net, CaGNet comparison."""

import json

import numpy as np
import pytest
import torch
from helpers import small_overrides

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")

from cagnet.cli import demo_config_path, main  # noqa: E402
from cagnet.compare.report import results_csv  # noqa: E402
from cagnet.compare.run import RunRecord, compare  # noqa: E402
from cagnet.config import load_config  # noqa: E402
from cagnet.errors import ConfigError  # noqa: E402
from cagnet.figures.clusters import cluster_class  # noqa: E402
from cagnet.figures.common import images_with, load_run, val_image  # noqa: E402
from cagnet.figures.lambdas import draw_lambdas, lambda_points  # noqa: E402
from cagnet.figures.methods import methods_grid  # noqa: E402
from cagnet.figures.reconstruction import reconstruction  # noqa: E402
from cagnet.figures.scales import selected_scales  # noqa: E402
from cagnet.models.pixelwise import to_pixels  # noqa: E402

ZS3NET_STAGES = ["zs3net.generator_iterations=2", "zs3net.classifier_iterations=1"]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A compare folder with one tiny run of SPNet-c, ZS3Net and CaGNet (seed 0)."""
    tmp_path = tmp_path_factory.mktemp("figures")
    config = load_config(demo_config_path(), [*small_overrides(tmp_path), *ZS3NET_STAGES])
    output = tmp_path / "compare"
    compare(config, ["spnet-c", "zs3net", "cagnet"], [0], output, progress=False)
    return output


@pytest.fixture(scope="module")
def cagnet_run(compared):
    return load_run(compared / "runs" / "cagnet" / "seed0")


def _largest_class(run):
    """The class with the most pixels at feature resolution over the val images."""
    counts = np.zeros(run.data.split.num_classes, dtype=np.int64)
    for index in range(len(run.data.val)):
        image = val_image(run.data, index)
        size = tuple(run.model.encoder(image.inputs).features.shape[-2:])
        label = image.label_at(size).numpy()
        counts += np.bincount(label[label < len(counts)], minlength=len(counts))
    return int(counts.argmax())


def test_cluster_labels_partition_the_class_pixels(cagnet_run):
    class_id = _largest_class(cagnet_run)
    name = cagnet_run.data.split.class_names[class_id]
    result = cluster_class(cagnet_run, name, "X", count=0)
    assert [im.index for im in result.images] == images_with(cagnet_run.data, [class_id], 0)
    pooled = []
    for row, image in enumerate(result.images):
        encoded = cagnet_run.model.encoder(image.inputs)
        mask = (image.label_at(tuple(encoded.features.shape[-2:])) == class_id).numpy()
        pooled.append(to_pixels(encoded.features)[torch.from_numpy(mask).flatten()].detach())
        for k in (2, 5):
            cluster_map = result.maps[k][row]
            assert np.array_equal(cluster_map >= 0, mask)  # exactly the class's pixels
            assert set(np.unique(cluster_map[mask])) <= set(range(k))
    pooled = torch.cat(pooled).numpy()
    for k in (2, 5):
        labels = np.concatenate([m[m >= 0] for m in result.maps[k]])
        assert len(labels) == len(pooled) and set(labels) == set(range(k))  # every cluster used
        # Each pixel sits in the cluster whose mean is nearest: a K-means partition.
        centres = np.stack([pooled[labels == c].mean(axis=0) for c in range(k)])
        nearest = ((pooled[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        assert (nearest == labels).mean() > 0.95


def test_scale_map_is_the_selectors_argmax_in_0_1_2(cagnet_run):
    result = selected_scales(cagnet_run, [0, 1, 2])
    expected_histogram = np.zeros_like(result.histogram)
    for image, chosen in zip(result.images, result.maps, strict=True):
        weights = cagnet_run.model.encoder(image.inputs).context.scale_weights[0]
        assert weights.shape[0] == 3
        assert set(np.unique(chosen)) <= {0, 1, 2}
        assert np.array_equal(chosen, weights.argmax(0).numpy())
        label = image.label_at(chosen.shape).numpy()
        for k in range(expected_histogram.shape[0]):
            for s in range(3):
                expected_histogram[k, s] += int(((label == k) & (chosen == s)).sum())
    assert np.array_equal(result.histogram, expected_histogram)


@torch.no_grad()
def test_reconstruction_table_with_cm_equals_a_direct_computation(cagnet_run):
    run = cagnet_run
    table_images = list(range(len(run.data.val)))
    result = reconstruction(run, [0], table_images, seed=0)
    unseen = set(run.data.split.unseen)
    losses = {"seen": [], "unseen": []}
    for index in table_images:
        image = val_image(run.data, index)
        encoded = run.model.encoder(image.inputs)
        label = image.label_at(tuple(encoded.features.shape[-2:]))
        for y, x in zip(*np.nonzero(label.numpy() < run.data.split.num_classes), strict=True):
            code = encoded.context.mu[:, :, y, x]  # (1, l)
            fake = run.model.generator(code, run.model.class_embeddings[label[y, x]][None])
            distance = float(torch.sqrt(((fake - encoded.features[:, :, y, x]) ** 2).sum()))
            losses["unseen" if int(label[y, x]) in unseen else "seen"].append(distance)
    for group in ("seen", "unseen"):
        assert losses[group], f"the tiny val set has no {group} pixel"
        assert result.table["with CM"][group] == pytest.approx(np.mean(losses[group]), rel=1e-5)
    # Noise is another code: its loss differs; the map holds one value per labelled pixel.
    assert result.table["w/o CM"]["seen"] != pytest.approx(result.table["with CM"]["seen"])
    first = result.maps["with CM"][0]
    assert np.isfinite(first).sum() == (result.images[0].label_at(first.shape) < 255).sum()


def test_methods_grid_rows_hold_unseen_pixels_and_columns_are_each_method(compared, cagnet_run):
    grid = methods_grid(compared, count=10)
    data = cagnet_run.data
    with_unseen = [
        i for i in range(len(data.val)) if np.isin(data.val.load_label(i), data.split.unseen).any()
    ]
    assert 0 < len(with_unseen) and grid.indices == with_unseen
    assert [c.title for c in grid.columns] == ["SPNet-c", "ZS3Net", "CaGNet"]
    spnet_c = json.loads(
        (compared / "runs" / "spnet" / "seed0" / "compare-spnet-c.json").read_text()
    )
    assert grid.columns[0].gamma == pytest.approx(spnet_c["details"]["gamma"])
    for row, index in enumerate(grid.indices):
        image = val_image(data, index)
        logits = cagnet_run.model.segment(image.inputs)
        upsampled = torch.nn.functional.interpolate(
            logits, size=image.label.shape, mode="bilinear", align_corners=False
        )
        assert np.array_equal(grid.predictions["CaGNet"][row], upsampled.argmax(1)[0].numpy())
        assert np.array_equal(grid.truths[row], image.label.numpy())


def test_lambda_plot_points_are_the_compare_results(tmp_path):
    rng = np.random.default_rng(0)
    records, expected = [], {}
    for family in ("lambda1", "lambda2"):
        for value in ("0.1", "10", "1000"):
            for seed in (0, 1):
                hiou = float(rng.uniform(0.05, 0.4))
                expected.setdefault(family, {}).setdefault(float(value), []).append(hiou)
                metrics = dict.fromkeys(
                    ["seen_miou", "unseen_miou", "overall_miou"]
                    + [
                        f"{g}_{m}"
                        for g in ("overall", "seen", "unseen")
                        for m in ("pixel_accuracy", "mean_accuracy")
                    ],
                    0.5,
                )
                records.append(
                    RunRecord(
                        f"{family}/{value}",
                        seed,
                        "",
                        tmp_path,
                        {**metrics, "hiou": hiou},
                        None,
                        {},
                        1.0,
                    )
                )
    (tmp_path / "results.csv").write_text(results_csv(records))
    points = lambda_points(tmp_path)
    assert points == expected
    figure = draw_lambdas(points)
    for axis, family in zip(figure.axes, ("lambda1", "lambda2"), strict=True):
        line = axis.lines[0]
        assert np.allclose(line.get_xdata(), [0.1, 10, 1000])
        means = [np.mean(expected[family][v]) for v in (0.1, 10, 1000)]
        assert np.allclose(line.get_ydata(), means)
        dots = np.concatenate(
            [c.get_offsets() for c in axis.collections if c.get_offsets().shape[0] == 2]
        )
        assert sorted(dots[:, 1]) == pytest.approx(sorted(sum(expected[family].values(), [])))
        assert axis.get_xscale() == "log"


def test_cli_writes_png_pdf_and_caption_and_never_overwrites(compared, capsys):
    run_dir = compared / "runs" / "cagnet" / "seed0"
    output = compared.parent / "figures"
    arguments = [
        "figures",
        "scales",
        str(run_dir),
        "--images",
        "2",
        "--output",
        str(output),
        "--pdf",
    ]
    assert main(arguments) == 0
    assert {p.name for p in output.iterdir()} == {"scales.png", "scales.pdf", "scales.txt"}
    caption = (output / "scales.txt").read_text()
    assert (
        str(run_dir) in caption and "split: val" in caption and "cagnet figures scales" in caption
    )
    assert (output / "scales.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(arguments) == 2
    assert "exist" in capsys.readouterr().err


def test_kinds_that_need_a_cm_name_the_run_when_it_has_none(compared):
    spnet = load_run(compared / "runs" / "spnet" / "seed0")
    with pytest.raises(ConfigError, match="contextual module.*'scales' needs a CaGNet run"):
        selected_scales(spnet, [0])
    with pytest.raises(ConfigError, match="'reconstruction' needs a CaGNet run"):
        reconstruction(spnet, [0], [0])
