import pickle
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
                                    conversion_touchpoints=["purchase"], time_unit="step")
    assert paths(j) == [["ad"], ["ad"]]
    np.testing.assert_array_equal(j.conversions, [1, 0])
    assert list(j.names) == ["ad"] and j.time_kind == "numeric"


def test_step_times_need_a_number_of_steps():
    df = pd.DataFrame({"user": [1, 1, 1], "ts": [1, 5, 9], "tp": ["a", "b", None],
                       "conv": [0, 0, 1]})
    for lookback in (5, "5", 5.0):
        with pytest.warns(at.DroppedDataWarning):
            j = at.Journeys.from_events(df, journey="user", time="ts", touchpoint="tp",
                                        conversion="conv", lookback=lookback, time_unit="step")
        assert paths(j) == [["b"]] and j.time_kind == "numeric"
    with pytest.raises(at.ParameterError, match="lookback='5D' is not a number of steps"):
        at.Journeys.from_events(df, journey="user", time="ts", touchpoint="tp",
                                conversion="conv", lookback="5D", time_unit="step")


def test_errors_name_the_problem():
    bad = BASIC.copy()
    bad.loc[3, "ts"] = pd.NaT
    with pytest.raises(at.InputError, match=r"'ts' \(time\) has 1 missing.*row\(s\) 3"):
        build(bad)
    with pytest.raises(at.ColumnTypeError, match="'ts' \\(time\\) must hold.*booleans"):
        build(BASIC.assign(ts=True))
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
    # at equal times: touches first, then by touchpoint (none first), count, value
    df = df.assign(_c=(df["conv"] > 0).astype(int), _t=df["tp"].fillna("")).sort_values(
        ["user", "ts", "_c", "_t", "conv", "rev"], kind="stable")
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
                                        max_touches=max_touches, reuse_touches=reuse,
                                        time_unit="step")
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
    t, kind, zone, fmt = time_values(ts, "ts")
    assert kind == "datetime" and t.dtype == np.int64 and t[0] == T("2024-01-01").value
    assert zone is None and fmt is None
    t, kind, zone, _ = time_values(ts.dt.tz_localize("Europe/Paris"), "ts")
    assert kind == "datetime" and t[0] == T("2024-01-01", tz="Europe/Paris").value
    assert zone == "Europe/Paris"
    t, kind, zone, _ = time_values(pd.Series([3, 1], dtype="int32"), "ts", time_unit="step")
    assert kind == "numeric" and t.dtype == np.int64 and list(t) == [3, 1] and zone is None
    t, kind, _, _ = time_values(pd.Series([3.0, 1.0]), "ts", time_unit="step")
    assert kind == "numeric" and t.dtype == np.int64 and list(t) == [3, 1]
    with pytest.raises(at.ColumnTypeError, match="must hold datetimes, date strings or numbers"):
        time_values(pd.Series([True, False]), "ts")
    with pytest.raises(at.ParameterError, match="time_unit='s'.*time_unit='step'"):
        time_values(pd.Series([1.5, 2.0]), "ts")
    with pytest.raises(at.InputError, match="missing"):
        time_values(pd.Series([1, None], dtype="Int64"), "ts", time_unit="s")


def test_durations_and_time_points_in_the_column_units():
    from attribution.journeys.times import check_time_kind, duration, time_point

    assert duration(None, "datetime", "lookback") is None
    assert duration("30D", "datetime", "lookback") == 30 * 86_400 * 10**9
    assert duration(pd.Timedelta("12h"), "datetime", "lookback") == 12 * 3600 * 10**9
    assert duration(np.int64(7), "numeric", "lookback") == 7
    assert duration(1.5, "numeric", "half_life", whole=False) == 1.5
    with pytest.raises(at.ParameterError, match="lookback must be a duration"):
        duration("soon", "datetime", "lookback")
    with pytest.raises(at.ParameterError, match="non-negative duration"):
        duration("-1D", "datetime", "lookback")
    with pytest.raises(at.ParameterError, match="non-negative whole number of steps"):
        duration(1.5, "numeric", "lookback")
    with pytest.raises(at.ParameterError, match="lookback=30 has no unit.*'30D'"):
        duration(30, "datetime", "lookback")
    assert time_point("2024-01-02", "datetime") == T("2024-01-02").value
    assert time_point("2024-01-02", "datetime", zone="Europe/Paris") == T(
        "2024-01-02", tz="Europe/Paris").value
    assert time_point(20, "numeric") == 20
    assert check_time_kind("numeric") == "numeric"
    with pytest.raises(at.ParameterError, match="time_kind"):
        check_time_kind("days")


