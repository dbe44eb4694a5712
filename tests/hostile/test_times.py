"""Hostile time columns and time options: every case is an AttributionError of the right class
whose one-line message names the culprit (column, row, value or parameter) and the fix.

Items of the issue "No silent wrong answers": unitless durations on datetimes (1), numeric
times (2), string times and time_format (3), out-of-range times (5), time zones.
"""

import datetime

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.journeys.times import duration, infer_time_format, time_point, time_values

D = pd.Timestamp


def log(times, **extra):
    """Two persons: a touch, a touch and a conversion; a touch and a conversion."""
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2], "ts": times,
                       "tp": ["a", "b", None, "a", None], "conv": [0, 0, 1, 0, 1]})
    return df.assign(**extra)


DATES = pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-06", "2024-01-02", "2024-01-03"])
EPOCHS = [1_704_067_200 + 86_400 * d for d in (0, 4, 5, 1, 2)]  # the same days, in seconds


def build(df, **kw):
    return at.Journeys.from_events(df, journey="user", time="ts", touchpoint="tp",
                                   conversion="conv", **kw)


def raises(cls, *parts, fn):
    """Assert ``fn()`` raises exactly an AttributionError of ``cls`` naming every part."""
    with pytest.raises(cls) as info:
        fn()
    assert isinstance(info.value, at.AttributionError)
    msg = str(info.value)
    assert "\n" not in msg, msg
    for part in parts:
        assert part in msg, (part, msg)
    return msg


# ---------------------------------------------------------------- 1. durations need units
@pytest.mark.parametrize("lookback", [30, 30.0, "30", " 30 ", np.int64(30), np.float32(30),
                                      np.timedelta64(30), True, "1e3"])
def test_unitless_lookback_on_datetimes(lookback):
    raises(at.ParameterError, "lookback=", "has no unit", "datetimes", "'30D'" if lookback in
           (30, "30") else "D'", fn=lambda: build(log(DATES), lookback=lookback))


@pytest.mark.parametrize("half_life", [7, 7.5, "7", np.int64(7)])
def test_unitless_half_life_on_datetimes(half_life):
    j = build(log(DATES))
    raises(at.ParameterError, "half_life=", "has no unit", "datetimes",
           fn=lambda: at.TimeDecay(half_life=half_life).fit(j))


@pytest.mark.parametrize("window", [(0, 10**18), (D("2024-01-01"), 10**18),
                                    (np.int64(0), "2025-01-01")])
def test_unitless_conversion_window_on_datetimes(window):
    raises(at.ParameterError, "conversion_window bound", "bare number", "'2024-01-01'",
           fn=lambda: build(log(DATES), conversion_window=window))


@pytest.mark.parametrize("lookback, part", [("-1D", "non-negative"), ("soon", "'30D'"),
                                            ("NaT", "non-negative")])
def test_bad_durations_on_datetimes(lookback, part):
    raises(at.ParameterError, "lookback", part, fn=lambda: build(log(DATES), lookback=lookback))


# ---------------------------------------------------------------- 2. numeric times
@pytest.mark.parametrize("times", [EPOCHS, [float(x) + 0.5 for x in EPOCHS],
                                   pd.Series(EPOCHS, dtype=object),
                                   pd.Series(EPOCHS, dtype="Int64"),
                                   pd.Series(EPOCHS, dtype="uint32")])
def test_numbers_without_time_unit(times):
    raises(at.ParameterError, "column 'ts'", "holds numbers", "time_unit='s'",
           "time_unit='step'", fn=lambda: build(log(times)))


@pytest.mark.parametrize("unit", ["sec", "seconds", "D", "", 1, "STEP"])
def test_unknown_time_unit(unit):
    raises(at.ParameterError, "time_unit must be", "'step'", repr(unit),
           fn=lambda: build(log(EPOCHS), time_unit=unit))


@pytest.mark.parametrize("times, value", [([0, 1.5, 2, 0, 1], "1.5"),
                                          ([0, 1, 2.25, 0, 1], "2.25")])
def test_fractional_steps(times, value):
    raises(at.InputError, "column 'ts'", value, "row(s)", "whole numbers", "time_unit='s'",
           fn=lambda: build(log(times), time_unit="step"))


@pytest.mark.parametrize("lookback, part", [("2D", "lookback='2D' is not a number of steps"),
                                            (pd.Timedelta("2D"), "is not a number of steps"),
                                            (1.5, "whole number of steps"),
                                            (-1, "non-negative"), (True, "not a number")])
