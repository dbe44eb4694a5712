"""attribution.dask on a LocalCluster (processes=False) and a partitioned Parquet dataset:
the same credit and the same per-touch scores as the in-memory path."""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.evaluation.simulate import simulate_journeys
from tests._tol import rtol

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
from attribution.scale import dask as adask  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")
COLS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint", channel="channel",
            conversion="converted", value="revenue")
KEY = ["journey", "conversion", "position"]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    events, _ = simulate_journeys(5000, tier="noisy_or", random_state=8)
    shuffled = events.sample(frac=1, random_state=2).reset_index(drop=True)
    path = tmp_path_factory.mktemp("ds") / "events"
    dd.from_pandas(shuffled, npartitions=6).to_parquet(path)  # journeys spread over files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = at.Journeys.from_events(events, **COLS)
    return path, j


@pytest.mark.parametrize("name", ["linear", "markov", "shapley", "logistic", "time_decay"])
def test_fit_and_score_equal_in_memory(client, dataset, name, tmp_path):
    path, j = dataset
    kw = {"logistic": dict(random_state=0)}.get(name, {})
    ddf = dd.read_parquet(path)
    assert ddf.npartitions > 1
    m = adask.fit(at.get_model(name, **kw), ddf, **COLS)
    ref = at.get_model(name, **kw).fit(j)
    tol = rtol(ref)
    np.testing.assert_allclose(m.credit_[ref.credit_.index], ref.credit_, rtol=tol, atol=tol)
    scores = adask.score(m, ddf, **COLS)
    scores.to_parquet(tmp_path / "scores")  # what a nightly job does
    got = pd.read_parquet(tmp_path / "scores").sort_values(KEY).reset_index(drop=True)
    want = ref.transform(j).sort_values(KEY).reset_index(drop=True)
    assert len(got) == len(want)
    assert got["journey"].tolist() == want["journey"].tolist()
    np.testing.assert_allclose(got["credit"], want["credit"], rtol=1e-7, atol=1e-8)
    assert (got["touchpoint"].astype(str).to_numpy()
            == want["touchpoint"].astype(str).to_numpy()).all()
    assert list(got.columns) == list(want.columns)  # conversion_id and conversion_time too
    assert (got["conversion_id"].to_numpy() == want["conversion_id"].to_numpy()).all()


def test_errors(dataset):
    path, _ = dataset
    with pytest.raises(at.InputError, match="dask DataFrame"):
        adask.fit(at.Linear(), pd.DataFrame({"a": [1]}), **COLS)
    with pytest.raises(at.InputError, match="'who'"):
        adask.fit(at.Linear(), dd.read_parquet(path), **{**COLS, "journey": "who"})


def _timed_events(case):
    """A small log whose time column is of one kind: tz-aware datetimes, epoch seconds,
    steps, or day-first strings whose first partition tells the format (later partitions hold
    only dates that also read month-first)."""
    from tests.test_batch_invariance import make_events

    ev = make_events(120, 5).sort_values("user_id", kind="stable").reset_index(drop=True)
    t = ev["timestamp"]
    if case == "aware":
        return ev.assign(timestamp=t.dt.tz_localize("Europe/Paris")), {}, "Europe/Paris"
    if case == "epoch":
        return ev.assign(timestamp=t.astype("int64") // 10**9), dict(time_unit="s"), "UTC"
    if case == "steps":
        return ev.assign(timestamp=t.rank(method="dense").astype("int64")), \
            dict(time_unit="step"), None
    early = ev["user_id"] < 40  # the first partition: days past the 12th
    day = np.where(early, 13 + t.dt.day % 15, 1 + t.dt.day % 12)
    t = pd.to_datetime(dict(year=2024, month=t.dt.month, day=day, hour=t.dt.hour,
                            minute=t.dt.minute))
    return ev.assign(timestamp=t.dt.strftime("%d/%m/%Y %H:%M")), {}, "dayfirst"


@pytest.mark.parametrize("case", ["aware", "epoch", "steps", "dayfirst"])
def test_times_one_format_one_zone(client, case, tmp_path):
    """The output's time dtype is the meta's (one zone for every partition; integers for
    steps); strings are read with the format of the first partition in every partition."""
    ev, kw, zone = _timed_events(case)
    ev.index = ev["user_id"].to_numpy()  # partitions by journey: no shuffle
    ddf = dd.from_pandas(ev, npartitions=3, sort=True)
    assert ddf.npartitions == 3
    m = adask.fit(at.Linear(), ddf, shuffle=False, **COLS, **kw)
    scores = adask.score(m, ddf, shuffle=False, **COLS, **kw)
    got = scores.compute().sort_values(KEY).reset_index(drop=True)
    assert got["time"].dtype == scores.dtypes["time"]
    scores.to_parquet(tmp_path / "s")  # every partition fits the meta's schema
    ref_kw = dict(time_format="%d/%m/%Y %H:%M") if zone == "dayfirst" else kw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = at.Journeys.from_events(ev.reset_index(drop=True), **COLS, **ref_kw)
    want = at.Linear().fit(j).transform(j).sort_values(KEY).reset_index(drop=True)
    assert got["journey"].tolist() == want["journey"].tolist()
    want_t = want["time"]  # in the input's zone, as in memory
    assert str(got["time"].dtype) == str(want_t.dtype)
    if zone not in (None, "dayfirst"):
        assert str(got["time"].dt.tz) == zone
    assert (got["time"].isna() == want_t.isna()).all()
    assert (got["time"].dropna() == want_t.dropna()).all()