def test_dropped_data_warning_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(BASIC, lookback="2D")
    assert [w.filename for w in caught] == [__file__]


# ---------------------------------------------------------------- "No silent wrong answers"
def test_unitless_lookback_is_an_error_not_a_table_of_zeros(sample_events):
    # lookback=30 used to be 30 nanoseconds: every touch dropped, zero credit everywhere
    from attribution.datasets import SAMPLE_COLUMNS

    with pytest.raises(at.ParameterError, match="lookback=30 has no unit.*'30D'"):
        at.Journeys.from_events(sample_events, **SAMPLE_COLUMNS, lookback=30)
    j = at.Journeys.from_events(sample_events, **SAMPLE_COLUMNS, lookback=pd.Timedelta("30D"))
    assert at.Linear().fit(j).credit_.sum() == pytest.approx(j.conversions.sum())
    assert j.conversions.sum() > 0


def epoch_log(unit, as_float=False):
    scale = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    seconds = (BASIC["ts"].to_numpy().astype("datetime64[s]").astype(np.int64))
    ts = seconds * scale + (0.5 if as_float else 0)
    return BASIC.assign(ts=ts)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("as_float", [False, True])
def test_epoch_numbers_with_a_unit_are_utc_datetimes(unit, as_float):
    # float epoch seconds used to be read as nanoseconds; integers as ns-free "numeric"
    with pytest.warns(at.DroppedDataWarning, match="2 touch"):
        j = build(epoch_log(unit, as_float), time_unit=unit, lookback="10D", reuse_touches=True)
    with pytest.warns(at.DroppedDataWarning, match="2 touch"):
        ref = build(BASIC, lookback="10D", reuse_touches=True)
    assert j.time_kind == "datetime" and paths(j) == paths(ref)
    offset = {"s": 5 * 10**8, "ms": 5 * 10**5, "us": 500, "ns": 0}[unit] if as_float else 0
    np.testing.assert_array_equal(j.times, ref.times + offset)
    np.testing.assert_array_equal(j.end_times, ref.end_times + offset)


def test_numeric_times_need_a_unit_and_steps_are_steps():
    with pytest.raises(at.ParameterError, match="time_unit='s'.*time_unit='step'"):
        build(epoch_log("s"))
    steps = BASIC.assign(ts=[0, 4, 5, 50, 51, 60, 0, 2])
    j = build(steps, time_unit="step")
    assert j.time_kind == "numeric" and list(j.times) == [0, 4, 50, 51, 60, 0]
    same = build(steps.assign(ts=steps["ts"].astype(float)), time_unit="step")
    assert paths(same) == paths(j) and list(same.times) == list(j.times)
    with pytest.raises(at.InputError, match=r"holds 4.5 at row\(s\) 1.*whole numbers"):
        build(steps.assign(ts=[0, 4.5, 5, 50, 51, 60, 0, 2]), time_unit="step")


def test_string_times_are_read_like_datetimes():
    ref = build(BASIC)
    for fmt, kw in [("%Y-%m-%d %H:%M:%S", {}), ("%d/%m/%Y %H:%M", {}),
                    ("%m/%d/%Y", dict(time_format="%m/%d/%Y")), ("%Y-%m-%dT%H:%M:%S", {})]:
        j = build(BASIC.assign(ts=BASIC["ts"].dt.strftime(fmt)), **kw)
        assert paths(j) == paths(ref), fmt
        np.testing.assert_array_equal(j.times, ref.times)
        np.testing.assert_array_equal(j.end_times, ref.end_times)