def test_step_lookback_is_a_number_of_steps(lookback, part):
    raises(at.ParameterError, part, fn=lambda: build(log([0, 1, 2, 0, 1]), time_unit="step",
                                                     lookback=lookback))


def test_epoch_times_then_need_units():
    raises(at.ParameterError, "lookback=30 has no unit", "'30D'",
           fn=lambda: build(log(EPOCHS), time_unit="s", lookback=30))


@pytest.mark.parametrize("half_life, part", [("7D", "is not a number of steps"),
                                             (0, "positive"), (-2, "non-negative")])
def test_step_half_life(half_life, part):
    j = build(log([0, 1, 2, 0, 1]), time_unit="step")
    raises(at.ParameterError, "half_life", part,
           fn=lambda: at.TimeDecay(half_life=half_life).fit(j))


def test_step_window_bounds_are_numbers():
    raises(at.ParameterError, "conversion_window bound", "not a number", "time_unit='step'",
           fn=lambda: build(log([0, 1, 2, 0, 1]), time_unit="step",
                            conversion_window=("2024-01-01", "2024-02-01")))


@pytest.mark.parametrize("kw, part", [
    (dict(time_unit="s"), "time_unit='s' is for time columns of numbers"),
    (dict(time_unit="step"), "drop time_unit"),
    (dict(time_format="%Y-%m-%d"), "time_format='%Y-%m-%d' is for time columns of strings"),
])
def test_options_that_do_not_fit_a_datetime_column(kw, part):
    raises(at.ParameterError, part, "column 'ts'", fn=lambda: build(log(DATES), **kw))


def test_time_unit_on_strings_and_tz_on_steps():
    strings = log(DATES.strftime("%Y-%m-%d"))
    raises(at.ParameterError, "time_unit='ms'", "strings", fn=lambda: build(strings,
                                                                          time_unit="ms"))
    raises(at.ParameterError, "tz='UTC'", "steps", "drop tz",
           fn=lambda: build(log([0, 1, 2, 0, 1]), time_unit="step", tz="UTC"))


@pytest.mark.parametrize("times, what", [
    ([True, False, True, True, False], "booleans"),
    (pd.to_timedelta(["1D", "2D", "3D", "4D", "5D"]), "timedelta64"),
    ([1, "2024-01-01", 3, 4, 5], "mixed-integer"),
    ([1 + 1j] * 5, "complex"),
])
def test_columns_that_hold_no_times(times, what):
    raises(at.ColumnTypeError, "column 'ts' (time)", what, "pd.to_datetime",
           fn=lambda: build(log(times)))


# ---------------------------------------------------------------- 3. strings, time_format
def test_a_row_that_does_not_match_the_guessed_format():
    times = ["2024-01-14 10:00", "2024-01-15 10:00", "16/01/2024 10:00", "2024-01-14 11:00",
             "2024-01-15 11:00"]
    raises(at.InputError, "column 'ts'", "row 2", "'16/01/2024 10:00'", "'%Y-%m-%d %H:%M'",
           "time_format", fn=lambda: build(log(times)))


def test_a_row_that_does_not_match_time_format():
    times = ["14/01/2024", "15/01/2024", "2024-01-16", "14/01/2024", "15/01/2024"]
    raises(at.InputError, "row 2", "'2024-01-16'", "time_format='%d/%m/%Y'",
           fn=lambda: build(log(times), time_format="%d/%m/%Y"))


def test_dates_that_read_both_day_and_month_first():
    times = ["01/02/2024", "03/02/2024", "04/02/2024", "01/02/2024", "02/02/2024"]
    raises(at.InputError, "month-first and day-first", "row 0", "time_format='%d/%m/%Y'",
           "time_format='%m/%d/%Y'", fn=lambda: build(log(times)))


@pytest.mark.parametrize("first", ["garbage", "yesterday", "1700000000"])
def test_a_first_value_with_no_date_format(first):
    times = [first, "2024-01-05", "2024-01-06", "2024-01-02", "2024-01-03"]
    raises(at.InputError, "cannot tell the date format of row 0", repr(first), "time_format=",
           fn=lambda: build(log(times)))


