"""Lift-test tables: randomised experiments that a value model can be calibrated to.

A lift test holds a random part of the people out of a channel (or of one touchpoint) and
measures the conversions the channel adds. A table has one row per experiment:

- ``channel`` or ``touchpoint``: what was held out (one of the two columns);
- ``incremental``: the conversions the channel adds over the journeys the model is fitted on
  (the measured lift per person times the people of the period, not of the test cell);
- ``se``: its standard error, or ``lower`` and ``upper``: its 95% interval (se = (upper -
  lower) / (2 x 1.96));
- ``start``, ``end`` (optional): the period the experiment covers, end exclusive; the journeys
  whose conversion (or, not converting, last touch) time falls in it are its population. Rows
  without them cover every journey.

Other columns are kept but not read. :func:`read_experiments` checks a table and returns it
in one form; the calibration itself is in :mod:`attribution.models._calibrate`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from attribution.journeys.time_strings import column_content, parse_date_strings
from attribution.journeys.validation import (
    AttributionWarning,
    InputError,
    MissingColumnError,
    ParameterError,
)

#: the columns read_experiments returns
COLUMNS = ("entity", "level", "incremental", "se", "start", "end")
READ = "attribution_lift_tests"  # the attrs key of a table read_experiments returned
Z95 = float(stats.norm.ppf(0.975))


def read_experiments(table) -> pd.DataFrame:
    """The lift-test ``table`` (a DataFrame, or the path of a CSV or Parquet file) checked
    and in one form: columns entity, level (``"channel"`` or ``"touchpoint"``), incremental,
    se, start, end (NaT where open). Raises naming the column, row and fix.
    """
    source = "experiments"
    if isinstance(table, (str, Path)):
        source = str(table)
        try:
            table = (pd.read_parquet(table) if str(table).endswith((".parquet", ".pq")) else
                     pd.read_csv(table, dtype={"channel": str, "touchpoint": str}))  # "0019"
        except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError,
                UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the lift-test table {source!r}: {exc}") from exc
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"experiments must be a DataFrame or a CSV path (columns channel "
                             f"or touchpoint, incremental, se), got {type(table).__name__}")
    if len(table) == 0:
        raise InputError(f"{source}: the lift-test table has no rows")
    table = table.reset_index(drop=True)
    read = list(table.columns[:len(COLUMNS)]) == list(COLUMNS)  # this function's own form
    if read:  # (e.g. a replicate's): checked again, a user may write it
        if "channel" in table or "touchpoint" in table:
            raise InputError(f"{source}: give what was held out as 'entity' and 'level' or as "
                             "'channel' or 'touchpoint', not both; drop one")
        bad = ~table["level"].isin(["channel", "touchpoint"])
        if bad.any():
            raise InputError(f"{source}: row {int(np.flatnonzero(bad)[0])}: level must be "
                             "'channel' or 'touchpoint'")
        level, name_col = table["level"].to_numpy(), "entity"
    else:
        level = [c for c in ("channel", "touchpoint") if c in table]
        if len(level) != 1:
            raise MissingColumnError(f"{source}: a lift-test table needs exactly one of the "
                                     "columns 'channel' or 'touchpoint' (what was held out; "
                                     "or entity, level, incremental, se, start, end first, "
                                     "the form read_experiments returns); "
                                     f"it has {level or 'neither'} (columns: "
                                     f"{', '.join(map(str, table.columns[:8]))}; CSV with "
                                     "commas)")
        level = name_col = level[0]
    names = table[name_col]
    bad = names.isna() | (names.astype(str).str.strip() == "")
    if bad.any():
        raise InputError(f"{source}: row {int(np.flatnonzero(bad)[0])} has no {name_col} name")
    incremental = _numbers(table, "incremental", source)
    se = _standard_errors(table, source, incremental)
    start, end = _period(table, source)
    out = pd.DataFrame({"entity": names.astype(str).to_numpy(), "level": level,
                        "incremental": incremental, "se": se, "start": start, "end": end})
    same = out.duplicated(keep=False)
    if same.any() and not table.attrs.get(READ):  # once, not in every replicate
        rows = np.flatnonzero(same)[:2]
        warnings.warn(f"{source}: rows {rows[0]} and {rows[1]} are the same test "
                      f"({out['level'].iloc[rows[0]]} "
                      f"{out['entity'].iloc[rows[0]]}, incremental "
                      f"{out['incremental'].iloc[rows[0]]:g}, se {out['se'].iloc[rows[0]]:g}): "
                      "each row counts as independent evidence; drop the copy if it is one",
                      AttributionWarning, stacklevel=3)
    if read:
        out = pd.concat([out, table.iloc[:, len(COLUMNS):]], axis=1)
    else:
        known = {level, "incremental", "se", "lower", "upper", "start", "end", *COLUMNS}
        for col in table.columns:  # kept as they are (e.g. the simulator's true_incremental)
            if col not in known:
                out[col] = table[col].to_numpy()
    out.attrs[READ] = True
    return out


def row_of(exps: pd.DataFrame, e) -> int:
    """The row of experiment ``e`` in the table the user gave (an epoch's share of a table
    keeps it in its ``table_row`` column): what messages name.
    """
    return int(exps["table_row"].iloc[e]) if "table_row" in exps else int(e)


def no_touchpoint_tests(exps: pd.DataFrame, data_level: str, fit_level: str) -> pd.DataFrame:
    """``exps`` unchanged, or a ParameterError where the model recodes touchpoint journeys to
    channels and a row holds out a touchpoint: the channel named like it is not what the test
    held out. (A path table's journeys are channel level from the start: its items are
    the touchpoints a test may name.)
    """
    held = np.flatnonzero(exps["level"].to_numpy() == "touchpoint")
    if data_level != fit_level and len(held):
        raise ParameterError(f"experiment row {row_of(exps, held[0])} holds out touchpoint "
                             f"{exps['entity'].iloc[held[0]]!r}, but the model is fitted at "
                             "channel level; fit at touchpoint level")
    return exps


def _numbers(table, col, source) -> np.ndarray:
    if col not in table:
        raise MissingColumnError(f"{source}: the lift-test table has no {col!r} column")
    flags = table[col].map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(bool)
    values = pd.to_numeric(table[col].where(~flags), errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)  # (True is not 1 conversion)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        given = table[col].iloc[row]
        raise InputError(f"{source}: column {col!r}, row {row}: "
                         f"{repr(given) if isinstance(given, str) else given} is not a finite "
                         "number")
    return values


def _standard_errors(table, source, inc) -> np.ndarray:
    if "se" in table and ("lower" in table or "upper" in table):
        raise InputError(f"{source}: give each test's 'se' or its interval 'lower' and 'upper', "
                         "not both (they may disagree); drop one")
    if "se" in table:
        se = _numbers(table, "se", source)
    elif "lower" in table and "upper" in table:
        lower, upper = _numbers(table, "lower", source), _numbers(table, "upper", source)
        se = (upper - lower) / (2 * Z95)
        bad = (inc < lower) | (inc > upper)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{source}: row {row}: incremental {inc[row]:g} lies outside its "
                             f"interval [{lower[row]:g}, {upper[row]:g}]; check the columns")
    else:
        raise MissingColumnError(f"{source}: the lift-test table needs 'se' (the standard "
                                 "error of incremental) or 'lower' and 'upper' (its 95% interval)")
    bad = ~(se > 0)
    if bad.any():
        raise InputError(f"{source}: row {int(np.flatnonzero(bad)[0])}: the standard error must "
                         "be > 0 (upper above lower); an exact experiment has no error to weigh")
    return se


def _period(table, source):
    if ("start" in table) != ("end" in table):
        raise MissingColumnError(f"{source}: give both 'start' and 'end' (the experiment's "
                                 "period, end exclusive) or neither")
    if "start" not in table:
        return pd.NaT, pd.NaT
    out = []
    for col in ("start", "end"):
        values = table[col]
        given = values.notna()
        content = column_content(values[given])
        if given.any() and content not in ("strings", "datetimes", "datetime objects"):
            row = int(np.flatnonzero(given)[0])
            raise InputError(f"{source}: column {col!r}, row {row}: {values.iloc[row]} is not a "
                             f"date ({content}); write the dates of a lift-test table as "
                             "YYYY-MM-DD")
        if content == "strings":  # one format, never a guess per row:
            try:  # 01/02/2024, read both ways, is refused
                parsed = parse_date_strings(values[given], col,
                                            "the dates of a lift-test table")
            except InputError as exc:
                raise InputError(f"{source}: {exc}") from exc
            values = pd.Series(pd.NaT, index=values.index, dtype=parsed.dtype)
            values[given] = parsed
        try:
            values = pd.to_datetime(values)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{source}: column {col!r} must hold dates: {exc}") from exc
        if getattr(values.dt, "tz", None) is not None:
            raise InputError(f"{source}: column {col!r} has a time zone; give local dates (the "
                             "journeys' own zone is used)")
        out.append(values.to_numpy())
    start, end = out
    bad = ~pd.isna(start) & ~pd.isna(end) & (end <= start)
    if bad.any():
        raise InputError(f"{source}: row {int(np.flatnonzero(bad)[0])}: end must be after start")
    return start, end


def covered(journeys, start, end) -> np.ndarray:
    """Boolean mask of the journeys whose end (conversion or last touch) lies in the period
    ``[start, end)`` of an experiment (a missing bound is open), read as wall times of the
    journeys' time zone.
    """
    t = journeys.end_times
    keep = np.ones(journeys.n_journeys, dtype=bool)
    for bound, side in ((start, 1), (end, -1)):
        if not pd.isna(bound):
            stamp = pd.Timestamp(bound)
            if journeys.time_zone is not None:
                # a date whose midnight the clocks skip (or pass twice) starts at its
                # first instant
                stamp = stamp.tz_localize(journeys.time_zone, ambiguous=True,
                                          nonexistent="shift_forward")
                stamp = stamp.tz_convert("UTC").tz_localize(None)
            keep &= (t >= stamp.value) if side == 1 else (t < stamp.value)
    return keep


def replicate_experiments(exps: pd.DataFrame, base):
    """A function ``(conversions, nulls) -> lift tests`` for the bootstrap replicates of
    journeys ``base``: a test measured a lift per person of its period, so in a replicate its
    ``incremental`` and ``se`` scale with the people its period holds there over the data's;
    a test whose period the replicate leaves empty is left out of it, with a warning (None
    when none is left: the replicate is fitted uncalibrated).
    """
    dated = exps[["start", "end"]].notna().any(axis=1).to_numpy()
    masks = [covered(base, s, e) if d else None
             for s, e, d in zip(exps["start"], exps["end"], dated, strict=True)]

    def people(c, u):
        n = np.asarray(c, np.float64) + np.asarray(u, np.float64)
        return np.array([n.sum() if m is None else n[m].sum() for m in masks])

    data = people(base.conversions, base.nulls)

    def for_replicate(c, u):
        ratio = people(c, u) / data
        keep = ratio > 0
        for e in np.flatnonzero(~keep):
            warnings.warn(f"experiment row {row_of(exps, e)} ({exps['entity'].iloc[e]!r}) covers "
                          "no journey of a bootstrap replicate and is left out of it: its "
                          "period holds few journeys", AttributionWarning, stacklevel=2)
        if not keep.any():
            warnings.warn("no experiment covers a journey of a bootstrap replicate: it is "
                          "fitted uncalibrated", AttributionWarning, stacklevel=2)
            return None
        out = exps[keep].copy()
        out["incremental"] *= ratio[keep]
        out["se"] *= ratio[keep]
        return out.reset_index(drop=True)

    return for_replicate
