"""benchmarks/unseen_confusion.py: the shares it reports come from the confusion rows."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from unseen_confusion import class_table, nearest_seen  # noqa: E402

NAMES = ["road", "car", "bus"]


def test_rows_are_ground_truth_and_shares_sum_over_the_row():
    confusion = np.array([[6.0, 3.0, 1.0], [0.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    table = class_table(confusion, NAMES, unseen=[1])
    assert "| road | seen | 0.60 | 0.30 |" in table
    assert "| car | unseen | 0.50 | 0.50 |" in table
    assert "| bus | seen | 0.00 | 0.00 |" in table  # no pixels: shares 0, not a division error
    # seen pixels sent to the unseen class: 3 of road's 10 and 0 of bus's 0 -> 0.300 of all
    assert "0.300 of all seen pixels" in table
    assert "max 0.30 (road)" in table


def test_nearest_seen_orders_by_cosine():
    rows = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    assert nearest_seen(rows, NAMES, unseen=[1], count=2) == "- car: bus 0.80, road 0.60"
