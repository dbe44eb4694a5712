"""One suite over every registered model; later models join by registering."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import attribution as at
from attribution.models import available_models
from tests._tol import rtol
from tests.conftest import journeys_strategy

# AttributionWarning flags valid results worth attention (negative Shapley values,
# unattributed sets, a single outcome); the suite checks invariants, not those warnings
pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")

# parameters that let a model run on journeys without timestamps
PARAMS = {"time_decay": dict(by="position", half_life=2.0)}
MODELS = available_models()


def model(name, **kw):
    return at.get_model(name, **{**PARAMS.get(name, {}), **kw})


def assert_efficient(m, j):
    C, V = j.conversions.sum(), j.value.sum()
    res = m.result_.to_frame()
    assert res["conversions"].sum() == pytest.approx(C, rel=1e-9, abs=1e-9)
    assert res["value"].sum() == pytest.approx(V, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", MODELS)
@given(j=journeys_strategy(touchpoints=True))
@settings(max_examples=40, deadline=None)
def test_efficiency_and_per_touch_sums(name, j):
    m = model(name).fit(j)
    assert_efficient(m, j)
    t = m.transform(j)
    conv = j.conversions > 0
    assert (t["position"] >= 0).sum() == j.lengths[conv].sum()
    sums = t.groupby("journey", sort=True)[["credit", "value_credit"]].sum()
    np.testing.assert_allclose(sums["credit"], j.conversions[conv], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sums["value_credit"], j.value[conv], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", MODELS)
@given(j=journeys_strategy(max_journeys=12))
@settings(max_examples=30, deadline=None)
def test_aggregated_equals_per_journey(name, j):
    a = model(name).fit(j)
    b = model(name).fit(j.aggregate())
    tol = rtol(a)
    np.testing.assert_allclose(a.credit_, b.credit_, rtol=tol, atol=tol * 1e-3)


@pytest.mark.parametrize("name", MODELS)
@given(j=journeys_strategy(), seed=st.integers(0, 99))
@settings(max_examples=30, deadline=None)
def test_relabelling_and_journey_order_invariance(name, j, seed):
    rng = np.random.default_rng(seed)
    k = len(j.names)
    perm = rng.permutation(k)  # old code c becomes perm[c]
    names = np.empty(k, dtype=object)
    names[perm] = j.names
    relabelled = at.Journeys(j.offsets, perm[j.codes], j.conversions, j.nulls, j.value,
                             names=names)
    fitted = model(name).fit(j)
    base, tol = fitted.credit_, rtol(fitted)
    got = model(name).fit(relabelled).credit_
    np.testing.assert_allclose(got[base.index], base, rtol=tol, atol=tol * 1e-3)
    shuffled = j.select(rng.permutation(j.n_journeys))
    np.testing.assert_allclose(model(name).fit(shuffled).credit_, base, rtol=tol,
                               atol=tol * 1e-3)


@pytest.mark.parametrize("name", MODELS)
def test_rollup_to_channels(name, sample_journeys):
    m = model(name).fit(sample_journeys)
    rolled = m.result_.at_level("channel")
    total = rolled.to_frame()["conversions"].sum()  # extra rows such as (baseline) included
    assert total == pytest.approx(sample_journeys.conversions.sum())
    if getattr(m, "additive", False):
        direct = model(name, level="channel").fit(sample_journeys)
        np.testing.assert_allclose(rolled.conversions, direct.result_.conversions, rtol=1e-9)
        np.testing.assert_allclose(rolled.value, direct.result_.value, rtol=1e-9)


@pytest.mark.parametrize("name", MODELS)
def test_clone_pickle_determinism(name, ca_journeys):
    m = model(name)
    c = clone(m)
    assert c.get_params() == m.get_params()
    with pytest.raises(NotFittedError):
        c.transform(ca_journeys)
    m.fit(ca_journeys)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.credit_, m.credit_)
    again = model(name).fit(ca_journeys)
    np.testing.assert_array_equal(again.credit_.to_numpy(), m.credit_.to_numpy())
    assert again.transform(ca_journeys).equals(m.transform(ca_journeys))


@pytest.mark.parametrize("name", MODELS)
def test_model_rejects_non_journeys(name):
    with pytest.raises(at.ColumnTypeError, match="Journeys"):
        model(name).fit([[0, 1]])


def test_every_heuristic_is_registered():
    assert {"first", "last", "linear", "position", "time_decay"} <= set(MODELS)
