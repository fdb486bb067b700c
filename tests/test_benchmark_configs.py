"""Every shipped config loads and builds its model; the benchmark class embeddings pick the
protocol's rows out of the official per-data-set arrays."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SHARED

from cagnet.build import build_embeddings, native_class_names
from cagnet.config import load_config
from cagnet.data.protocols import protocol_label_space
from cagnet.data.readers import unseen_names
from cagnet.data.readers.class_names import VOC_CLASSES
from cagnet.data.synthetic import SYNTHETIC_CLASSES
from cagnet.embeddings import load_embedding_file
from cagnet.errors import EmbeddingError
from cagnet.evaluation.calibration import check_calibration
from cagnet.methods import get_method
from cagnet.training.self_training import check_self_training

REPOSITORY = Path(__file__).resolve().parents[1]
# The configs in configs/ and those packaged with cagnet (the demo's).
CONFIGS = sorted(
    [*(REPOSITORY / "configs").glob("*.yaml"), *(REPOSITORY / "src/cagnet/configs").glob("*.yaml")]
)
BENCHMARK_PREFIXES = ("voc12_", "context", "cocostuff_")
BENCHMARKS = [path for path in CONFIGS if path.name.startswith(BENCHMARK_PREFIXES)]
OFFICIAL = SHARED / "benchmarks" / "cagnet-official"
ZS3 = SHARED / "benchmarks" / "zs3-official"
needs_shared = pytest.mark.skipif(
    not OFFICIAL.is_dir(), reason=f"official benchmark files not found at {OFFICIAL}"
)


def class_names(config) -> tuple[str, ...]:
    """The protocol's label space of a config, from the data set's class list (no data)."""
    native = native_class_names(config.dataset)
    if native is None:  # folder / synthetic data: its own list, which tests need not read
        return SYNTHETIC_CLASSES
    return protocol_label_space(native, config.dataset.protocol).class_names


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_paper_benchmarks_have_a_config_each():
    names = {path.stem for path in CONFIGS}
    for data in ("voc12", "context", "cocostuff"):
        for method in ("cagnet", "cagnet_st", "spnet", "spnet_c", "zs3net", "zs3net_st"):
            assert f"{data}_{method}" in names
    assert {"voc12_zs3setting_cagnet", "context59_zs3setting_cagnet"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_every_shipped_config_loads_and_builds_its_model_on_a_tiny_input(path):
    config = load_config(path)
    check_calibration(config.calibration)
    check_self_training(config.self_training)
    # The config's parts, each tiny: small trunks, narrow F and heads, no weights to load.
    backbone = config.model.backbone
    # The hypercolumn's channels are its stages' (496), not a choice: kept.
    channels = backbone.out_channels if backbone.name.endswith("_hypercolumn") else 32
    small = replace(
        backbone, small=True, pretrained="", freeze_batchnorm=False, out_channels=channels
    )
    model_config = replace(config.model, backbone=small, heads_hidden=16, generator_hidden=(16,))
    config = replace(config, model=model_config)
    names = class_names(config)
    if native_class_names(config.dataset) is not None:
        assert set(unseen_names(config.dataset, names)) <= set(names)
    embeddings = torch.nn.functional.normalize(torch.randn(len(names), 12), dim=1)
    model = get_method(config.model.method).build_model(config, embeddings).eval()
    with torch.no_grad():
        scores = model.segment(torch.randn(1, 3, 64, 64))
    assert scores.shape[:2] == (1, len(names))


@needs_shared
def test_spnet_voc_rows_are_the_official_rows_of_the_same_classes():
    official = [
        load_embedding_file(OFFICIAL / "voc12" / "word_vectors" / f"{kind}.pkl", 21)
        for kind in ("fasttext", "word2vec")
    ]
    config = load_config(
        None,
        [
            "dataset.kind=voc",
            "dataset.protocol=spnet",
            f"embeddings.sources=[{OFFICIAL}/voc12/word_vectors/fasttext.pkl,"
            f"{OFFICIAL}/voc12/word_vectors/word2vec.pkl]",
        ],
    )
    names = class_names(config)
    assert len(names) == 20 and "background" not in names
    rows = build_embeddings(config, names).numpy()
    assert rows.shape == (20, 600)
    native = VOC_CLASSES.index("sheep")
    expected = np.concatenate([unit(matrix)[native] for matrix in official])
    np.testing.assert_allclose(rows[names.index("sheep")], expected, atol=1e-6)
    expected_all = np.concatenate([unit(matrix)[1:] for matrix in official], axis=1)
    np.testing.assert_allclose(rows, expected_all, atol=1e-6)


def _shared_copy(source: str) -> str:
    """The ../shared copy of a config's embedding file (configs name the repository's data/)."""
    for folder, copy in (("data/cagnet-official/", OFFICIAL), ("data/zs3-official/", ZS3)):
        if folder in source:
            return str(copy / source.split(folder, 1)[1])
    return source


@needs_shared
@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda path: path.name)
def test_shipped_benchmark_embeddings_give_one_row_per_protocol_class(path):
    config = load_config(path)
    sources = [_shared_copy(source) for source in config.embeddings.sources]
    config = replace(config, embeddings=replace(config.embeddings, sources=tuple(sources)))
    names = class_names(config)
    rows = build_embeddings(config, names)
    assert rows.shape == (len(names), 300 * len(sources))
    assert torch.isfinite(rows).all()


@needs_shared
def test_context_rows_skip_the_unlabel_row():
    path = OFFICIAL / "context" / "word_vectors" / "word2vec.pkl"
    config = load_config(
        None,
        [
            "dataset.kind=context",
            "dataset.protocol=spnet",
            "dataset.num_classes=33",
            f"embeddings.sources=[{path}]",
        ],
    )
    names = class_names(config)
    rows = build_embeddings(config, names).numpy()
    official = unit(load_embedding_file(path, 34))
    assert rows.shape == (33, 300)
    np.testing.assert_allclose(rows[names.index("cow")], official[10], atol=1e-6)
    np.testing.assert_allclose(rows, official[1:], atol=1e-6)


@needs_shared
def test_a_file_fitting_neither_list_names_both_counts():
    path = OFFICIAL / "cocostuff" / "word_vectors" / "word2vec.pkl"  # 182 rows
    config = load_config(
        None, ["dataset.kind=voc", "dataset.protocol=spnet", f"embeddings.sources=[{path}]"]
    )
    with pytest.raises(EmbeddingError, match=r"182 rows but 20 .*21 classes"):
        build_embeddings(config, class_names(config))


def test_native_class_lists_follow_the_dataset_kind():
    voc = load_config(None, ["dataset.kind=voc"]).dataset
    context = load_config(None, ["dataset.kind=context", "dataset.protocol=zs3"]).dataset
    assert native_class_names(voc) == VOC_CLASSES
    assert len(native_class_names(context)) == 60
    assert native_class_names(load_config(None).dataset) is None
