import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from tests.conftest import paths_of

T = pd.Timestamp


def log(rows):
    return pd.DataFrame(rows, columns=["user", "ts", "tp", "ch", "conv", "rev"])


def build(df, **kw):
    args = dict(journey="user", time="ts", touchpoint="tp", conversion="conv", value="rev")
    args.update(kw)
    return at.Journeys.from_events(df, **args)


paths = paths_of


BASIC = log([
    (1, T("2024-01-01"), "tv", "off", 0, 0.0),
    (1, T("2024-01-05"), "blog", "web", 0, 0.0),
    (1, T("2024-01-06"), None, None, 1, 10.0),   # conversion row of its own
    (1, T("2024-02-20"), "email", "mail", 0, 0.0),
    (1, T("2024-02-21"), "tv", "off", 1, 4.0),   # a touch flagged as conversion
    (1, T("2024-03-01"), "blog", "web", 0, 0.0),  # after the last conversion
    (2, T("2024-01-01"), "store", "off", 0, 0.0),
    (2, T("2024-01-03"), None, None, 2, 5.0),    # two conversions at once
])


def test_basic_sessionising():
    j = build(BASIC, channel="ch")
    assert paths(j) == [["tv", "blog"], ["email", "tv"], ["blog"], ["store"]]
    np.testing.assert_array_equal(j.conversions, [1, 1, 0, 2])
    np.testing.assert_array_equal(j.nulls, [0, 0, 1, 0])
    np.testing.assert_array_equal(j.value, [10, 4, 0, 5])
    assert list(j.ids) == [1, 1, 1, 2] and list(j.seq) == [0, 1, 2, 0]
    assert list(j.channel_names[j.channel_of]) == ["web", "mail", "off", "off"]
    assert j.end_times[0] == T("2024-01-06").value
    assert j.end_times[2] == T("2024-03-01").value  # open journey: its last touch
    assert j.time_kind == "datetime"


def test_unsorted_input_is_sorted():
    j1 = build(BASIC)
    j2 = build(BASIC.sample(frac=1, random_state=3))
    assert paths(j1) == paths(j2)
    np.testing.assert_array_equal(j1.conversions, j2.conversions)


def test_reuse_touches_and_lookback():
    j = build(BASIC, reuse_touches=True)
    assert paths(j)[:2] == [["tv", "blog"], ["tv", "blog", "email", "tv"]]
    with pytest.warns(at.DroppedDataWarning, match="outside the lookback"):
        j = build(BASIC, reuse_touches=True, lookback="10D")
    assert paths(j)[:2] == [["tv", "blog"], ["email", "tv"]]
    rep = j.report_.set_index("item")["count"]
    assert rep["touches outside the lookback dropped"] == 2
    assert rep["touches used by more than one conversion (extra uses)"] == 0


def test_lookback_default_mode_counts_drops():
    with pytest.warns(at.DroppedDataWarning, match="1 touch"):
        j = build(BASIC, lookback="2D")
    assert paths(j) == [["blog"], ["email", "tv"], ["blog"], ["store"]]


def test_max_touches_keeps_last():
    with pytest.warns(at.DroppedDataWarning, match="max_touches"):
        j = build(BASIC, max_touches=1)
    assert paths(j) == [["blog"], ["tv"], ["blog"], ["store"]]


def test_conversion_window_and_open_journeys_drop():
    with pytest.warns(at.DroppedDataWarning) as rec:
        j = build(BASIC, conversion_window=("2024-01-02", "2024-02-01"), open_journeys="drop")
    assert paths(j) == [["tv", "blog"], ["store"]]
    text = " ".join(str(w.message) for w in rec)
    assert "1 conversion(s) outside" in text and "after the last conversion" in text


