"""Batch scoring writes the same output file whatever the partitioning (``chunk_rows``), the
worker processes (``n_jobs``) and the order of the input's rows: the same rows in the same
order (journey, conversion, position over the whole output), credit equal to 1e-12 relative;
and ``fit_file`` fits the credit of the in-memory fit.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribution as at
import attribution.scale.batch as batch
from attribution.scale.batch import fit_file, score_file

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning",
                                        "ignore::attribution.DroppedDataWarning")
COLS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint", channel="channel",
            conversion="converted", value="revenue")
MODELS = {"linear": {}, "markov": {}, "position": {}, "time_decay": dict(half_life="7D"),
          "first": {}, "last": {}, "shapley": dict(value="model", random_state=0),
          "logistic": dict(random_state=0)}
KEY = ["journey", "conversion", "position"]


def make_events(n_journeys: int, seed: int) -> pd.DataFrame:
    """An event log: 1-8 touches per person on a minute grid (so some times tie), about
    half of the people converting once or twice (conversion rows: no touchpoint)."""
    rng = np.random.default_rng(seed)
    tps = np.array(["search", "display", "video", "newsletter", "promo", "feed", "store"])
    channel_of = dict(zip([*tps, "podcast"], ["web", "web", "tv", "email", "email", "social",
                                              "store", "audio"], strict=True))
    n_touch = rng.integers(1, 9, n_journeys)
    who = np.repeat(np.arange(n_journeys), n_touch)
    minutes = rng.integers(0, 60 * 24 * 60, len(who)) // 30 * 30  # ties on a 30-min grid
    touches = pd.DataFrame({"user_id": who, "minute": minutes,
                            "touchpoint": rng.choice(tps, len(who)),
                            "converted": 0, "revenue": 0.0})
    n_conv = rng.choice([0, 0, 1, 2], n_journeys)
    never = np.isin(who, np.flatnonzero(n_conv == 0)[::4])  # met only by non-converters
    touches.loc[never, "touchpoint"] = "podcast"
    conv_who = np.repeat(np.arange(n_journeys), n_conv)
    convs = pd.DataFrame({"user_id": conv_who,
                          "minute": rng.integers(0, 60 * 24 * 60, len(conv_who)) + 7,
                          "touchpoint": None, "converted": 1,
                          "revenue": np.round(rng.gamma(2.0, 30.0, len(conv_who)), 2)})
    ev = pd.concat([touches, convs], ignore_index=True).sort_values(["user_id", "minute"],
                                                                    kind="stable")
    ev["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(ev.pop("minute"), "min")
    ev["channel"] = ev["touchpoint"].map(channel_of)
    return ev[["user_id", "timestamp", "touchpoint", "channel", "converted",
               "revenue"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def events():
    return make_events(400, 3)


@pytest.fixture(scope="module")
def files(events, tmp_path_factory):
    """The log as Parquet and as CSV, in its order and shuffled (three shuffles)."""
    d = tmp_path_factory.mktemp("inv")
    out = {}
    for seed in (None, 1, 2, 3):
        ev = events if seed is None else events.sample(frac=1, random_state=seed)
        out[seed, "parquet"] = d / f"ev-{seed}.parquet"
        out[seed, "csv"] = d / f"ev-{seed}.csv"
        ev.to_parquet(out[seed, "parquet"], row_group_size=333)
        ev.to_csv(out[seed, "csv"], index=False)
    return out


def score(name, src, out, **kw):
    s = score_file(at.get_model(name, **MODELS[name]), src, out, **COLS, **kw)
    return s, pd.read_parquet(out)


def assert_same_output(got, want):
    """The same rows in the same order; credit equal to 1e-14 relative (the merged statistic
    is the same arrays however the log was partitioned, stats.merge: Markov is bit-identical,
    Shapley's per-journey split differs by an ulp); value credit to 1e-12 of the largest, as
    the value of one path is a float sum over its journeys, whose order follows the
    partitions."""
    assert list(got.columns) == list(want.columns) and len(got) == len(want)
    for col in got.columns:
        if col == "credit":
            np.testing.assert_allclose(got[col], want[col], rtol=1e-14, atol=1e-15)
        elif col == "value_credit":
            scale = float(np.abs(want[col]).max())
            np.testing.assert_allclose(got[col], want[col], rtol=1e-12, atol=1e-12 * scale)
        else:
            pd.testing.assert_series_equal(got[col], want[col])


_REFERENCE = {}


def reference(name, files, tmp_path_factory, fmt="parquet"):
    """Scores of the log in its order, in one partition and one process."""
    if (name, fmt) not in _REFERENCE:
        out = tmp_path_factory.mktemp("ref") / "scores.parquet"
        _REFERENCE[name, fmt] = score(name, files[None, fmt], out, chunk_rows=10**6, n_jobs=1)
    return _REFERENCE[name, fmt]


@pytest.mark.parametrize("name", list(MODELS))
def test_output_is_sorted_and_complete(name, files, events, tmp_path_factory):
    """The reference itself: sorted by journey, conversion, position over the whole output,
    each key once, and the credit of the in-memory transform row for row."""
    s, got = reference(name, files, tmp_path_factory)
    keys = got[KEY]
    assert not keys.duplicated().any()
    assert keys.equals(keys.sort_values(KEY).reset_index(drop=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = at.Journeys.from_events(events, **COLS)
        ref = at.get_model(name, **MODELS[name]).fit(j).transform(j)
    ref = ref.sort_values(KEY).reset_index(drop=True)
    assert got["journey"].tolist() == ref["journey"].tolist()
    assert got["position"].tolist() == ref["position"].tolist()
    assert (got["channel"].to_numpy() == ref["channel"].astype(str).to_numpy()).all()
    tol = 1e-6 if name == "logistic" else 1e-9
    np.testing.assert_allclose(got["credit"], ref["credit"], rtol=tol, atol=tol)
    assert s.rows_written == len(got)
    assert s.conversions_attributed == pytest.approx(got["credit"].sum(), rel=1e-12)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(list(MODELS)), chunk_rows=st.sampled_from([7, 50, 1000, 10**6]),
       n_jobs=st.sampled_from([1, 2]), shuffle=st.sampled_from([None, 1, 2, 3]),
       fmt=st.sampled_from(["parquet", "csv"]))
def test_output_file_does_not_depend_on_chunks_jobs_or_row_order(
        files, tmp_path_factory, monkeypatch, name, chunk_rows, n_jobs, shuffle, fmt):
    monkeypatch.setattr(batch, "_ROWS_PER_WORKER", 1)  # real worker processes on small data
    want_s, want = reference(name, files, tmp_path_factory, fmt)
    out = tmp_path_factory.mktemp("run") / "scores.parquet"
    s, got = score(name, files[shuffle, fmt], out, chunk_rows=chunk_rows, n_jobs=n_jobs)
    assert_same_output(got, want)
    assert s.rows_written == want_s.rows_written and s.journeys == want_s.journeys
    for f in ("conversions", "conversions_attributed", "value_attributed"):
        assert getattr(s, f) == pytest.approx(getattr(want_s, f), rel=1e-12, abs=0)


@pytest.mark.parametrize("name", ["markov", "shapley"])
def test_many_partitions_two_workers_shuffled_csv(name, files, tmp_path_factory, monkeypatch):
    """The hardest case every time: more partitions than runs merged at once (a multi-pass
    merge, buffered spill files), worker processes, shuffled CSV rows, CSV output; the
    remainder rows a model emits (one per journey, position -1) are first of their journey."""
    monkeypatch.setattr(batch, "_ROWS_PER_WORKER", 1)
    d = tmp_path_factory.mktemp("hard")
    want = score_file(at.get_model(name, **MODELS[name]), files[None, "csv"], d / "a.csv",
                      chunk_rows=10**6, n_jobs=1, **COLS)
    got = score_file(at.get_model(name, **MODELS[name]), files[2, "csv"], d / "b.csv",
                     chunk_rows=5, n_jobs=2, **COLS)
    assert got.partitions > 2 * 64 and want.partitions == 1
    a, b = pd.read_csv(d / "a.csv"), pd.read_csv(d / "b.csv")
    assert_same_output(b, a)
    rest = a[a["position"] == -1]  # remainder rows: one per journey, first of it
    assert (len(rest) > 0) == (name == "shapley") and rest["channel"].str.startswith("(").all()
    assert not rest.duplicated(["journey", "conversion"]).any()


@pytest.mark.parametrize("name", ["linear", "markov", "time_decay", "shapley", "logistic"])
def test_fit_file_equals_in_memory_fit(name, files, events, tmp_path):
    m = fit_file(at.get_model(name, **MODELS[name]), files[1, "csv"], tmp_path, chunk_rows=50,
                 **COLS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = at.get_model(name, **MODELS[name]).fit(at.Journeys.from_events(events, **COLS))
    tol = 1e-6 if name == "logistic" else 1e-12
    assert sorted(m.credit_.index) == sorted(ref.credit_.index)
    for got, want in ((m.credit_, ref.credit_), (m.value_credit_, ref.value_credit_)):
        # summation order differs (merged statistic vs whole): 1e-12 of the largest entity
        np.testing.assert_allclose(got[want.index], want, rtol=tol,
                                   atol=tol * float(want.abs().max()))


@pytest.mark.parametrize("name", ["linear", "position"])
def test_parquet_output_bytes_identical(name, files, tmp_path, monkeypatch):
    """Models whose per-touch credit needs no fit to the last bit write the very same bytes:
    rows, order and row groups (written in tables of merge.WRITE_ROWS rows) alike."""
    from attribution.scale import merge

    monkeypatch.setattr(merge, "WRITE_ROWS", 100)  # several row groups in a small output
    monkeypatch.setattr(batch, "_ROWS_PER_WORKER", 1)
    score(name, files[None, "parquet"], tmp_path / "a.parquet", chunk_rows=10**6, n_jobs=1)
    score(name, files[3, "parquet"], tmp_path / "b.parquet", chunk_rows=7, n_jobs=2)
    a, b = (tmp_path / "a.parquet").read_bytes(), (tmp_path / "b.parquet").read_bytes()
    import pyarrow.parquet as pq

    assert pq.ParquetFile(tmp_path / "a.parquet").num_row_groups > 3
    assert a == b
