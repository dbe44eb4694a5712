"""Times of events: what a time column holds, and durations and instants in its units.

The rules (each broken rule is an error naming the column, row or parameter):

- **datetime64** columns, naive or with a time zone, are datetimes.
- **strings** are parsed with one format for the whole column: ``time_format`` (pandas
  strftime codes, or ``"ISO8601"``), else the format pandas guesses from the first value
  (:func:`~attribution.journeys.time_strings.infer_time_format`). A row that does not match
  it is an error naming the row. A first value that reads both month-first and day-first
  ("01/02/2024") takes the format that reads every row; when both do, the format must be
  given.
- **numbers** need ``time_unit``: ``"s"``, ``"ms"``, ``"us"`` or ``"ns"`` read them as times
  since 1970-01-01 UTC (datetimes); ``"step"`` keeps them as ordered steps (whole numbers:
  floats must be integral).
- Datetimes become int64 nanoseconds since the epoch in UTC, the *time kind* ``"datetime"``;
  steps stay as they are, ``"numeric"``. Datetimes outside 1677-09-21 .. 2262-04-11 (what
  int64 nanoseconds hold) are an error naming the row, never wrapped around.
- **Time zones**: input in one zone (a tz-aware column, strings with one offset) keeps it as
  the column's zone; mixed offsets (a daylight-saving change) are converted to UTC and the zone
  is UTC; epoch numbers are UTC. ``tz=`` names the zone instead: naive times are wall-clock
  times there (a time that does not exist or happens twice there is an error), aware times are
  shown in it.
- **Durations** (``lookback``, ``half_life``) on datetimes need a unit (``"30D"``, ``"12h"``, a
  Timedelta): a bare number is an error. On steps they are numbers of steps.
"""

from __future__ import annotations

import datetime
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from attribution.journeys.time_strings import (
    RANGE,
    InferredFormat,
    column_content,
    infer_time_format,
    parse_time_strings,
)
from attribution.journeys.validation import (
    ColumnTypeError,
    InputError,
    ParameterError,
    _row_list,
    check_no_missing,
)

TIME_KINDS = ("datetime", "numeric")
#: Nanoseconds per unit of epoch numbers (``time_unit``).
EPOCH_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
#: What ``time_unit`` may be.
TIME_UNITS = (*EPOCH_UNITS, "step")
_FIRST, _LAST = pd.Timestamp.min.value, pd.Timestamp.max.value  # int64 nanoseconds hold these
_FLOAT_LAST = float(np.nextafter(2.0**63, 0))  # the largest float64 below 2**63
_RANGE = RANGE
_BARE_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_STEPS = "the times are steps, time_unit='step'"


class TimeColumn(NamedTuple):
    """A time column as :func:`time_values` reads it."""

    values: np.ndarray  # int64: UTC nanoseconds since the epoch ("datetime"), or steps
    kind: str  # "datetime" or "numeric"
    zone: str | None  # the datetimes' time zone; None for naive datetimes and for steps
    format: str | None  # the format strings were parsed with; None if not strings


def check_time_kind(kind: str) -> str:
    """Return ``kind`` if it is a time kind (``"datetime"`` or ``"numeric"``), else raise
    :class:`ParameterError`.
    """
    if kind not in TIME_KINDS:
        raise ParameterError(f"time_kind must be 'datetime' or 'numeric', got {kind!r}")
    return kind


