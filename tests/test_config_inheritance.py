"""Config files that name a ``base:``: field-by-field merge, chains, cycles, errors naming files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cagnet.config import load_config
from cagnet.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def layered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(
        tmp_path / "configs" / "base" / "data.yaml",
        "name: base\ntrain:\n  iterations: 100\n  lr: 0.1\n"
        "model:\n  backbone:\n    multi_scale: [1.0, 0.5]\n    out_channels: 48\n",
    )
    child = write(
        tmp_path / "configs" / "row.yaml",
        "base: base/data.yaml\nname: row\ntrain:\n  iterations: 50\n"
        "model:\n  backbone:\n    multi_scale: [1.0]\n",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the base is found relative to the file, not the cwd
    return child


def test_nested_fields_merge_and_scalars_and_lists_replace(layered: Path) -> None:
    config = load_config(layered)
    assert config.name == "row"
    assert config.train.iterations == 50 and config.train.lr == 0.1
    assert config.model.backbone.multi_scale == (1.0,)  # the list replaces, not appends
    assert config.model.backbone.out_channels == 48  # a sibling of a replaced field survives


def test_a_chain_of_bases_and_overrides_on_top(layered: Path) -> None:
    grandchild = write(layered.parent / "rows" / "long.yaml", "base: ../row.yaml\nname: long\n")
    config = load_config(grandchild, ["train.lr=0.5"])
    assert (config.name, config.train.iterations, config.train.lr) == ("long", 50, 0.5)
    assert config.model.backbone.out_channels == 48


def test_a_cycle_is_an_error_naming_the_files(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(ConfigError, match=r"cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        load_config(tmp_path / "a.yaml")
    write(tmp_path / "self.yaml", "base: ./self.yaml\n")
    with pytest.raises(ConfigError, match=r"cycle: .*self\.yaml -> .*self\.yaml"):
        load_config(tmp_path / "self.yaml")


def test_an_unknown_key_names_the_file_it_is_in(layered: Path) -> None:
    base = layered.parent / "base" / "data.yaml"
    base.write_text(base.read_text() + "    itertions: 3\n")  # under model.backbone
    with pytest.raises(
        ConfigError, match=r"data\.yaml: unknown config key 'model\.backbone\.itertions'"
    ):
        load_config(layered)
    layered.write_text(layered.read_text().replace("train:", "trian:"))
    with pytest.raises(ConfigError, match=r"row\.yaml: unknown config key 'trian'"):
        load_config(layered)


def test_a_missing_or_malformed_base_names_both_files(tmp_path: Path) -> None:
    write(tmp_path / "row.yaml", "base: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"row\.yaml: its base 'nowhere\.yaml' does not exist"):
        load_config(tmp_path / "row.yaml")
    write(tmp_path / "list.yaml", "base: [a.yaml]\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: 'base' = \['a\.yaml'\] must name"):
        load_config(tmp_path / "list.yaml")


def test_a_wrong_type_in_a_base_names_the_chain(layered: Path) -> None:
    base = layered.parent / "base" / "data.yaml"
    base.write_text(base.read_text().replace("lr: 0.1", "lr: fast"))
    with pytest.raises(ConfigError, match=r"row\.yaml \(over its base .*data\.yaml\).*train\.lr"):
        load_config(layered)


REPOSITORY = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(
    path
    for path in (REPOSITORY / "configs").glob("*.yaml")
    if path.name.startswith(("voc12_", "context", "cocostuff_"))
)


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda path: path.name)
def test_benchmark_rows_inherit_their_data_sets_base(path: Path) -> None:
    from cagnet.config import Config
    from cagnet.config_io import read_config_file

    _, files = read_config_file(path, Config)
    data = path.name.split("_")[0].removesuffix("59")
    assert [f.resolve() for f in files[-2:]] == [
        REPOSITORY / "configs" / "base" / f"{data}.yaml",
        REPOSITORY / "configs" / "base" / "common.yaml",
    ]
    assert load_config(path).name == path.stem
