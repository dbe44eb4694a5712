"""Times of events: what a time column holds, and durations and instants in its units.

A time column holds datetimes or plain integers. Either way its values become int64: datetimes
as nanoseconds since the epoch (time zones converted to UTC), integers as they are, in whatever
unit the data uses. That choice is the column's *time kind*, ``"datetime"`` or ``"numeric"``.
Windows (a lookback) and instants (the bounds of a conversion window) are read in the same
units, so they compare directly with the int64 times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys.validation import ColumnTypeError, ParameterError, check_no_missing

TIME_KINDS = ("datetime", "numeric")


def check_time_kind(kind: str) -> str:
    """Return ``kind`` if it is a time kind, else raise.

    Parameters
    ----------
    kind : str
        ``"datetime"`` or ``"numeric"``.

    Returns
    -------
    str
        ``kind`` itself.

    Raises
    ------
    ParameterError
        When ``kind`` is neither.
    """
    if kind not in TIME_KINDS:
        raise ParameterError(f"time_kind must be 'datetime' or 'numeric', got {kind!r}")
    return kind


def time_values(values: pd.Series, column: str) -> tuple[np.ndarray, str]:
    """The int64 times of a time column and its time kind.

    Parameters
    ----------
    values : pandas.Series
        The column: datetime64 (naive, or with a time zone: converted to UTC) or integers.
    column : str
        Its name, for error messages.

    Returns
    -------
    times : array of int64
        Nanoseconds since the epoch for datetimes, the integers themselves otherwise.
    kind : {"datetime", "numeric"}
        What ``times`` hold.

    Raises
    ------
    ColumnTypeError
        When the column is neither datetime64 nor integer (booleans are not times).
    InputError
        When the column has missing values.
    """
    dt = values.dtype
    if isinstance(dt, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        dt = values.dtype
    if pd.api.types.is_datetime64_dtype(dt):
        check_no_missing(values, column, "time")
        return values.to_numpy(dtype="datetime64[ns]").view(np.int64), "datetime"
    if pd.api.types.is_integer_dtype(dt) and not pd.api.types.is_bool_dtype(dt):
        check_no_missing(values, column, "time")
        return values.to_numpy(dtype=np.int64), "numeric"
    raise ColumnTypeError(
        f"column {column!r} (time) must be datetime64 or integer, got dtype {dt}; "
        f"convert it with pd.to_datetime(df[{column!r}])"
    )


def duration(x, kind: str, what: str) -> int | None:
    """A window length in the units of a time column.

    Parameters
    ----------
    x : str, pandas.Timedelta, int or None
        For datetimes anything :class:`pandas.Timedelta` reads (``"30D"``, ``"12h"``); for
        numeric times a non-negative integer.
    kind : {"datetime", "numeric"}
        The time kind of the column (see :func:`time_values`).
    what : str
        The argument's name, for error messages (``"lookback"``).

    Returns
    -------
    int or None
        Nanoseconds for datetimes, the integer itself for numeric times; None for None.

    Raises
    ------
    ParameterError
        When ``x`` is not a non-negative duration of the column's kind.
    """
    if x is None:
        return None
    if kind == "datetime":
        try:
            td = pd.Timedelta(x)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"{what} must be a duration like '30D' or '12h', got {x!r}"
                                 ) from exc
        if pd.isna(td) or td.value < 0:
            raise ParameterError(f"{what} must be a non-negative duration, got {x!r}")
        return int(td.value)
    if not isinstance(x, (int, np.integer)) or x < 0:
        raise ParameterError(f"{what} must be a non-negative integer in the units of the time "
                             f"column (it holds integers), got {x!r}")
    return int(x)


def time_point(x, kind: str):
    """An instant in the units of a time column.

    Parameters
    ----------
    x : str, datetime-like or number
        For datetimes anything :class:`pandas.Timestamp` reads; for numeric times a number.
    kind : {"datetime", "numeric"}
        The time kind of the column (see :func:`time_values`).

    Returns
    -------
    int or number
        Nanoseconds since the epoch for datetimes; ``x`` unchanged for numeric times.
    """
    return pd.Timestamp(x).value if kind == "datetime" else x
