"""Date strings in a time column: the one format of the column (given, or guessed once from
its first value) and every row parsed with it (:mod:`~attribution.journeys.times` has the rules).
"""

from __future__ import annotations

import datetime
import warnings

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from attribution.journeys.validation import InputError, ParameterError, _row_list


def column_content(values: pd.Series) -> str:
    """What a column holds: "datetimes", "strings", "datetime objects", "numbers", or else a
    description of it.
    """
    dt = values.dtype
    if isinstance(dt, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dt):
        return "datetimes"
    if pd.api.types.is_bool_dtype(dt):
        return "booleans"
    if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt):
        return "numbers"
    if pd.api.types.is_object_dtype(dt) or pd.api.types.is_string_dtype(dt):
        inferred = pd.api.types.infer_dtype(values, skipna=True)
        return {"string": "strings", "datetime": "datetime objects", "date": "datetime objects",
                "datetime64": "datetime objects", "integer": "numbers", "floating": "numbers",
                "mixed-integer-float": "numbers"}.get(inferred, f"a mix of values ({inferred}, "
                                                                f"dtype {dt})")
    return f"values of dtype {dt}"


def _guess_format(values: pd.Series, column: str) -> str | None:
    """The one format to parse a column of time strings with, guessed from its first value.

    Batch scoring calls it once on the input and passes the result as ``time_format`` to every
    chunk, so every chunk is read with the same format (and a row that does not match it is an
    error naming the row).

    Parameters
    ----------
    values : pandas.Series
        The time column (or a part of it, e.g. the first chunk).
    column : str
        Its name, for error messages.

    Returns
    -------
    str or None
        A strftime format; None when the column holds no strings (datetimes, numbers).

    Raises
    ------
    InputError
        When no format reads the first value, or every value reads both month-first and
        day-first (pass ``time_format`` then).
    """
    if column_content(values) != "strings":
        return None
    valid = values.notna().to_numpy()
    if not valid.any():
        return None
    pos = int(np.argmax(valid))
    first, label = values.iloc[pos], _row_list(values.index[pos:pos + 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when the guess contradicts dayfirst
        month_first = guess_datetime_format(first)
        day_first = guess_datetime_format(first, dayfirst=True)
    if month_first is None or day_first is None or month_first == day_first \
            or month_first.startswith("%Y"):  # year first: never year-day-month
        if month_first is None and day_first is None:
            raise InputError(
                f"column {column!r} (time): cannot tell the date format of row {label} "
                f"({first!r}); pass time_format= with its strftime codes, e.g. "
                f"time_format='%d/%m/%Y %H:%M'")
        return month_first or day_first
    misses = [int(_to_datetime(values[valid], fmt, column).isna().sum())
              for fmt in (month_first, day_first)]
    if misses == [0, 0]:
        raise InputError(
            f"column {column!r} (time): every date reads both month-first and day-first, e.g. "
            f"row {label} ({first!r}); pass time_format={day_first!r} or "
            f"time_format={month_first!r}")
    return month_first if misses[0] <= misses[1] else day_first


def infer_time_format(values: pd.Series, column: str) -> str | None:
    """The one format to parse a column of time strings with, guessed from its first value
    (an :class:`InferredFormat`; None when the column holds no strings); the rules and
    errors are those of :func:`_guess_format`.
    """
    fmt = _guess_format(values, column)
    return None if fmt is None else InferredFormat(fmt)


class InferredFormat(str):
    """A time format guessed by :func:`infer_time_format` (not given by the user): passed on
    as ``time_format``, messages about rows that do not fit it say it was guessed.
    """

    __slots__ = ()


def parse_time_strings(values: pd.Series, column: str, fmt, expected: str) -> pd.Series:
    """Strings parsed with ``fmt`` (datetime objects: ``fmt=None``); a row that is not a date
    of it (``expected`` says what the column is read as) is an error naming the row.
    """
    out = _to_datetime(values, fmt, column)
    bad = out.isna().to_numpy()
    if bad.any():
        pos = np.flatnonzero(bad)
        _refuse_out_of_range(values, pos, fmt, column)
        more = f" (and {len(pos) - 1} more rows)" if len(pos) > 1 else ""
        raise InputError(
            f"column {column!r} (time): row {_row_list(values.index[pos[:1]])} holds "
            f"{values.iloc[pos[0]]!r}{more}, which is not a date of {expected}; pass a "
            f"time_format that fits every row (strftime codes, or 'ISO8601'), or fix those rows")
    return out


def parse_date_strings(values: pd.Series, column: str, what: str) -> pd.Series:
    """Date strings of a parameter or side table (``what``: "the boundaries", ...) read in
    one inferred format, as the journeys' times are; an ambiguous or unreadable column is an
    InputError that asks for ISO dates (there is no ``time_format`` to pass there).
    """
    try:
        return parse_time_strings(values, column, infer_time_format(values, column), what)
    except InputError as exc:
        raise InputError(f"{str(exc).split('; pass')[0]}; write {what} as YYYY-MM-DD") from exc


def _to_datetime(values: pd.Series, fmt, column: str) -> pd.Series:
    """``pd.to_datetime`` with one format, NaT where a row is not a date of it; mixed offsets
    (a daylight-saving change) are converted to UTC.
    """
    naive, fmt = None, None if fmt is None else str(fmt)  # (pandas wants a str itself)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 2 warns on mixed offsets
        try:
            naive = pd.to_datetime(values, format=fmt, errors="coerce")
        except (ValueError, TypeError):  # mixed offsets (pandas 3); a bad format fails again
            pass
        read = naive is not None and pd.api.types.is_datetime64_any_dtype(naive.dtype)
        if read and not naive.isna().any():
            return naive  # (pandas 2 returns objects for mixed offsets)
        try:
            utc = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
        except (ValueError, TypeError) as exc:
            if read:
                return naive
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ParameterError(f"column {column!r} (time) cannot be read with format "
                                 f"{fmt!r}: {first}; pass time_format= with strftime codes "
                                 f"such as '%d/%m/%Y %H:%M'") from exc
    return utc if not read or utc.isna().sum() < naive.isna().sum() else naive


RANGE = "1677-09-21 to 2262-04-11, what nanosecond times hold"


def _refuse_out_of_range(values: pd.Series, pos: np.ndarray, fmt, column: str) -> None:
    """A row pandas could not read may be a real date out of the nanosecond range (pandas 2
    reads such strings as NaT): say so, naming the row, rather than "not a date".
    """
    text = str(values.iloc[pos[0]])
    try:
        if fmt is None or fmt == "ISO8601":
            datetime.datetime.fromisoformat(text)
        else:
            datetime.datetime.strptime(text, fmt)
    except (ValueError, TypeError):
        return  # not a date at all: the caller's message
    raise InputError(f"column {column!r} (time) holds {text} at row(s) "
                     f"{_row_list(values.index[pos])}: outside {RANGE}; drop or fix those rows")