def time_values(values: pd.Series, column: str, *, time_unit=None, time_format=None,
                tz=None) -> TimeColumn:
    """The int64 times of a time column, its time kind and its zone (module docstring).

    Parameters
    ----------
    values : pandas.Series
        The column: datetime64 (naive or tz-aware), strings, datetime objects, or numbers.
    column : str
        Its name, for error messages.
    time_unit : {"s", "ms", "us", "ns", "step"}, optional
        What numbers mean; required for numbers, refused for anything else.
    time_format : str, optional
        The format of strings (``"%d/%m/%Y %H:%M"``, ``"ISO8601"``); default: inferred once.
    tz : str or tzinfo, optional
        The zone of the times: naive times are wall-clock times there, aware ones are shown in
        it.

    Returns
    -------
    TimeColumn
        ``(values, kind, zone, format)``.

    Raises
    ------
    ParameterError
        Numbers without ``time_unit``; an option that does not fit the column.
    ColumnTypeError
        A column that holds no times (booleans, a mix of strings and numbers).
    InputError
        Missing values; a string that does not match the format; a time out of range.
    """
    zone = _check_options(time_unit, time_format, tz)
    check_no_missing(values, column, "time")
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(values.dtype.categories.dtype)
    what = column_content(values)
    if what not in ("numbers", "strings", "datetimes", "datetime objects"):
        raise ColumnTypeError(
            f"column {column!r} (time) must hold datetimes, date strings or numbers, got "
            f"{what}; convert it with pd.to_datetime(df[{column!r}])")
    if time_format is not None and what != "strings":
        raise ParameterError(f"time_format={time_format!r} is for time columns of strings, "
                             f"but column {column!r} holds {what}; drop time_format")
    if what == "numbers":
        return _numbers(values, column, time_unit, zone)
    if time_unit is not None:
        raise ParameterError(f"time_unit={time_unit!r} is for time columns of numbers, but "
                             f"column {column!r} holds {what}; drop time_unit")
    if what == "strings":
        given = (f"time_format={str(time_format)!r}"
                 if time_format and not isinstance(time_format, InferredFormat) else None)
        time_format = time_format or infer_time_format(values, column)
        expected = given or f"the format {str(time_format)!r} guessed from the first value"
        values = parse_time_strings(values, column, time_format, expected)
    elif what == "datetime objects":
        values = parse_time_strings(values, column, None, "a datetime")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        zone = zone or _zone_name(values.dt.tz)
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif zone is not None:
        values = _localized(values, column, zone)
    return TimeColumn(_nanoseconds(values, column), "datetime", zone, time_format)


def duration(x, kind: str, what: str, *, whole: bool = True, steps: str = _STEPS):
    """A window length (``lookback``, ``half_life``) in the units of a time column.

    Parameters
    ----------
    x : str, pandas.Timedelta, number or None
        For datetimes a duration with a unit (``"30D"``, ``"12h"``, a Timedelta); for steps a
        number of steps (a number, or a string holding one).
    kind : {"datetime", "numeric"}
        The time kind of the column (see :func:`time_values`).
    what : str
        The argument's name, for error messages (``"lookback"``).
    whole : bool
        Whether a number of steps must be whole.
    steps : str
        Why the length counts steps, for error messages.

    Returns
    -------
    int, float or None
        Nanoseconds for datetimes, the number of steps otherwise; None for None.

    Raises
    ------
    ParameterError
        When ``x`` is negative, or not a length of the column's kind: a bare number on
        datetimes is refused (it has no unit).
    """
    if x is None:
        return None
    if kind == "datetime":
        if is_bare_number(x):
            n = f"{float(x.astype(np.int64) if isinstance(x, np.timedelta64) else x):g}"
            raise ParameterError(
                f"{what}={x!r} has no unit, but the times are datetimes; pass a duration "
                f"such as {what}='{n}D' (days) or '{n}h' (hours), or a pandas.Timedelta")
        try:
            td = pd.Timedelta(x)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ParameterError(f"{what} must be a duration such as '30D' or '12h', got "
                                 f"{x!r}") from exc
        if pd.isna(td) or td.value < 0:
            raise ParameterError(f"{what} must be a non-negative duration such as '30D', got "
                                 f"{x!r}")
        return int(td.value)
    if isinstance(x, str) and _BARE_NUMBER.fullmatch(x):
        x = float(x)
    if not is_bare_number(x) or isinstance(x, (bool, np.bool_, np.timedelta64)):
        raise ParameterError(f"{what}={x!r} is not a number of steps, but {steps}; pass a "
                             f"number, e.g. {what}=3")
    if not (np.isfinite(x) and x >= 0 and (not whole or x == int(x))):
        raise ParameterError(f"{what} must be a non-negative {'whole ' if whole else ''}"
                             f"number of steps ({steps}), got {x!r}")
    return int(x) if whole else float(x)