def test_conversion_touchpoints_and_conversion_without_touch():
    df = pd.DataFrame({"user": ["u", "u", "u", "v"], "ts": [1, 2, 3, 1],
                       "tp": ["ad", "purchase", "ad", "purchase"]})
    with pytest.warns(at.DroppedDataWarning, match="no touch in their window"):
        j = at.Journeys.from_events(df, journey="user", time="ts", touchpoint="tp",
                                    conversion_touchpoints=["purchase"])
    assert paths(j) == [["ad"], ["ad"]]
    np.testing.assert_array_equal(j.conversions, [1, 0])
    assert list(j.names) == ["ad"] and j.time_kind == "numeric"


def test_integer_times_need_integer_lookback():
    df = pd.DataFrame({"user": [1, 1, 1], "ts": [1, 5, 9], "tp": ["a", "b", None],
                       "conv": [0, 0, 1]})
    with pytest.warns(at.DroppedDataWarning):
        j = at.Journeys.from_events(df, journey="user", time="ts", touchpoint="tp",
                                    conversion="conv", lookback=5)
    assert paths(j) == [["b"]]
    with pytest.raises(at.ParameterError, match="integer"):
        at.Journeys.from_events(df, journey="user", time="ts", touchpoint="tp",
                                conversion="conv", lookback="5D")


def test_errors_name_the_problem():
    bad = BASIC.copy()
    bad.loc[3, "ts"] = pd.NaT
    with pytest.raises(at.InputError, match=r"'ts' \(time\) has 1 missing.*row\(s\) 3"):
        build(bad)
    with pytest.raises(at.ColumnTypeError, match="pd.to_datetime"):
        build(BASIC.assign(ts=BASIC["ts"].astype(str)))
    with pytest.raises(at.InputError, match="'user' \\(journey\\) has 1 missing"):
        build(BASIC.assign(user=[1, 1, None, 1, 1, 1, 2, 2]))
    two = BASIC.copy()
    two.loc[5, "ch"] = "print"
    with pytest.raises(at.InputError, match="touchpoint 'blog' appears with several values"):
        build(two, channel="ch")
    with pytest.raises(at.ParameterError, match="say which rows are conversions"):
        build(BASIC, conversion=None)
    with pytest.raises(at.ParameterError, match="duration"):
        build(BASIC, lookback="soon")
    with pytest.raises(at.MissingColumnError, match="channel='chan'"):
        build(BASIC, channel="chan")
    with pytest.raises(at.InputError, match="missing on touch row"):
        build(BASIC.assign(ch=[None] + list(BASIC["ch"][1:])), channel="ch")
    with pytest.raises(at.EmptyInputError):
        build(BASIC.iloc[:0])


def test_rows_with_neither_touch_nor_conversion_are_counted():
    df = BASIC.copy()
    df.loc[1, "tp"] = None
    with pytest.warns(at.DroppedDataWarning, match="neither touchpoint nor conversion"):
        j = build(df)
    assert paths(j)[0] == ["tv"]


def test_timezones_are_converted():
    df = BASIC.assign(ts=BASIC["ts"].dt.tz_localize("Europe/Paris"))
    j = build(df)
    assert j.end_times[0] == T("2024-01-06", tz="Europe/Paris").value


def test_stage_column(sample_journeys):
    assert set(sample_journeys.stage_of) == {"pre", "during", "post"}


# ---------------------------------------------------------------- reference implementation
def reference(df, lookback=None, max_touches=None, reuse=False, keep_open=True):
    """Plain-Python sessionising, one person at a time (the specification, slowly)."""
    df = df.assign(_c=(df["conv"] > 0).astype(int)).sort_values(["user", "ts", "_c"],
                                                                  kind="stable")
    out = []
    for user, g in df.groupby("user", sort=True):
        pool = []
        for r in g.itertuples():
            if isinstance(r.tp, str):
                pool.append((r.ts, r.tp))
            if r.conv > 0:
                cand = [x for x in pool if lookback is None or x[0] >= r.ts - lookback]
                if max_touches:
                    cand = cand[-max_touches:]
                if cand:
                    out.append((user, [x[1] for x in cand], float(r.conv), float(r.rev)))
                if not reuse:
                    pool = []
        if keep_open:
            rest = pool if not reuse else [x for x in pool if x[0] > last_conv(g)]
            if rest:
                end = rest[-1][0]
                cand = [x for x in rest if lookback is None or x[0] >= end - lookback]
                if max_touches:
                    cand = cand[-max_touches:]
                out.append((user, [x[1] for x in cand], 0.0, 0.0))
    return out


