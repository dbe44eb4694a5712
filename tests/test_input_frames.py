"""pandas, polars and pyarrow tables give the same journeys and the same credit; errors name
the column as for pandas."""

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from tests.conftest import CA_PATHS

COLS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint", channel="channel",
            conversion="converted", value="revenue")
ARRAYS = ("offsets", "codes", "conversions", "nulls", "value", "times", "end_times", "ids",
          "seq", "names", "channel_names", "channel_of", "stage_of")


def polars():
    return pytest.importorskip("polars")


def arrow(df):
    return pa.Table.from_pandas(df, preserve_index=False)


def to_polars(df):
    return polars().from_pandas(df)


def other_tables(df):
    """``df`` as a pyarrow Table, and as a polars DataFrame when polars is installed."""
    try:
        import polars as pl
    except ImportError:
        return [arrow(df)]
    return [arrow(df), pl.from_pandas(df)]


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        return fn(*args, **kw)


def assert_same_journeys(a, b):
    for attr in ARRAYS:
        x, y = getattr(a, attr), getattr(b, attr)
        if x is None or y is None:
            assert x is None and y is None, attr
        else:
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=attr)
    assert (a.level, a.time_kind, a.time_zone) == (b.level, b.time_kind, b.time_zone)
    pd.testing.assert_frame_equal(a.report_, b.report_)


@pytest.fixture(scope="module")
def sample_log():
    from attribution.datasets import load_sample

    return load_sample().events.iloc[:6000]


@pytest.mark.parametrize("kind", ["polars", "pyarrow", "arrow-stream"])
def test_event_logs_of_every_library_give_the_same_credit(kind, sample_log):
    convert = {"polars": to_polars, "pyarrow": arrow,
               "arrow-stream": lambda d: arrow(d).to_reader()}[kind]
    kw = dict(COLS, stage="stage", lookback="30D")
    want = quiet(at.Journeys.from_events, sample_log, **kw)
    got = quiet(at.Journeys.from_events, convert(sample_log), **kw)
    assert_same_journeys(want, got)
    for m in (at.Linear(), at.MarkovChain(), at.LastNonDirect(direct=["web"], window="2D")):
        a, b = m.fit(want), at.get_model(m.name, **m.get_params()).fit(got)
        pd.testing.assert_series_equal(a.credit_, b.credit_, check_exact=True)
        pd.testing.assert_frame_equal(a.transform(want), b.transform(got), check_exact=True)


def test_native_datetimes_zones_and_categories():
    pl = polars()
    df = pd.DataFrame({
        "user_id": [1, 1, 1, 2, 2],
        "timestamp": pd.to_datetime(
            ["2024-03-30 23:00", "2024-03-31 03:00", "2024-03-31 04:00", "2024-03-01 00:00",
             "2024-03-02 00:00"]).tz_localize("Europe/Paris"),
        "touchpoint": pd.Categorical(["ad", "mail", None, "ad", "mail"]),
        "channel": ["display", "email", None, "display", "email"],
        "converted": [False, False, True, False, True],
        "revenue": [0.0, 0.0, 12.5, 0.0, 3.0]})
    want = at.Journeys.from_events(df, **COLS)
    assert want.time_zone == "Europe/Paris"
    for table in (pl.from_pandas(df), arrow(df)):
        assert_same_journeys(want, at.Journeys.from_events(table, **COLS))
    # a datetime column built by polars itself, naive and in microseconds
    native = pl.DataFrame({"u": [1, 1], "t": ["2024-01-01 10:00:00", "2024-01-02 10:00:00"],
                           "tp": ["a", "b"], "c": [0, 1]}).with_columns(
        pl.col("t").str.to_datetime())
    j = at.Journeys.from_events(native, journey="u", time="t", touchpoint="tp", conversion="c")
    assert j.times.tolist() == [pd.Timestamp("2024-01-01 10:00").value,
                                pd.Timestamp("2024-01-02 10:00").value]


@pytest.mark.parametrize("kind", ["polars", "pyarrow"])
def test_errors_name_the_column_as_for_pandas(kind, sample_log):
    convert = to_polars if kind == "polars" else arrow
    small = sample_log.iloc[:50].reset_index(drop=True)
    for bad, error in ((dict(COLS, channel="chan"), at.MissingColumnError),
                       (dict(COLS, touchpoint=None, channel=None), at.ParameterError)):
        with pytest.raises(error) as want:
            at.Journeys.from_events(small, **bad)
        with pytest.raises(error) as got:
            at.Journeys.from_events(convert(small), **bad)
        assert str(got.value) == str(want.value)
    holes = small.assign(user_id=small["user_id"].astype(float))
    holes.loc[3, "user_id"] = np.nan
    with pytest.raises(at.InputError, match=r"column 'user_id' \(journey\) has 1 missing value"
                                            r"\(s\) at row\(s\) 3"):
        at.Journeys.from_events(convert(holes), **COLS)
    with pytest.raises(at.ColumnTypeError, match="revenue' \\(value\\) must be numeric"):
        at.Journeys.from_events(convert(small.assign(revenue="x")), **COLS)


def test_lazy_frames_and_non_tables_are_refused():
    pl = polars()
    lazy = pl.DataFrame({"user_id": [1]}).lazy()
    with pytest.raises(at.ColumnTypeError, match=r"lazy LazyFrame; call \.collect\(\)"):
        at.Journeys.from_events(lazy, **COLS)
    with pytest.raises(at.ColumnTypeError, match="event log must be a pandas DataFrame"):
        at.Journeys.from_events([[1, 2]], **COLS)
    with pytest.raises(at.EmptyInputError, match="path table has no rows"):
        at.Journeys.from_paths(pa.table({"path": pa.array([], pa.string())}))


@pytest.mark.parametrize("aggregate", [False, True])
def test_path_tables_of_every_library_give_the_same_journeys(aggregate):
    df = CA_PATHS.assign(device=["m", "d", "m", "m", "d", "d", "m", "d"])
    kw = dict(value="total_conversion_value", aggregate=aggregate)
    tables = other_tables(df)
    for covariates in (None, ["device"]):
        want = at.Journeys.from_paths(df, covariates=covariates, **kw)
        for table in tables:
            got = at.Journeys.from_paths(table, covariates=covariates, **kw)
            assert_same_journeys(want, got)
            pd.testing.assert_series_equal(at.MarkovChain().fit(got).credit_,
                                           at.MarkovChain().fit(want).credit_, check_exact=True)
    with pytest.raises(at.MissingColumnError, match="path='route'"):
        at.Journeys.from_paths(tables[0], path="route")


LOG_ROW = st.tuples(st.integers(0, 3), st.integers(0, 50), st.sampled_from(["a", "b", "c", None]),
                    st.booleans())


@given(rows=st.lists(LOG_ROW, min_size=1, max_size=25))
@settings(max_examples=40, deadline=None)
def test_random_logs_are_read_alike(rows):
    df = pd.DataFrame(rows, columns=["user_id", "minute", "touchpoint", "converted"])
    df["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df.pop("minute"), "min")
    df["channel"] = df["touchpoint"].map({"a": "x", "b": "x", "c": "y"})
    df["revenue"] = np.where(df["converted"], 2.0, 0.0)
    try:
        want = quiet(at.Journeys.from_events, df, **COLS)
    except at.EmptyInputError as exc:
        with pytest.raises(at.EmptyInputError, match=str(exc)[:20]):
            quiet(at.Journeys.from_events, arrow(df), **COLS)
        return
    for table in other_tables(df):
        assert_same_journeys(want, quiet(at.Journeys.from_events, table, **COLS))