def time_point(x, kind: str, what: str = "conversion_window", zone=None):
    """An instant (a bound of ``conversion_window``) in the units of a time column.

    Parameters
    ----------
    x : str, datetime-like or number
        For datetimes anything :class:`pandas.Timestamp` reads but a bare number; for steps a
        number.
    kind : {"datetime", "numeric"}
        The time kind of the column (see :func:`time_values`).
    what : str
        The argument's name, for error messages.
    zone : str, optional
        The column's zone: a naive ``x`` is a wall-clock time there.

    Returns
    -------
    int or number
        Nanoseconds since the epoch (UTC) for datetimes; ``x`` itself for steps.

    Raises
    ------
    ParameterError
        When ``x`` is not an instant of the column's kind, or out of range.
    """
    if kind != "datetime":
        if not is_bare_number(x) or isinstance(x, (str, bool, np.bool_, np.timedelta64)) \
                or not np.isfinite(x):
            raise ParameterError(f"{what} bound {x!r} is not a number, but {_STEPS}; pass "
                                 f"step numbers, e.g. {what}=(0, 100)")
        return x
    if is_bare_number(x) and not isinstance(x, str):
        raise ParameterError(f"{what} bound {x!r} is a bare number, but the times are "
                             f"datetimes; pass a date such as '2024-01-01' or a Timestamp")
    try:
        ts = pd.Timestamp(x)
        if ts is not pd.NaT and ts.tzinfo is None and zone is not None:
            ts = ts.tz_localize(zone)
        if ts is pd.NaT:
            raise ValueError("NaT")
        return int(ts.as_unit("ns").value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ParameterError(f"{what} bound {x!r} is not a date in {_RANGE}; pass e.g. "
                             f"'2024-01-01'") from exc


def is_bare_number(x) -> bool:
    """Whether ``x`` is a number without a unit: a number, a string holding one, or a
    numpy timedelta64 with no unit.
    """
    if isinstance(x, np.timedelta64):
        return np.datetime_data(x.dtype)[0] == "generic"
    if isinstance(x, str):
        return _BARE_NUMBER.fullmatch(x) is not None
    return isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating))


# ---------------------------------------------------------------------- reading columns
def _check_options(time_unit, time_format, tz) -> str | None:
    """Check the options of :func:`time_values`; return the name of ``tz`` (None if none)."""
    if time_unit is not None and (not isinstance(time_unit, str) or time_unit not in TIME_UNITS):
        raise ParameterError(f"time_unit must be 's', 'ms', 'us' or 'ns' (epoch times) or "
                             f"'step' (ordered steps), got {time_unit!r}")
    if time_format is not None and (not isinstance(time_format, str) or not time_format):
        raise ParameterError(f"time_format must be a format string such as '%d/%m/%Y %H:%M' "
                             f"or 'ISO8601', got {time_format!r}")
    if tz is None:
        return None
    if time_unit == "step":
        raise ParameterError(f"tz={tz!r} is for datetimes, but {_STEPS}: drop tz")
    try:
        if not isinstance(tz, (str, datetime.tzinfo)):
            raise TypeError(type(tz).__name__)
        return _zone_name(pd.Timestamp("2000-01-01").tz_localize(tz).tzinfo)
    except Exception as exc:  # zoneinfo, pytz and dateutil each raise their own
        raise ParameterError(f"tz={tz!r} is not a time zone; pass a name such as "
                             f"'Europe/Paris' or 'UTC', or an offset such as '+01:00'") from exc


