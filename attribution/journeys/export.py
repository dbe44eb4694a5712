"""Journeys written out: each path as one string, and path tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.journeys.validation import check_separator_free


def path_strings(journeys, sep: str = " > ") -> np.ndarray:
    """The path of each journey as one string.

    Parameters
    ----------
    journeys : Journeys
    sep : str
        Joins the names; no name may contain it (stripped of spaces).

    Returns
    -------
    array of str objects, shape (n_journeys,)
    """
    check_separator_free(journeys.names, sep.strip(), journeys.level)
    names = pa.array(list(journeys.names), type=pa.string()).take(pa.array(journeys.codes))
    offsets = (journeys.offsets.astype(np.int32) if journeys.n_touches < 2**31
               else journeys.offsets)
    lists = pa.ListArray.from_arrays(pa.array(offsets), names)
    return np.asarray(pc.binary_join(lists, sep).to_numpy(zero_copy_only=False), dtype=object)


def to_paths(journeys, sep: str = " > ", aggregate: bool = True) -> pd.DataFrame:
    """A path table, readable again with ``Journeys.from_paths``.

    Parameters
    ----------
    journeys : Journeys
    sep : str
        Joins the names of a path.
    aggregate : bool
        One row per distinct path (default), or one per journey.

    Returns
    -------
    pandas.DataFrame
        Columns ``path``, ``total_conversions``, ``total_null``, ``total_conversion_value``.
    """
    src = journeys.aggregate() if aggregate else journeys
    return pd.DataFrame({
        "path": path_strings(src, sep),
        "total_conversions": src.conversions,
        "total_null": src.nulls,
        "total_conversion_value": src.value,
    })


def time_column(journeys, t: np.ndarray):
    """Touch times ``t`` (int64, as in ``journeys.times``) as a column of a frame.

    Parameters
    ----------
    journeys : Journeys
        Gives the time kind and the time zone.
    t : array of int64
        UTC nanoseconds since the epoch (datetimes) or steps.

    Returns
    -------
    pandas array or numpy array
        Datetimes in ``journeys.time_zone`` (tz-aware); naive datetime64[ns] without a zone;
        ``t`` itself for steps.
    """
    if journeys.time_kind != "datetime":
        return t
    naive = np.asarray(t, dtype=np.int64).view("datetime64[ns]")
    if journeys.time_zone is None:
        return naive
    return pd.DatetimeIndex(naive).tz_localize("UTC").tz_convert(journeys.time_zone).array


def missing_times(journeys, k: int):
    """``k`` missing touch times, of the type :func:`time_column` gives: NaT (in the time zone
    of ``journeys``) for datetimes, -1 for steps.
    """
    if journeys.time_kind != "datetime":
        return np.full(k, -1, dtype=np.int64)
    return time_column(journeys, np.full(k, np.iinfo(np.int64).min, dtype=np.int64))  # NaT