def test_day_first_strings_are_read_day_first():
    df = pd.DataFrame({"user": [1, 1, 1], "ts": ["14/01/2024 19:43", "02/02/2024 08:00",
                                                  "03/02/2024 09:30"],
                       "tp": ["a", "b", None], "conv": [0, 0, 1], "rev": 0.0})
    j = build(df)
    assert list(j.times) == [T("2024-01-14 19:43").value, T("2024-02-02 08:00").value]
    assert j.end_times[0] == T("2024-02-03 09:30").value


def test_the_sample_read_from_csv_strings(sample_events):
    from attribution.datasets import SAMPLE_COLUMNS

    text = sample_events.assign(timestamp=sample_events["timestamp"].dt.strftime(
        "%Y-%m-%d %H:%M:%S"))
    a = at.Journeys.from_events(sample_events, **SAMPLE_COLUMNS)
    b = at.Journeys.from_events(text, **SAMPLE_COLUMNS)
    assert paths(a) == paths(b)
    np.testing.assert_array_equal(a.times, b.times)


def test_mixed_offsets_are_converted_to_utc_one_zone_is_kept():
    from attribution.journeys.times import time_values

    dst = pd.Series(["2024-03-30T10:00:00+01:00", "2024-03-31T10:00:00+02:00"])
    t, kind, zone, fmt = time_values(dst, "ts")
    assert list(t) == [T("2024-03-30 09:00").value, T("2024-03-31 08:00").value]
    assert zone == "UTC" and fmt == "%Y-%m-%dT%H:%M:%S%z"
    t, _, zone, _ = time_values(pd.Series(["2024-01-01 10:00+01:00"] * 2), "ts")
    assert zone == "+01:00" and t[0] == T("2024-01-01 09:00").value
    t, _, zone, _ = time_values(pd.Series(["2024-01-01 10:00+01:00"] * 2), "ts",
                                tz="Europe/Paris")
    assert zone == "Europe/Paris" and t[0] == T("2024-01-01 09:00").value
    naive = pd.Series(pd.to_datetime(["2024-07-01 12:00", "2024-12-01 12:00"]))
    t, _, zone, _ = time_values(naive, "ts", tz="Europe/Paris")  # wall-clock times in Paris
    assert list(t) == [T("2024-07-01 10:00").value, T("2024-12-01 11:00").value]
    objects = pd.Series([T("2024-03-30 10:00", tz="+01:00"), T("2024-03-31 10:00", tz="+02:00")])
    assert list(time_values(objects, "ts").values) == [T("2024-03-30 09:00").value,
                                                       T("2024-03-31 08:00").value]
    _, _, zone, _ = time_values(pd.Series([0, 1]), "ts", time_unit="s")
    assert zone == "UTC"


def test_mixed_offsets_in_from_events():
    df = pd.DataFrame({"user": [1, 1, 1], "tp": ["a", "b", None], "conv": [0, 0, 1],
                       "rev": 0.0, "ts": ["2024-03-30T23:30:00+01:00",
                                          "2024-03-31T01:45:00+01:00",
                                          "2024-03-31T03:10:00+02:00"]})
    with pytest.warns(at.DroppedDataWarning, match="1 touch"):
        j = build(df, lookback="1h")  # b is 25 minutes before the conversion, a a day
    assert paths(j) == [["b"]] and j.end_times[0] == T("2024-03-31 01:10").value


