"""Credit over time: the per-touch credit of a model bucketed by the time of each conversion.

The model is fitted once, over the whole range of the data; ``by_period`` then sums the credit
of every touch (``model.transform(journeys)``, which carries each row's ``conversion_time``)
into the calendar period of the conversion the touch led to, so the periods add up to the
totals of the fit exactly as the per-touch credit does. A touch in January that led to a
conversion in February counts in February: credit is where the conversion is.

Periods are pandas periods (``"D"``, ``"W"`` = weeks ending on Sunday, ``"W-SAT"``, ``"M"``,
``"Q"``, ``"Y"``, ``"h"``; the words ``"day"``, ``"week"``, ``"month"``, ``"quarter"``,
``"year"`` too), taken in the journeys' time zone (a conversion at 23:30 in Paris on the 31st
is in that month). Journeys with numeric times (``time_unit="step"``) take a number: the
period of time ``t`` is ``t // freq``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys.validation import InputError, ParameterError

#: words accepted for the pandas period codes
WORDS = {"hour": "h", "day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y",
         # pandas' offset aliases of the same calendar periods (date_range's month end...)
         "me": "M", "qe": "Q", "ye": "Y"}
#: the remainder rows of ``transform`` (position -1): credit kept off the touches
REMAINDER = ("(baseline)", "(unattributed)", "(unallocated)", "(unseen)")


def period_freq(freq) -> str:
    """``freq`` as a pandas period code (``"W-SUN"``, ``"M"``...), or a ParameterError."""
    if isinstance(freq, str):
        code = WORDS.get(freq.strip().lower(), freq.strip())
        try:
            probe = pd.Period("2000-01-03", freq=code)
        except (ValueError, TypeError) as exc:
            raise ParameterError(
                f"freq must be a period such as 'D', 'W', 'M', 'Q', 'Y' (or 'day', 'week', "
                f"'month', 'quarter', 'year'), got {freq!r}") from exc
        if probe.freq.n != 1:
            raise ParameterError(f"freq must be one period ('W', not {freq!r}); periods of "
                                 "several units are not calendar periods")
        return probe.freqstr
    raise ParameterError(f"freq must be a period string such as 'W' or 'M', got "
                         f"{type(freq).__name__} {freq!r}")


def conversion_periods(times, freq):
    """The period of each conversion time: a pandas ``PeriodArray`` for datetimes (in their
    time zone), or ``t // freq`` (int64) for numeric times with an integer ``freq``.
    """
    times = pd.Series(times).reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(times.dtype):
        code = period_freq(freq)
        if getattr(times.dt, "tz", None) is not None:
            times = times.dt.tz_localize(None)  # the local wall time: periods of that zone
        if times.isna().any():
            raise InputError(f"{int(times.isna().sum())} conversion time(s) are missing; "
                             "by_period needs the time of every conversion")
        return times.dt.to_period(code).array
    if isinstance(freq, (int, np.integer)) and not isinstance(freq, bool) and freq > 0:
        t = times.to_numpy(dtype=np.int64)
        return t // int(freq)
    raise ParameterError(f"these journeys have numeric times (steps): freq must be a whole "
                         f"number of steps > 0, got {freq!r}")


def by_period(touches: pd.DataFrame, freq, level: str | None = None,
              entities=None) -> pd.DataFrame:
    """Credit per period of conversion and entity, from per-touch credit.

    Parameters
    ----------
    touches : pandas.DataFrame
        ``model.transform(journeys)`` of journeys with times (it has ``conversion_time``).
    freq : str or int
        Period of the buckets (module docstring); a number of steps for numeric times.
    level : {"touchpoint", "channel"}, optional
        Entities to sum over; default the finest in ``touches``.
    entities : sequence of str, optional
        Order of the entities in the output (e.g. the result's names); others follow.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``entity``, ``conversions``, ``value``, ``share`` and ``value_share``
        (of the period's total, rows such as ``(baseline)`` included): one row per period and
        entity with credit in it (an entity without credit in a period has no row; pivot
        with ``fill_value=0`` for a grid). Summed over periods, the credit equals the sum of
        ``touches``. Sorted by period, then entity order.
    """
    if not isinstance(touches, pd.DataFrame):
        raise ParameterError(f"touches must be the frame of model.transform(journeys), got "
                             f"{type(touches).__name__}")
    level = touch_level(touches, level)
    if "conversion_time" not in touches:
        raise InputError(
            "the per-touch credit has no conversion_time column: credit by period needs "
            "journeys with times (Journeys.from_events(df, time=...)); path tables have none")
    missing = [c for c in ("credit", "value_credit") if c not in touches]
    if missing:
        raise InputError(f"touches has no {missing[0]!r} column; pass the frame of "
                         "model.transform(journeys)")
    period = conversion_periods(touches["conversion_time"], freq)
    key = pd.DataFrame({"period": period,
                        "entity": np.asarray(touches[level].astype(str), dtype=object),
                        "conversions": touches["credit"].to_numpy(np.float64),
                        "value": touches["value_credit"].to_numpy(np.float64)})
    out = key.groupby(["period", "entity"], sort=False, observed=True)[
        ["conversions", "value"]].sum().reset_index()
    rank = _entity_rank(out["entity"], entities)
    out = out.assign(_rank=rank).sort_values(["period", "_rank", "entity"], kind="stable")
    out = out.drop(columns="_rank").reset_index(drop=True)
    for col, name in (("conversions", "share"), ("value", "value_share")):
        tot = out.groupby("period", sort=False, observed=True)[col].transform("sum")
        out[name] = np.divide(out[col], tot, out=np.zeros(len(out)), where=tot.to_numpy() != 0)
    return out


def touch_level(touches: pd.DataFrame, level: str | None) -> str:
    """The entity column of ``touches`` to sum over (``level``, or the finest present)."""
    if level is None:
        level = "touchpoint" if "touchpoint" in touches else "channel"
    if level not in ("touchpoint", "channel"):
        raise ParameterError(f"level must be 'touchpoint' or 'channel', got {level!r}")
    if level not in touches:
        raise InputError(f"touches has no {level!r} column (a model fitted at channel level "
                         "has only channels); pass level='channel' or fit at touchpoint level")
    return level


def _entity_rank(names: pd.Series, entities) -> np.ndarray:
    """Position of each name in ``entities`` (the remainder rows last, then unknown names)."""
    known = pd.Index([] if entities is None else [str(e) for e in entities])
    pos = known.get_indexer(names)
    other = np.where(names.isin(REMAINDER).to_numpy(), len(known), len(known) + 1)
    return np.where(pos >= 0, pos, other).astype(np.int64)


def check_touches(result, touches: pd.DataFrame) -> None:
    """Refuse per-touch credit that is not ``result``'s: summed per entity of the result's
    level, ``touches`` must give the result's credit of each entity (to rounding), as
    ``model.transform(journeys)`` of the fitted model does on the journeys it was fitted on.
    """
    if not isinstance(touches, pd.DataFrame) or "credit" not in touches:
        raise ParameterError("touches must be the per-touch credit, "
                             "touches=model.transform(journeys)")
    col = touch_level(touches, result.level)
    got = touches.groupby(touches[col].astype(str), sort=False)["credit"].sum()
    if "(unallocated)" in got.index:  # credit the result keeps off its touches: no check
        return
    want = result.to_frame().set_index("entity")["conversions"]
    want.index = want.index.astype(str)
    got, want = got.drop(list(REMAINDER), errors="ignore"), want.drop(list(REMAINDER),
                                                                      errors="ignore")
    diff = got.reindex(want.index, fill_value=0.0) - want
    extra = got.index.difference(want.index)
    tol = 1e-6 * max(1.0, float(np.abs(want).sum()))
    if len(extra) or (len(diff) and float(np.abs(diff).max()) > tol):
        worst = str(extra[0]) if len(extra) else str(np.abs(diff).idxmax())
        raise InputError(
            f"touches do not add up to this result's credit ({col} {worst!r}: "
            f"{got.get(worst, 0.0):.6g} vs {want.get(worst, 0.0):.6g}): pass "
            "touches=model.transform(journeys) of the same fitted model and journeys")