@pytest.mark.parametrize("fmt, cls, part", [("%Q", at.ParameterError, "bad directive"),
                                            (5, at.ParameterError, "time_format must be"),
                                            ("", at.ParameterError, "time_format must be")])
def test_bad_time_format(fmt, cls, part):
    raises(cls, part, fn=lambda: build(log(DATES.strftime("%Y-%m-%d")), time_format=fmt))


@pytest.mark.parametrize("bad", ["", " ", "2024-02-30", "2024-13-01"])
def test_impossible_or_empty_date_strings(bad):
    times = ["2024-01-01", "2024-01-05", bad, "2024-01-02", "2024-01-03"]
    raises(at.InputError, "row 2", repr(bad), fn=lambda: build(log(times)))


def test_missing_string_time():
    times = ["2024-01-01", None, "2024-01-06", "2024-01-02", "2024-01-03"]
    raises(at.InputError, "'ts' (time) has 1 missing", "row(s) 1",
           fn=lambda: build(log(times)))


def test_infer_time_format_is_one_format_for_the_batch_scorer():
    assert infer_time_format(pd.Series(["14/01/2024 19:43", "01/02/2024 08:00"]),
                             "ts") == "%d/%m/%Y %H:%M"
    assert infer_time_format(pd.Series(["2024-01-02"]), "ts") == "%Y-%m-%d"
    assert infer_time_format(pd.Series(DATES), "ts") is None
    assert infer_time_format(pd.Series(EPOCHS), "ts") is None
    raises(at.InputError, "row 0", fn=lambda: infer_time_format(pd.Series(["soon"]), "ts"))


# ---------------------------------------------------------------- 5. out of range
@pytest.mark.parametrize("value, kw", [
    ("2300-01-01 10:00", {}), ("1500-06-01 00:00", {}), ("2262-04-12 00:00", {}),
    ("01/01/2300", dict(time_format="%d/%m/%Y")),
])
def test_out_of_range_strings(value, kw):
    times = ["2024-01-01 00:00", "2024-01-05 00:00", value, "2024-01-02 00:00",
             "2024-01-03 00:00"]
    if kw:
        times = ["01/01/2024", "05/01/2024", value, "02/01/2024", "03/01/2024"]
    raises(at.InputError, "column 'ts'", "row(s) 2", value[:4] if not kw else "2300",
           "2262-04-11", fn=lambda: build(log(times), **kw))


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_out_of_range_datetime64_resolutions(unit):
    # built by numpy: pandas 2.2's to_datetime overflows on such dates itself
    times = pd.Series(np.array(["2024-01-01", "2024-01-05", "2400-01-06", "2024-01-02",
                                "2024-01-03"], dtype=f"datetime64[{unit}]"))
    raises(at.InputError, "column 'ts'", "2400-01-06", "row(s) 2",
           fn=lambda: build(log(times)))


def test_out_of_range_aware_datetimes():
    times = pd.Series(np.array(["2024-01-01", "2024-01-05", "1600-01-06", "2024-01-02",
                                "2024-01-03"], dtype="datetime64[s]")).dt.tz_localize("UTC")
    raises(at.InputError, "1600-01-06", "row(s) 2", fn=lambda: build(log(times)))


@pytest.mark.parametrize("value, unit", [(10**11, "s"), (-10**11, "s"), (10**17, "ms"),
                                         (1e300, "ms"), (float("inf"), "s"),
                                         (float("-inf"), "us"), (2**63 + 10, "ns")])
def test_out_of_range_epochs(value, unit):
    times = pd.Series([1, 2, value, 1, 2], dtype="uint64" if value == 2**63 + 10 else None)
    raises(at.InputError, "column 'ts'", "row(s) 2", f"as {unit} since 1970-01-01",
           "time_unit", fn=lambda: build(log(times), time_unit=unit))


def test_out_of_range_steps():
    times = pd.Series([1, 2, 2**64 - 1, 1, 2], dtype="uint64")
    raises(at.InputError, "row(s) 2", "int64 steps", fn=lambda: build(log(times),
                                                                      time_unit="step"))


@pytest.mark.parametrize("window", [("2300-01-01", "2400-01-01"), ("garbage", "2024-02-01"),
                                    (None, "2024-02-01")])
def test_out_of_range_or_bad_window_bounds(window):
    raises(at.ParameterError, "conversion_window bound", repr(window[0]),
           fn=lambda: build(log(DATES), conversion_window=window))


