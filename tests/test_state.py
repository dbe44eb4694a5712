"""State is explicit: nothing a call computes or caches changes what a later call computes.

Journeys are immutable (describe, aggregate and friends leave them as they were), and a model's
fit forgets every earlier fit (fitting A then B is fitting B).
"""

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.journeys.stats import merge
from tests.test_models_common import CONFIGS, build

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
COLS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint", channel="channel",
            stage="stage", conversion="converted", value="revenue")


@pytest.fixture(scope="module")
def events(sample_events):
    users = sample_events["user_id"].drop_duplicates().iloc[:1500]
    return sample_events[sample_events["user_id"].isin(users)]


def fresh(events):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        return at.Journeys.from_events(events.copy(), **COLS)


def fitted_attrs(m):
    return sorted(k for k in vars(m) if k.endswith("_") and not k.startswith("_"))


def same_fit(got, want):
    pd.testing.assert_series_equal(got.credit_, want.credit_, check_exact=True)
    pd.testing.assert_series_equal(got.value_credit_, want.value_credit_, check_exact=True)
    pd.testing.assert_frame_equal(got.result_.to_frame(), want.result_.to_frame(),
                                  check_exact=True)


def test_time_decay_after_describe(events):
    j = fresh(events)
    d = j.describe()
    assert d.overview["journeys (rows)"] == j.n_journeys
    same_fit(at.TimeDecay().fit(j), at.TimeDecay().fit(fresh(events)))
    # by time, touches closer to the conversion never get less credit: the times were used
    t = at.TimeDecay(half_life="1D").fit(j).transform(j)
    steps = t.sort_values(["journey", "conversion", "position"]).groupby(
        ["journey", "conversion"])["credit"].diff().dropna()
    assert (steps >= -1e-12).all() and (steps > 1e-6).any()


@pytest.mark.parametrize("name", sorted({name for name, _ in CONFIGS.values()}))
def test_every_model_after_describe_and_aggregate(events, name):
    j = fresh(events)
    j.describe()
    a = j.aggregate()
    assert a.n_journeys < j.n_journeys and j.times is not None  # j itself keeps its touches
    model = at.get_model(name) if name != "time_decay" else at.TimeDecay(half_life="2D")
    if "random_state" in model.get_params():  # sets above max_exact are sampled
        model.set_params(random_state=0)
    got = model.fit(j)
    want = at.get_model(name, **model.get_params()).fit(fresh(events))
    same_fit(got, want)
    pd.testing.assert_frame_equal(got.transform(j), want.transform(fresh(events)),
                                  check_exact=True)


def test_compare_after_describe(events):
    j = fresh(events)
    j.describe()
    j.aggregate()
    got = at.compare(["linear", "time_decay"], j)
    pd.testing.assert_frame_equal(got, at.compare(["linear", "time_decay"], fresh(events)),
                                  check_exact=True)
    td = got[got["model"] == "time_decay"].set_index("entity")["conversions"]
    want = at.TimeDecay().fit(fresh(events)).credit_
    np.testing.assert_array_equal(td[want.index].to_numpy(), want.to_numpy())


@pytest.fixture(scope="module")
def two_data(events):
    """A and B: two disjoint halves of the people, B without one touchpoint of A."""
    users = events["user_id"].drop_duplicates()
    a = fresh(events[events["user_id"].isin(users.iloc[::2])])
    b_events = events[events["user_id"].isin(users.iloc[1::2])]
    b_events = b_events[b_events["touchpoint"] != b_events["touchpoint"].dropna().iloc[0]]
    b = fresh(b_events)
    assert set(a.names) != set(b.names)
    return a, b