def last_conv(g):
    c = g.loc[g["conv"] > 0, "ts"]
    return c.max() if len(c) else -1


event_rows = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 12),
                                st.sampled_from(["a", "b", "c", None]),
                                st.sampled_from([0, 0, 0, 1, 2]),
                                st.sampled_from([0.0, 3.0])), min_size=1, max_size=25)


@given(event_rows, st.sampled_from([None, 0, 3]), st.sampled_from([None, 1, 2]),
       st.booleans())
@settings(max_examples=150, deadline=None)
def test_matches_reference(rows, lookback, max_touches, reuse):
    df = pd.DataFrame(rows, columns=["user", "ts", "tp", "conv", "rev"])
    df["rev"] = np.where(df["conv"] > 0, df["rev"], 0.0)
    if reuse:  # a touch that is also a conversion closes the pool differently; keep it simple
        df.loc[df["conv"] > 0, "tp"] = None
    expected = reference(df, lookback, max_touches, reuse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        try:
            j = at.Journeys.from_events(df, journey="user", time="ts", touchpoint="tp",
                                        conversion="conv", value="rev", lookback=lookback,
                                        max_touches=max_touches, reuse_touches=reuse)
        except at.EmptyInputError:
            assert expected == []
            return
    got = [(int(u), p, float(c), float(v)) for u, p, c, v in
           zip(j.ids, paths(j), j.conversions, j.value, strict=False)]
    assert got == expected


# ---------------------------------------------------------------- time columns (times.py)
def test_time_values_kinds_and_errors():
    from attribution.journeys.times import time_values

    ts = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"]))
    t, kind = time_values(ts, "ts")
    assert kind == "datetime" and t.dtype == np.int64 and t[0] == T("2024-01-01").value
    t, kind = time_values(ts.dt.tz_localize("Europe/Paris"), "ts")
    assert kind == "datetime" and t[0] == T("2024-01-01", tz="Europe/Paris").value
    t, kind = time_values(pd.Series([3, 1], dtype="int32"), "ts")
    assert kind == "numeric" and t.dtype == np.int64 and list(t) == [3, 1]
    with pytest.raises(at.ColumnTypeError, match="datetime64 or integer"):
        time_values(pd.Series([True, False]), "ts")
    with pytest.raises(at.ColumnTypeError, match="got dtype float64"):
        time_values(pd.Series([1.5, 2.0]), "ts")
    with pytest.raises(at.InputError, match="missing"):
        time_values(pd.Series([1, None], dtype="Int64"), "ts")


def test_durations_and_time_points_in_the_column_units():
    from attribution.journeys.times import check_time_kind, duration, time_point

    assert duration(None, "datetime", "lookback") is None
    assert duration("30D", "datetime", "lookback") == 30 * 86_400 * 10**9
    assert duration(pd.Timedelta("12h"), "datetime", "lookback") == 12 * 3600 * 10**9
    assert duration(np.int64(7), "numeric", "lookback") == 7
    with pytest.raises(at.ParameterError, match="lookback must be a duration"):
        duration("soon", "datetime", "lookback")
    with pytest.raises(at.ParameterError, match="non-negative duration"):
        duration("-1D", "datetime", "lookback")
    with pytest.raises(at.ParameterError, match="non-negative integer"):
        duration(1.5, "numeric", "lookback")
    assert time_point("2024-01-02", "datetime") == T("2024-01-02").value
    assert time_point(20, "numeric") == 20
    assert check_time_kind("numeric") == "numeric"
    with pytest.raises(at.ParameterError, match="time_kind"):
        check_time_kind("days")


def test_dropped_data_warning_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(BASIC, lookback="2D")
    assert [w.filename for w in caught] == [__file__]
