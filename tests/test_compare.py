"""``cagnet compare`` end to end: runs, results.csv, results.md, results.png, skipping, resuming."""

import csv
import json
import statistics

import numpy as np
import pytest
from helpers import small_overrides
from PIL import Image

from cagnet.cli import demo_config_path, main
from cagnet.compare import post
from cagnet.compare.chart import chart_size
from cagnet.compare.records import flat_metrics
from cagnet.compare.report import COLUMNS, METRIC_KEYS
from cagnet.compare.run import RECORD_NAME, compare, plan
from cagnet.compare.variants import VARIANTS as VARIANT_TABLE
from cagnet.config import load_config
from cagnet.errors import ConfigError, RunFolderError
from cagnet.training.checkpoint import load_checkpoint
from cagnet.training.loop import train

VARIANTS = ["cagnet", "table2/ec"]
DEMO = demo_config_path()  # the packaged demo config
FOLDERS = {"cagnet": "cagnet", "table2/ec": "table2_ec", "cagnet+st": "cagnet", "spnet-c": "spnet"}
SEEDS = [0, 1]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """Two variants x two seeds through the command line, as a user would run them."""
    tmp_path = tmp_path_factory.mktemp("compare")
    output = tmp_path / "out"
    arguments = ["compare", str(DEMO), "--variants", ",".join(VARIANTS)]
    arguments += ["--seeds", "0,1", "--output", str(output), "--quiet"]
    for override in small_overrides(tmp_path):
        arguments += ["--set", override]
    assert main(arguments) == 0
    return tmp_path, output


def _run_metrics(output, variant, seed):
    path = output / "runs" / FOLDERS[variant] / f"seed{seed}" / "metrics.json"
    return flat_metrics(json.loads(path.read_text()))


def _csv_rows(output):
    with (output / "results.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_one_run_folder_and_one_csv_row_per_variant_and_seed(compared):
    _, output = compared
    rows = _csv_rows(output)
    assert [(r["variant"], int(r["seed"])) for r in rows] == [
        (v, s) for v in VARIANTS for s in SEEDS
    ]
    for row in rows:
        metrics = _run_metrics(output, row["variant"], int(row["seed"]))
        assert {key: float(row[key]) for key in METRIC_KEYS} == metrics
        assert (output / "runs" / FOLDERS[row["variant"]] / f"seed{row['seed']}").samefile(
            row["run_dir"]
        )
    # The seeds train differently: the runs are not copies of one another.
    assert _run_metrics(output, "cagnet", 0) != _run_metrics(output, "cagnet", 1)


def _markdown_rows(output):
    lines = (output / "results.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| variant | paper row"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip("|").split("|")])
    return lines, table


def test_markdown_has_table1_layout_with_mean_and_sample_std(compared):
    _, output = compared
    lines, table = _markdown_rows(output)
    header, rule, *rows = table
    assert header == ["variant", "paper row", "seeds", *(title for _, title in COLUMNS)]
    assert set(rule) == {"---"} and len(rule) == len(header)
    assert [row[0] for row in rows] == VARIANTS
    text = "\n".join(lines)
    assert f"- command: `cagnet compare {DEMO} --variants cagnet,table2/ec --seeds 0,1" in text
    assert "wall time:" in text and "4 runs done now" in text
    for row in rows:
        assert row[2] == "0, 1"
        for (key, _), cell in zip(COLUMNS, row[3:], strict=True):
            values = [_run_metrics(output, row[0], seed)[key] for seed in SEEDS]
            mean, std = statistics.mean(values), statistics.stdev(values)
            assert cell == f"{mean:.4f} ± {std:.4f}", (row[0], key, values)


def test_bar_chart_png_has_the_expected_size(compared):
    _, output = compared
    with Image.open(output / "results.png") as image:
        assert image.format == "PNG"
        assert image.size == chart_size(len(VARIANTS)) == (600, 460)  # the minimum width
        colours = np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)
        assert len(colours) > 5  # bars and text, not a blank image
    assert chart_size(7) == (90 + 150 * 7, 460)  # wider with more variants