# ---------------------------------------------------------------- time zones
@pytest.mark.parametrize("tz", ["Mars/Base", "", 5, "../etc", ["UTC"]])
def test_bad_tz(tz):
    raises(at.ParameterError, f"tz={tz!r} is not a time zone", "'Europe/Paris'",
           fn=lambda: build(log(DATES), tz=tz))


@pytest.mark.parametrize("wall", ["2024-03-31 02:30", "2024-10-27 02:30"])
def test_wall_times_that_do_not_exist_or_happen_twice(wall):
    times = pd.Series(pd.to_datetime(["2024-03-30 10:00", "2024-03-30 11:00", wall,
                                      "2024-03-30 10:00", "2024-03-30 12:00"]))
    raises(at.InputError, "column 'ts'", wall, "row(s) 2", "tz='Europe/Paris'",
           "daylight-saving", fn=lambda: build(log(times), tz="Europe/Paris"))


def test_mixed_offsets_need_one_format():
    times = ["2024-03-30T10:00:00+01:00", "2024-03-31T10:00:00+02:00", "2024-03-31T11:00:00",
             "2024-03-30T10:00:00+01:00", "2024-03-31T10:00:00+02:00"]
    raises(at.InputError, "row 2", "'2024-03-31T11:00:00'", "%z",
           fn=lambda: build(log(times)))


# ---------------------------------------------------------------- the helpers themselves
@pytest.mark.parametrize("fn, cls, part", [
    (lambda: duration(30, "datetime", "lookback"), at.ParameterError, "lookback=30 has no unit"),
    (lambda: duration("x", "numeric", "lookback"), at.ParameterError, "not a number of steps"),
    (lambda: time_point(5, "datetime"), at.ParameterError, "bare number"),
    (lambda: time_point("5", "numeric"), at.ParameterError, "not a number"),
    (lambda: time_point(float("nan"), "numeric"), at.ParameterError, "not a number"),
    (lambda: time_values(pd.Series([datetime.date(2024, 1, 1), "x"]), "when"),
     at.ColumnTypeError, "column 'when'"),
])
def test_time_helpers(fn, cls, part):
    raises(cls, part, fn=fn)


def test_time_format_on_numbers():
    raises(at.ParameterError, "time_format='%Y'", "column 'ts'", "numbers", "drop time_format",
           fn=lambda: build(log(EPOCHS), time_unit="s", time_format="%Y"))


@pytest.mark.parametrize("model", ["linear", "markov", "time_decay"])
def test_transform_keeps_the_time_zone_of_the_input(model):
    """Per-touch output shows times in the input's zone (mixed offsets: UTC), the same instants
    as the input; a remainder row (Markov's (unallocated)) has NaT of that type."""
    paris = pd.Series(DATES).dt.tz_localize("Europe/Paris")
    mixed = ["2024-03-31T01:00:00+01:00", "2024-03-31T03:30:00+02:00",
             "2024-03-31T04:00:00+02:00", "2024-03-31T01:00:00+01:00",
             "2024-03-31T05:00:00+02:00"]
    params = {"half_life": "7D"} if model == "time_decay" else {}
    for times, zone in ((paris, "Europe/Paris"), (mixed, "UTC")):
        df = log(times)
        j = build(df)
        out = at.get_model(model, **params).fit(j).transform(j)
        assert str(out["time"].dtype) == f"datetime64[ns, {zone}]"
        touches = out[out["position"] >= 0]
        expect = pd.to_datetime(pd.Series(times), utc=True)[[0, 1, 3]]
        assert touches["time"].dt.tz_convert("UTC").tolist() == expect.tolist()
        assert out.loc[out["position"] < 0, "time"].isna().all()


def test_markov_remainder_rows_have_zone_aware_nat():
    """a > b and c convert once each (test_markov's hand-computed case): 1/3 of a conversion
    cannot be put on touches and goes to an (unallocated) row, whose time is NaT in UTC."""
    df = log(pd.Series(DATES).dt.tz_localize("UTC"), tp=["a", "b", None, "c", None])
    j = build(df)
    with pytest.warns(at.AttributionWarning, match="unallocated"):
        out = at.MarkovChain().fit(j).transform(j)
    assert str(out["time"].dtype) == "datetime64[ns, UTC]"
    rest = out[out["position"] < 0]
    assert rest["credit"].sum() == pytest.approx(1 / 3) and rest["time"].isna().all()