@pytest.mark.parametrize("config", list(CONFIGS))
def test_refit_forgets_the_earlier_fit(two_data, config):
    a, b = two_data
    m = build(config).fit(a).fit(b)
    want = build(config).fit(b)
    same_fit(m, want)
    assert fitted_attrs(m) == fitted_attrs(want)
    pd.testing.assert_frame_equal(m.transform(b), want.transform(b), check_exact=True)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_refit_after_fit_partitions(two_data, config):
    """A fit on partition statistics (batch, Dask) leaves nothing that a later fit keeps:
    MarkovChain's balance_factors_ in particular."""
    a, b = two_data
    m = build(config)
    halves = [a.select(np.arange(0, a.n_journeys, 2)), a.select(np.arange(1, a.n_journeys, 2))]
    m.fit_partitions([m.partition_statistic(h) for h in halves], a.n_journeys)
    if CONFIGS[config][0] == "markov":
        assert "balance_factors_" in vars(m)
    m.fit(b)
    want = build(config).fit(b)
    assert fitted_attrs(m) == fitted_attrs(want)
    same_fit(m, want)
    pd.testing.assert_frame_equal(m.transform(b), want.transform(b), check_exact=True)


def test_fit_partitions_equals_fit_on_merged(two_data):
    a, _ = two_data
    halves = [a.select(np.arange(0, a.n_journeys, 2)), a.select(np.arange(1, a.n_journeys, 2))]
    m = at.MarkovChain().fit_partitions([h.aggregate() for h in halves], a.n_journeys)
    same_fit(m, at.MarkovChain().fit(merge([h.aggregate() for h in halves])))
    np.testing.assert_allclose(m.credit_, at.MarkovChain().fit(a).credit_, rtol=1e-9)


# ------------------------------------------------------------------ Journeys immutability
def small():
    offsets = np.array([0, 2, 3], dtype=np.int64)
    codes = np.array([0, 1, 1], dtype=np.int32)
    conv = np.array([1.0, 2.0])
    nulls = np.array([1.0, 0.0])
    value = np.array([10.0, 4.0])
    j = at.Journeys(offsets, codes, conv, nulls, value, names=["a", "b"])
    return j, dict(offsets=offsets, codes=codes, conv=conv, nulls=nulls, value=value)


@pytest.mark.parametrize("attr", ["codes", "conversions", "nulls", "value", "offsets", "names",
                                  "channel_of"])
def test_arrays_are_read_only(attr):
    j, _ = small()
    before = np.array(getattr(j, attr), copy=True)
    with pytest.raises(ValueError, match="read-only"):
        getattr(j, attr)[0] = getattr(j, attr)[-1]
    np.testing.assert_array_equal(getattr(j, attr), before)


@pytest.mark.parametrize("attr", ["codes", "conversions", "level", "names", "times", "new"])
def test_attributes_cannot_be_set(attr):
    j, _ = small()
    with pytest.raises(AttributeError, match="immutable"):
        setattr(j, attr, None)
    assert j.level == "touchpoint" and list(j.codes) == [0, 1, 1]


def test_callers_arrays_stay_writeable():
    j, arrays = small()
    for name, arr in arrays.items():
        assert arr.flags.writeable, name
        arr[0] = arr[0]  # no error
    assert not j.codes.flags.writeable and not j.conversions.flags.writeable


def test_derived_objects_do_not_change_the_journeys():
    j, _ = small()
    credit = at.Linear().fit(j).credit_.tolist()
    a = j.aggregate()
    j.describe()
    j.transform("collapse")
    j.at_level("channel")
    j.select([1])
    assert a is not j and list(j.codes) == [0, 1, 1] and j.n_journeys == 2
    assert at.Linear().fit(j).credit_.tolist() == credit == [0.5, 2.5]


DERIVED = ["lengths", "touch_journey", "touch_position", "touch_length", "exposure",
           "distinct", "touch_weights"]


def test_derived_arrays_are_read_only():
    j, _ = small()
    writeable = []
    for name in DERIVED:
        got = getattr(j, name)
        got = got() if callable(got) else got
        for arr in (got if isinstance(got, tuple) else (got,)):
            if arr.flags.writeable:
                writeable.append(name)
    assert writeable == []


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_copies_stay_immutable(how):
    j, _ = small()
    k = pickle.loads(pickle.dumps(j)) if how == "pickle" else copy.deepcopy(j)
    np.testing.assert_array_equal(k.codes, j.codes)
    with pytest.raises(AttributeError, match="immutable"):
        k.level = "channel"
    assert [a for a in ("offsets", "codes", "conversions", "nulls", "value")
            if getattr(k, a).flags.writeable] == []