def test_without_matplotlib_the_report_links_no_chart_and_no_stale_chart_is_left(
    compared, monkeypatch
):
    import sys

    from cagnet import plots

    tmp_path, output = compared
    config = load_config(DEMO, small_overrides(tmp_path))
    assert "](results.png)" in (output / "results.md").read_text()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setattr(plots, "_skip_said", False)
    compare(config, VARIANTS, SEEDS, output, progress=False)
    text = (output / "results.md").read_text()
    assert "results.png" not in text and "matplotlib is not installed" in text
    assert not (output / "results.png").exists()  # the earlier chart showed older numbers
    monkeypatch.undo()
    compare(config, VARIANTS, SEEDS, output, progress=False)  # drawn again for the next tests
    assert (output / "results.png").is_file()


def test_rerun_skips_finished_runs_without_touching_them(compared, capsys):
    tmp_path, output = compared
    folders = sorted(p for p in (output / "runs").glob("*/*"))
    stamps = {p: (p / "checkpoint.pt").stat().st_mtime_ns for p in folders}
    config = load_config(DEMO, small_overrides(tmp_path))
    result = compare(config, VARIANTS, SEEDS, output, progress=False)
    assert all(record.skipped for record in result.records)
    assert "finished earlier, skipped" in capsys.readouterr().out
    assert sorted(p for p in (output / "runs").glob("*/*")) == folders
    assert {p: (p / "checkpoint.pt").stat().st_mtime_ns for p in folders} == stamps
    assert "0 runs done now, 4 finished earlier" in (output / "results.md").read_text()


def test_interrupted_runs_resume_and_no_folder_with_files_is_reused(tmp_path):
    config = load_config(None, small_overrides(tmp_path, iterations=6))
    output = tmp_path / "out"
    runs = output / "runs" / "cagnet"
    (run,) = plan(config, ["cagnet"], [3], output)
    train(run.config, run_dir=run.folder, progress=False, stop_after=2)  # "interrupted"
    (runs / "seed4").mkdir(parents=True)  # failed before writing anything
    (runs / "seed5").mkdir()  # died before its first checkpoint, a file left behind
    (runs / "seed5" / "notes.txt").write_text("keep me")
    result = compare(config, ["cagnet"], [3, 4, 5], output, progress=False)
    resumed, empty, restarted = result.records
    assert resumed.run_dir == run.folder and not resumed.skipped
    assert load_checkpoint(run.folder / "checkpoint.pt")["iteration"] == 6
    assert empty.run_dir == runs / "seed4" and (empty.run_dir / RECORD_NAME).is_file()
    assert restarted.run_dir == runs / "seed5-1" and (restarted.run_dir / RECORD_NAME).is_file()
    assert [p.name for p in (runs / "seed5").iterdir()] == ["notes.txt"]


def test_a_run_folder_of_another_config_is_never_reused(tmp_path):
    config = load_config(None, small_overrides(tmp_path, iterations=2))
    output = tmp_path / "out"
    compare(config, ["table2/ec"], [0], output, progress=False)
    changed = load_config(None, [*small_overrides(tmp_path, iterations=2), "train.lr=0.1"])
    with pytest.raises(RunFolderError, match="train.lr"):
        compare(changed, ["table2/ec"], [0], output, progress=False)


