"""The feature store: round trip, reuse by any view of the images, keys, image digests, and
stale/corrupt caches."""

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import KEY_CONFIG, PatchBackbone, Subset, write_folder
from PIL import Image

from cagnet.data.feature_store import (
    FLIPPED,
    PLAIN,
    FeatureCacheError,
    backbone_key,
    build_store,
    image_digests,
    store_folder,
)
from cagnet.data.readers import FolderReader
from cagnet.data.transforms import to_tensors


def test_cached_features_equal_the_backbone_output_and_are_reused(tmp_path):
    reader = write_folder(tmp_path / "data")
    backbone = PatchBackbone()
    store = build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache", (PLAIN, FLIPPED))
    assert backbone.calls == 2 * len(reader)
    for index in range(len(reader)):
        image = to_tensors(reader[index])[0][None]
        with torch.no_grad():
            plain, flipped = backbone(image)[0], backbone(image.flip(-1))[0]
        assert store.load(index, PLAIN).dtype == np.float16
        torch.testing.assert_close(
            torch.from_numpy(np.asarray(store.load(index, PLAIN), dtype=np.float32)),
            plain,
            atol=2e-3,
            rtol=2e-3,
        )
        torch.testing.assert_close(
            torch.from_numpy(np.asarray(store.load(index, FLIPPED), dtype=np.float32)),
            flipped,
            atol=2e-3,
            rtol=2e-3,
        )
    backbone.calls = 0
    again = build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache", (PLAIN, FLIPPED))
    assert backbone.calls == 0 and again == store
    # An interrupted build (a file not written yet) computes only the missing file.
    store.path(1, FLIPPED).unlink()
    build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache", (PLAIN, FLIPPED))
    assert backbone.calls == 1


def test_any_view_of_cached_images_reuses_their_features(tmp_path):
    reader = write_folder(tmp_path / "data")
    backbone = PatchBackbone()
    store = build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache", (PLAIN,))
    backbone.calls = 0
    subset = build_store(Subset(reader, [2, 0]), backbone, KEY_CONFIG, tmp_path / "cache")
    assert backbone.calls == 0
    assert subset.path(0) == store.path(2) and subset.shapes == (store.shapes[2], store.shapes[0])


def test_plain_cache_gains_the_flipped_variant_without_recomputing_the_plain_one(tmp_path):
    reader = write_folder(tmp_path / "data")
    backbone = PatchBackbone()
    plain = build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache", (PLAIN,))
    assert plain.variants == (PLAIN,) and backbone.calls == len(reader)
    both = build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache", (FLIPPED, PLAIN))
    assert both.variants == (PLAIN, FLIPPED) and both.folder == plain.folder
    assert backbone.calls == 2 * len(reader)


class CountingReader(FolderReader):
    decoded = 0

    def __getitem__(self, index):
        CountingReader.decoded += 1
        return super().__getitem__(index)


def test_the_key_changes_with_the_backbone_config_and_its_weights():
    backbone = PatchBackbone()
    key = backbone_key(backbone, KEY_CONFIG)
    assert backbone_key(PatchBackbone(), KEY_CONFIG) == key
    other_config = dataclasses.replace(KEY_CONFIG, multi_scale=(1.0, 0.5))
    assert backbone_key(backbone, other_config)["backbone"] != key["backbone"]
    assert backbone_key(PatchBackbone(seed=1), KEY_CONFIG)["backbone"] != key["backbone"]
    other = backbone_key(PatchBackbone(seed=1), KEY_CONFIG)
    assert store_folder(Path("c"), key) != store_folder(Path("c"), other)


def test_image_digests_follow_the_pixels_and_are_remembered_per_file(tmp_path):
    write_folder(tmp_path / "data")
    digests = image_digests(CountingReader(tmp_path / "data", "train"), tmp_path / "cache")
    assert len(set(digests)) == 3 and CountingReader.decoded == 3
    CountingReader.decoded = 0
    assert image_digests(CountingReader(tmp_path / "data", "train"), tmp_path / "cache") == digests
    assert CountingReader.decoded == 0  # remembered: nothing decoded
    # A new file list: the old items keep their digests, the new one gets its own.
    write_folder(tmp_path / "data", sizes=((14, 18), (15, 17), (10, 12), (12, 12)))
    more = image_digests(FolderReader(tmp_path / "data", "train"), tmp_path / "cache")
    assert more[:3] == digests and more[3] not in digests
    # Touching a file re-hashes it (same pixels, same digest); new pixels give a new digest.
    image = tmp_path / "data" / "images" / "train" / "000.png"
    os.utime(image, ns=(1, 1))
    CountingReader.decoded = 0
    touched = image_digests(CountingReader(tmp_path / "data", "train"), tmp_path / "cache")
    assert touched == more and CountingReader.decoded == 1
    Image.fromarray(np.zeros((14, 18, 3), dtype=np.uint8)).save(image)
    changed = image_digests(FolderReader(tmp_path / "data", "train"), tmp_path / "cache")
    assert changed[0] != more[0] and changed[1:] == more[1:]


def test_a_stale_or_corrupt_cache_is_an_error_naming_what_to_delete(tmp_path):
    reader = write_folder(tmp_path / "data")
    backbone = PatchBackbone()
    store = build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache")
    key_path = store.folder / "key.json"
    key = json.loads(key_path.read_text())

    stale = json.loads(json.dumps(key))
    stale["backbone"]["weights"] = "0" * 64
    key_path.write_text(json.dumps(stale))
    with pytest.raises(FeatureCacheError, match=r"stale.*differs in: backbone.*delete"):
        build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache")

    key_path.write_text("{not json")
    with pytest.raises(FeatureCacheError, match=f"corrupt.*delete .*{store.folder.name}"):
        build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache")

    key_path.write_text(json.dumps(key))
    path = store.path(1)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(FeatureCacheError, match=f"{path.name} is corrupt.*delete"):
        build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache")

    np.save(path, np.zeros((5, 1, 1), dtype=np.float32))  # readable, another dtype
    with pytest.raises(FeatureCacheError, match="not a .C, h, w. float16"):
        build_store(reader, backbone, KEY_CONFIG, tmp_path / "cache")
    np.save(path, np.zeros((5, 1, 1), dtype=np.float16))  # changed after opening
    with pytest.raises(FeatureCacheError, match="changed while in use"):
        store.load(1)