def _numbers(values: pd.Series, column: str, unit, zone) -> TimeColumn:
    """Numbers as epoch times (``unit`` "s" ... "ns") or steps ("step")."""
    if unit is None:
        raise ParameterError(
            f"column {column!r} (time) holds numbers: say what they are with time_unit='s' "
            f"(or 'ms', 'us', 'ns': times since 1970-01-01 UTC) or time_unit='step' (ordered "
            f"steps; durations are then numbers of steps)")
    if pd.api.types.is_object_dtype(values.dtype):
        values = pd.to_numeric(values)
    if pd.api.types.is_integer_dtype(values.dtype):
        x = values.to_numpy(dtype=np.float64 if _too_big(values) else np.int64)
    else:
        x = values.to_numpy(dtype=np.float64)
    if unit == "step":
        if x.dtype == np.float64:
            _refuse(values, (x != np.floor(x)) & np.isfinite(x), column,
                    "steps (time_unit='step') are whole numbers; round the column, or pass "
                    "time_unit='s' (or 'ms', 'us', 'ns') if these are epoch times")
            _refuse(values, ~(np.abs(x) <= _FLOAT_LAST), column,
                    "beyond what int64 steps hold; renumber the steps")
            x = x.astype(np.int64)
        return TimeColumn(x, "numeric", None, None)
    f = EPOCH_UNITS[unit]
    why = f"as {unit} since 1970-01-01 it is outside {_RANGE}; check time_unit or drop those rows"
    if x.dtype == np.int64:
        _refuse(values, (x < -(-_FIRST // f)) | (x > _LAST // f), column, why)
        return TimeColumn(x * f, "datetime", zone or "UTC", None)
    _refuse(values, ~((x * f >= _FIRST) & (x * f <= _FLOAT_LAST)), column, why)
    whole = np.floor(x)  # whole units and the fraction apart: exact to the float's precision
    ns = whole.astype(np.int64) * f + np.rint((x - whole) * f).astype(np.int64)
    return TimeColumn(ns, "datetime", zone or "UTC", None)


def _too_big(values: pd.Series) -> bool:
    """Whether unsigned integers exceed int64 (read them as floats, to be refused as such)."""
    return pd.api.types.is_unsigned_integer_dtype(values.dtype) and bool(
        len(values) and values.max() > np.iinfo(np.int64).max)


def _localized(values: pd.Series, column: str, zone: str) -> pd.Series:
    """Naive wall-clock times in ``zone``, as naive UTC."""
    local = values.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    _refuse(values, local.isna().to_numpy(), column,
            f"a wall-clock time that does not exist or happens twice in tz={zone!r} (a "
            f"daylight-saving change); give those times an offset or fix them")
    return local.dt.tz_convert("UTC").dt.tz_localize(None)


def _nanoseconds(values: pd.Series, column: str) -> np.ndarray:
    """Naive datetimes (any resolution) as int64 nanoseconds; out of range is an error."""
    arr = values.to_numpy()
    if arr.dtype != np.dtype("datetime64[ns]"):
        f = int(np.timedelta64(1, np.datetime_data(arr.dtype)[0]) // np.timedelta64(1, "ns"))
        i = arr.view(np.int64)
        _refuse(values, (i < -(-_FIRST // f)) | (i > _LAST // f), column,
                f"outside {_RANGE}; drop or fix those rows")
        arr = arr.astype("datetime64[ns]")
    return arr.view(np.int64)


def _refuse(values: pd.Series, bad: np.ndarray, column: str, why: str) -> None:
    """Raise :class:`InputError` naming the first ``bad`` row of the time column, if any."""
    if bad.any():
        pos = np.flatnonzero(bad)
        raise InputError(f"column {column!r} (time) holds {values.iloc[pos[0]]!s} at row(s) "
                         f"{_row_list(values.index[pos])}: {why}")


def _zone_name(tz) -> str:
    """A time zone as a string pandas reads back: "UTC", "Europe/Paris", "+01:00"."""
    if isinstance(tz, datetime.timezone):
        off = tz.utcoffset(None)
        if not off:
            return "UTC"
        sign, minutes = ("-", -off) if off < datetime.timedelta(0) else ("+", off)
        h, m = divmod(int(minutes.total_seconds()) // 60, 60)
        return f"{sign}{h:02d}:{m:02d}"
    return str(getattr(tz, "key", None) or getattr(tz, "zone", None) or tz)