def test_unknown_variant_is_an_error_listing_the_known_ones(tmp_path, capsys):
    arguments = ["compare", str(DEMO), "--variants", "cagnet,fancy"]
    assert main([*arguments, "--output", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "unknown variant 'fancy'" in error and "table3/mask" in error
    assert not (tmp_path / "out").exists()  # nothing ran


def test_a_variant_whose_method_or_post_step_is_missing_fails_before_any_run(tmp_path, monkeypatch):
    config = load_config(None, small_overrides(tmp_path, iterations=2))
    from cagnet import methods

    monkeypatch.delitem(methods.METHODS, "spnet", raising=False)
    with pytest.raises(ConfigError, match="model.method='spnet'.*available methods: .*cagnet"):
        compare(config, ["cagnet", "spnet"], [0], tmp_path / "out", progress=False)
    monkeypatch.setitem(post.PROVIDERS, "self_train", ("cagnet.not_there", "self_train"))
    with pytest.raises(ConfigError, match="cagnet.not_there.self_train"):
        compare(config, ["cagnet", "cagnet+st"], [0], tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "runs").exists()


def test_a_config_a_method_rejects_fails_before_any_run(tmp_path):
    # ZS3Net's stages (1 + 300 + 300 by default) do not add up to train.iterations (2).
    config = load_config(None, small_overrides(tmp_path, iterations=2))
    with pytest.raises(ConfigError, match="variant 'zs3net' .*make train.iterations the sum"):
        compare(config, ["cagnet", "zs3net"], [0], tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "runs").exists()


def test_calibration_and_self_training_report_numbers_before_and_after(tmp_path):
    config = load_config(DEMO, small_overrides(tmp_path, iterations=4))
    output = tmp_path / "out"
    result = compare(config, ["spnet-c", "cagnet+st", "cagnet-c", "cagnet"], [0], output, False)
    calibrated, self_trained, cagnet_calibrated, cagnet = result.records
    folder = calibrated.run_dir
    raw = flat_metrics(json.loads((folder / "metrics.json").read_text()))
    after = json.loads((folder / "metrics-calibrated.json").read_text())
    gamma = json.loads((folder / "calibration.json").read_text())["gamma"]
    assert calibrated.before_post == raw
    assert calibrated.metrics == flat_metrics(after.get("calibrated", after))
    assert calibrated.details["gamma"] == pytest.approx(gamma, abs=1e-6)
    choice = json.loads((folder / "calibration.json").read_text())
    assert ("proxy_gamma" in calibrated.details) == ("proxy_gamma" in choice)
    st_metrics = json.loads((self_trained.run_dir / "self-training" / "metrics.json").read_text())
    assert self_trained.metrics == flat_metrics(st_metrics)
    assert self_trained.before_post == _run_metrics(output, "cagnet+st", 0)
    text = (output / "results.md").read_text()
    for label in ("| spnet-c | raw |", "| spnet-c | calibrated |", "| cagnet+st | before ST |"):
        assert label in text
    assert "spnet-c seed 0: gamma = " in text
    rows = _csv_rows(output)
    assert float(rows[0]["before_post_hiou"]) == raw["hiou"] and rows[0]["post"] == "calibrate"
    again = compare(config, ["spnet-c", "cagnet+st"], [0], output, progress=False)
    assert all(r.skipped for r in again.records) and again.records[0].metrics == calibrated.metrics


def test_post_processed_variants_share_the_training_run_of_their_base(tmp_path):
    config = load_config(DEMO, small_overrides(tmp_path, iterations=4))
    output = tmp_path / "out"
    records = compare(config, ["cagnet-c", "cagnet+st", "cagnet"], [0], output, False).records
    calibrated, self_trained, cagnet = records
    folder = output / "runs" / "cagnet" / "seed0"
    assert [p.name for p in (output / "runs").iterdir()] == ["cagnet"]  # one model trained
    assert {r.run_dir for r in records} == {folder}
    names = {"compare.json", "compare-cagnet-c.json", "compare-cagnet+st.json"}
    assert names <= {p.name for p in folder.iterdir()}
    assert calibrated.before_post == self_trained.before_post == cagnet.metrics
    assert cagnet.skipped is False and cagnet.wall_s < calibrated.wall_s  # read, not trained
    text = (output / "results.md").read_text()
    assert "| cagnet-c | raw |" in text and "| cagnet-c | calibrated |" in text


def test_list_shows_every_variant_with_its_paper_row(capsys):
    assert main(["compare", "--list"]) == 0
    out = capsys.readouterr().out
    for name, variant in VARIANT_TABLE.items():
        assert f"{name} " in out and variant.row in out
