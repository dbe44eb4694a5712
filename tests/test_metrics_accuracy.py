import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution import metrics


def test_hand_computed_accuracy():
    truth = pd.Series({"a": 6.0, "b": 3.0, "c": 1.0, "placebo": 0.0, "e": 0.0})
    est = pd.Series({"a": 4.0, "b": 4.0, "c": 1.0, "placebo": 1.0})  # e missing = 0
    # shares: truth .6 .3 .1 0 0 ; estimate .4 .4 .1 .1 0 -> TV = .5 (.2 + .1 + 0 + .1) = .2
    assert metrics.tv_distance(est, truth) == pytest.approx(0.2)
    # top 20% of 5 entities = 1: true top a; estimate ties a/b, stable order keeps a
    assert metrics.top_precision(est, truth) == 1.0
    acc = metrics.accuracy(est, truth, placebo=["placebo"], baseline=0.1, true_baseline=0.3)
    assert acc["placebo_share"] == pytest.approx(0.1)
    assert acc["baseline_leakage"] == pytest.approx(0.2)
    assert acc["top_share_error"] == pytest.approx(0.2)  # .4 vs .6
    # ranks (ties averaged, e counted as 0): truth 5 4 3 1.5 1.5, estimate 4.5 4.5 2.5 2.5 1;
    # centred products 3 + 1.5 + 0 + .75 + 3 = 8.25, sums of squares 9.5 and 9
    assert acc["spearman"] == pytest.approx(8.25 / np.sqrt(9.5 * 9))
    assert acc["top_precision"] == 1.0


@given(st.lists(st.floats(0, 100), min_size=2, max_size=12), st.integers(0, 99))
@settings(max_examples=60, deadline=None)
def test_properties(values, seed):
    truth = pd.Series(values, index=[f"e{i}" for i in range(len(values))])
    assert metrics.tv_distance(truth, truth) == pytest.approx(0, abs=1e-12)
    assert metrics.tv_distance(truth * 3.5, truth) == pytest.approx(0, abs=1e-12)  # scale-free
    other = pd.Series(np.random.default_rng(seed).permutation(values), index=truth.index)
    assert 0 <= metrics.tv_distance(other, truth) <= 1 + 1e-12
    if truth.sum() > 0 and truth.nunique() > 1:
        assert metrics.spearman(truth, truth) == pytest.approx(1.0)
        assert metrics.top_precision(truth, truth) == 1.0


def test_disjoint_credit_is_distance_one():
    assert metrics.tv_distance({"a": 1.0}, {"b": 2.0}) == pytest.approx(1.0)
    assert np.isnan(metrics.spearman({"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 2.0}))