def test_naive_window_bounds_are_wall_times_in_the_zone():
    paris = BASIC.assign(ts=BASIC["ts"].dt.tz_localize("Europe/Paris"))
    # the conversion at 2024-01-06 00:00 Paris (2024-01-05 23:00 UTC) is inside a window
    # starting "2024-01-06" only if the bound is read in Paris time as well
    with pytest.warns(at.DroppedDataWarning):
        j = build(paris, conversion_window=("2024-01-06", "2024-02-21"), open_journeys="drop")
    assert list(j.conversions) == [1]  # the 01-06 conversion, not the 02-21 one


@pytest.mark.parametrize("times", [
    ["2024-01-01", "2024-01-02", "2300-01-01", "2024-01-03"],
    # second resolution built by numpy: pandas 2.2's to_datetime overflows on 2300 itself
    pd.Series(np.array(["2024-01-01", "2024-01-02", "2300-01-01", "2024-01-03"],
                       dtype="datetime64[s]")),
])
def test_dates_past_2262_are_an_error_not_1829(times):
    df = pd.DataFrame({"user": 1, "ts": times, "tp": ["a", "b", "c", None], "conv": [0, 0, 0, 1],
                       "rev": 0.0})
    with pytest.raises(at.InputError, match=r"2300-01-01.*row\(s\) 2.*2262-04-11"):
        build(df)


def test_one_and_string_one_are_not_two_touchpoints():
    df = pd.DataFrame({"user": [1, 1, 1], "ts": pd.to_datetime(["2024-01-01"] * 3),
                       "tp": pd.Series([1, "1", None], dtype=object), "conv": [0, 0, 1],
                       "rev": 0.0})
    with pytest.raises(at.InputError, match=r"column 'tp' \(touchpoint\) holds 1 \(int\) and "
                                            r"'1' \(str\)"):
        build(df)
    j = build(df.assign(tp=df["tp"].astype(str).where(df["tp"].notna())))
    assert list(j.names) == ["1"] and paths(j) == [["1", "1"]]


# ---------------------------------------------------------------- ties: content, not order
TIE_ROWS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2),
                              st.sampled_from(["a", "b", "c", None]),
                              st.sampled_from([0, 0, 1, 2]), st.sampled_from([0.0, 3.0, 7.5])),
                    min_size=1, max_size=30)
TIE_MODELS = [at.FirstTouch(), at.LastTouch(), at.Linear(), at.PositionBased(),
              at.TimeDecay(half_life="1D"), at.TimeDecay(by="position"), at.MarkovChain()]


def journeys_or_none(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        try:
            return build(df, channel="ch", **kw)
        except at.EmptyInputError:
            return None


def credits(j):
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        for m in TIE_MODELS:
            fitted = type(m)(**m.get_params()).fit(j)
            out.append((fitted.credit_.sort_index(), fitted.value_credit_.sort_index()))
    return out


@given(TIE_ROWS, st.randoms(use_true_random=False), st.booleans(), st.sampled_from([None, 1]))
@settings(max_examples=120, deadline=None)
def test_shuffled_input_gives_the_same_journeys_and_credit(rows, rnd, reuse, max_touches):
    df = pd.DataFrame(rows, columns=["user", "day", "tp", "conv", "rev"])
    df["ts"] = T("2024-01-01") + pd.to_timedelta(df.pop("day"), unit="D")
    df["ch"] = df["tp"].map({"a": "web", "b": "web", "c": "tv"})
    order = list(range(len(df)))
    rnd.shuffle(order)
    shuffled = df.iloc[order].reset_index(drop=True)
    a = journeys_or_none(df, reuse_touches=reuse, max_touches=max_touches)
    b = journeys_or_none(shuffled, reuse_touches=reuse, max_touches=max_touches)
    assert (a is None) == (b is None)
    if a is None:
        return
    assert paths(a) == paths(b)
    for attr in ("conversions", "nulls", "value", "ids", "seq", "times", "end_times"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), err_msg=attr)
    if a.conversions.sum() > 0:
        for (ca, va), (cb, vb) in zip(credits(a), credits(b), strict=True):
            pd.testing.assert_series_equal(ca, cb, rtol=1e-12)
            pd.testing.assert_series_equal(va, vb, rtol=1e-12)


