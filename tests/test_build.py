import numpy as np
from helpers import small_overrides

from cagnet.build import build_data, prepare_dataset
from cagnet.config import load_config


def test_training_reader_never_shows_an_unseen_label(tmp_path):
    config = prepare_dataset(load_config(None, small_overrides(tmp_path)), progress=False)
    data = build_data(config)
    unseen = list(data.split.unseen)
    assert [data.split.class_names[i] for i in unseen] == [
        "green square",
        "blue triangle",
        "yellow circle",
    ]
    val_has_unseen = any(np.isin(data.val[i].label, unseen).any() for i in range(len(data.val)))
    assert val_has_unseen  # the check below is not vacuous
    for index in range(len(data.train)):
        assert not np.isin(data.train[index].label, unseen).any()