def test_ties_follow_the_documented_rule():
    t0 = T("2024-01-01")
    df = pd.DataFrame({"user": 1, "ts": t0,
                       "tp": ["purchase_page", None, "tv", None, "blog"],
                       "conv": [1, 1, 0, 2, 0], "rev": [4.0, 9.0, 0.0, 1.0, 0.0]})
    with pytest.warns(at.DroppedDataWarning, match="no touch in their window"):
        j = build(df)
    # touches (blog, tv) first; then conversions: without a touchpoint first (count 1 before
    # count 2), then the converting touch purchase_page
    assert paths(j) == [["blog", "tv"], ["purchase_page"]]
    assert list(j.conversions) == [1, 1] and list(j.value) == [9.0, 4.0]
    for perm in ([4, 3, 2, 1, 0], [2, 0, 4, 1, 3]):
        with pytest.warns(at.DroppedDataWarning):
            k = build(df.iloc[perm])
        assert paths(k) == paths(j) and list(k.value) == list(j.value)


def test_a_log_in_one_zone_keeps_it():
    from attribution.journeys.export import time_column

    paris = BASIC.assign(ts=BASIC["ts"].dt.tz_localize("Europe/Paris"))
    j = build(paris, channel="ch")
    assert j.time_zone == "Europe/Paris"
    assert j.times[0] == T("2024-01-01", tz="Europe/Paris").value  # stored as UTC nanoseconds
    for derived in (j.select([1, 0]), j.transform("first"), j.at_level("channel"),
                    j.replace(conversions=j.conversions * 2), pickle.loads(pickle.dumps(j))):
        assert derived.time_zone == "Europe/Paris"
    assert j.aggregate().time_zone is None and j.aggregate().times is None
    shown = pd.Series(time_column(j, j.times))
    assert str(shown.dt.tz) == "Europe/Paris"
    assert list(shown[:2]) == [T("2024-01-01", tz="Europe/Paris"),
                               T("2024-01-05", tz="Europe/Paris")]
    naive = build(BASIC)
    assert naive.time_zone is None
    assert time_column(naive, naive.times).dtype == np.dtype("datetime64[ns]")


def test_mixed_offsets_give_utc_and_tz_wins():
    dst = pd.DataFrame({"user": [1, 1], "tp": ["a", "b"], "conv": [0, 1], "rev": 0.0,
                        "ts": ["2024-03-30T10:00:00+01:00", "2024-03-31T10:00:00+02:00"]})
    assert build(dst).time_zone == "UTC"
    assert build(dst.assign(ts=["2024-03-30T10:00+01:00"] * 2)).time_zone == "+01:00"
    assert build(dst, tz="America/New_York").time_zone == "America/New_York"
    paris = BASIC.assign(ts=BASIC["ts"].dt.tz_localize("Europe/Paris"))
    tokyo = build(paris, tz="Asia/Tokyo")
    assert tokyo.time_zone == "Asia/Tokyo"
    np.testing.assert_array_equal(tokyo.times, build(paris).times)  # same instants
    wall = build(BASIC, tz="Asia/Tokyo")  # naive times are wall-clock times in Tokyo
    assert wall.time_zone == "Asia/Tokyo"
    assert wall.times[0] == T("2024-01-01", tz="Asia/Tokyo").value


def test_epoch_numbers_are_utc_and_steps_have_no_zone():
    df = pd.DataFrame({"user": [1, 1], "ts": [0, 60], "tp": ["a", "b"], "conv": [0, 1],
                       "rev": 0.0})
    assert build(df, time_unit="s").time_zone == "UTC"
    assert build(df, time_unit="s", tz="Europe/Paris").time_zone == "Europe/Paris"
    steps = build(df, time_unit="step")
    assert steps.time_kind == "numeric" and steps.time_zone is None
