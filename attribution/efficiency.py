"""Money: what each attributed conversion cost (CPA) and what each unit of spend returned (ROAS).

``efficiency(result, spend)`` (also ``result.efficiency(spend)``) joins a spend table to the
credit of a fitted model, entity by entity:

- ``cpa = cost / conversions`` (cost per attributed conversion) and
  ``roas = value / cost`` (attributed value per unit of cost).
- The credit is the result's: for a model with a baseline (``(baseline)`` row; ``Shapley``,
  ``Logistic`` and ``AdditiveHazard`` with ``credit="incremental"``) the entities hold the
  *incremental* conversions, so ``cpa`` is the cost per incremental conversion and ``roas``
  the incremental return (column ``basis`` says which); fit the model with
  ``credit="total"`` for the figures on total credit.
- Nothing is dropped: every entity of the result is listed (status ``"no spend"`` when the
  spend table has no row for it), and so is every spend row (``"no credit"``: the entity got
  none; ``"unknown"``: the data never names it, often a spelling). Rows the model keeps off
  the entities (``(baseline)``...) are listed with their own status.
- A spend table without a ``period`` column is matched on totals. With one, each conversion's
  credit is matched to the spend of its period at the spend table's frequency: that needs the
  per-touch credit with conversion times, ``touches=model.transform(journeys)``
  (:func:`attribution.periods.by_period`).
- With bootstrap replicates on the result (``attribution.bootstrap(model, journeys)``), the
  totals get percentile intervals of ``cpa`` and ``roas`` (cost is taken as known): the
  replicates' alpha/2 and 1 - alpha/2 quantiles by the (B + 1) q rule of the bootstrap.

Spend table periods: pandas periods, dates, or strings such as ``"2024-01"`` (a month),
``"2024-01-08"`` (a day), ``"2024-01-08/2024-01-14"`` (a week, as pandas prints weeks),
``"2024Q1"``, ``"2024"``. Every row must have the same kind of period; ``freq="W"`` reads each
date as the week that contains it (weeks ending on Sunday; ``"W-SAT"`` for weeks from Sunday).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from attribution import periods as _periods
from attribution.journeys.validation import (
    AttributionWarning,
    InputError,
    MissingColumnError,
    ParameterError,
    check_no_missing,
    label_column,
    numeric_column,
    require_columns,
    require_frame,
)

SUB_DAILY = {"h", "min", "s", "ms", "us", "ns"}


def efficiency(result, spend: pd.DataFrame, touches: pd.DataFrame | None = None, *,
               cost: str = "cost", period: str = "period", freq=None,
               alpha: float = 0.05) -> pd.DataFrame:
    """Cost, credit, CPA and ROAS per entity (module docstring).

    Parameters
    ----------
    result : AttributionResult
        A fitted model's ``result_``. At touchpoint level, a spend table per channel rolls
        the credit up to channels.
    spend : pandas.DataFrame
        One row per entity (and period): a ``channel`` or ``touchpoint`` column, the
        ``cost`` column, optionally the ``period`` column.
    touches : pandas.DataFrame, optional
        ``model.transform(journeys)``: needed when ``spend`` has a period column.
    cost, period : str
        Column names in ``spend``.
    freq : str, optional
        The period each ``period`` value stands for ("W": the week containing the date);
        default read from the values.
    alpha : float
        1 - confidence level of the intervals (results with bootstrap replicates).

    Returns
    -------
    pandas.DataFrame
        (``period``), ``entity``, ``status``, ``basis``, ``cost``, ``conversions``,
        ``value``, ``cpa``, ``roas`` (and ``cpa_lower``, ``cpa_upper``, ``roas_lower``,
        ``roas_upper`` with replicates, totals only). Status: ``ok``, ``no spend``,
        ``no credit``, ``unknown``, ``zero cost``, ``negative credit``, or the name of a row
        such as ``(baseline)`` without parentheses.
    """
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1), got {alpha!r}")
    spend = require_frame(spend, "the spend table")
    result, key = _spend_level(result, spend)
    require_columns(spend, {"cost": cost})
    costs = numeric_column(spend[cost], cost, "cost")
    names = label_column(spend[key], key, key).astype(str).to_numpy(dtype=object)
    table = pd.DataFrame({"entity": names, "cost": costs}, index=spend.index)
    has_period = period is not None and period in spend
    if has_period:
        check_no_missing(spend[period], period, "period")
        table.insert(0, "period", spend_periods(spend[period], period, freq))
        if touches is None:
            raise ParameterError(
                f"the spend table has a {period!r} column: pass "
                "touches=model.transform(journeys) so each conversion's credit meets the "
                f"spend of its period, or drop the {period!r} column to match totals")
    elif freq is not None:
        raise ParameterError(f"freq is for a spend table with a {period!r} column; this one "
                             "has none")
    _check_duplicates(table, key, period if has_period else None)
    if has_period:
        _periods.check_touches(result, touches)
        code = table["period"].array.freqstr if isinstance(
            table["period"].dtype, pd.PeriodDtype) else freq
        credit = _periods.by_period(touches, code, level=key, entities=result.names)
        credit = credit[["period", "entity", "conversions", "value"]]
        on = ["period", "entity"]
    else:
        frame = result.to_frame()
        credit = frame[["entity", "conversions", "value"]]
        on = ["entity"]
    out = credit.merge(table, on=on, how="outer", sort=False)
    out = _order(out, result, on)
    out = _metrics(out, result)
    if not has_period and getattr(result, "bootstrap_", None) is not None:
        out = _intervals(out, result.bootstrap_, alpha)
    _check_matches(out, result, key, has_period)
    out.attrs.update(level=key, basis=_basis(result))
    return out


def _spend_level(result, spend: pd.DataFrame):
    """The result at the spend table's level, and the spend table's entity column."""
    if result.level in spend:
        return result, result.level
    if "channel" in spend:  # touchpoint credit, spend per channel: roll the credit up
        return result.at_level("channel"), "channel"
    if "touchpoint" in spend:
        raise ParameterError(
            "the spend table is per touchpoint but the result is per channel; fit the model "
            "at touchpoint level (level='touchpoint'), or give the spend per channel")
    present = ", ".join(repr(str(c)) for c in spend.columns)
    raise MissingColumnError(
        f"the spend table needs a 'channel' or 'touchpoint' column naming what each cost "
        f"paid for; it has {present}; rename the column, e.g. "
        f"spend.rename(columns={{'<name>': 'channel'}})")


def spend_periods(values: pd.Series, column: str = "period", freq=None):
    """The spend table's periods as a pandas ``PeriodArray`` (module docstring), or as int64
    step numbers for journeys with numeric times (integer periods with an integer ``freq``).
    """
    if isinstance(freq, (int, np.integer)) and not isinstance(freq, bool):
        if not pd.api.types.is_integer_dtype(values.dtype):
            raise InputError(f"column {column!r} must hold whole step numbers with an integer "
                             f"freq, got dtype {values.dtype}")
        return values.to_numpy(np.int64)
    code = None if freq is None else _periods.period_freq(freq)
    if isinstance(values.dtype, pd.PeriodDtype):
        if code is not None and values.array.freqstr != code:
            raise InputError(f"column {column!r} holds {values.array.freqstr} periods but "
                             f"freq={freq!r}; drop freq or convert the periods")
        return values.array
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        return values.dt.to_period(code or "D").array
    uniq = pd.unique(values.astype(str).to_numpy(dtype=object))
    parsed = [_parse_period(s, code, column, values) for s in uniq]
    kinds = {p.freqstr for p in parsed}
    if len(kinds) > 1:
        raise InputError(
            f"column {column!r} mixes periods of different lengths ({', '.join(sorted(kinds))})"
            f"; write every period alike, or pass freq='W' (or 'M'...) to read each date as "
            f"the period that contains it")
    lookup = pd.Series(parsed, index=uniq)
    return pd.array(lookup.loc[values.astype(str).to_numpy(dtype=object)].to_list(),
                    dtype=pd.PeriodDtype(parsed[0].freqstr))


def _parse_period(text: str, code, column: str, values: pd.Series) -> pd.Period:
    """One spend-table period string; InputError naming the row when it does not parse."""
    try:
        if "/" in text:  # a week as pandas prints it: "2024-01-08/2024-01-14"
            start, end = (pd.Timestamp(x) for x in text.split("/"))
            if end - start != pd.Timedelta(days=6):
                raise ValueError(text)
            own = pd.Period(start, freq="W-" + end.day_name()[:3].upper())
        else:
            own = pd.Period(text)
    except (ValueError, TypeError, OverflowError) as exc:
        row = values.index[np.flatnonzero(values.astype(str).to_numpy() == text)[0]]
        raise InputError(
            f"column {column!r} row {row!r} holds {text!r}, which is not a period; write "
            "periods as '2024-01' (month), '2024-01-08' (day; pass freq='W' to read dates as "
            "weeks), '2024-01-08/2024-01-14' (week), '2024Q1' or '2024'") from exc
    if code is None:
        if own.freqstr in SUB_DAILY:
            raise InputError(f"column {column!r} holds times such as {text!r}; pass freq='D' "
                             "(or 'W', 'M') to say which period each time stands for")
        return own
    if own.freqstr == code:
        return own
    if own.freqstr == "D" or own.freqstr in SUB_DAILY:
        return pd.Period(own.start_time, freq=code)
    raise InputError(f"column {column!r} holds {text!r}, a {own.freqstr} period, but "
                     f"freq={code!r}; drop freq or write the periods as dates")


def _check_duplicates(table: pd.DataFrame, key: str, period) -> None:
    """Refuse two spend rows for one entity (and period), naming them."""
    cols = ["period", "entity"] if period else ["entity"]
    dup = table.duplicated(cols, keep=False).to_numpy()
    if dup.any():
        first = table[dup].iloc[0]
        same = table.index[dup & (table[cols] == first[cols]).all(axis=1).to_numpy()]
        where = f" in period {first['period']}" if period else ""
        by = f"[{period!r}, {key!r}]" if period else f"{key!r}"
        raise InputError(
            f"the spend table has {len(same)} rows ({', '.join(map(repr, same[:5]))}) for "
            f"{key} {first['entity']!r}{where}; sum them first: "
            f"spend.groupby({by}, as_index=False)['cost'].sum()")


def _order(out: pd.DataFrame, result, on) -> pd.DataFrame:
    """Entities in the result's order, then rows such as ``(baseline)``, then unknown names;
    by period first when there are periods.
    """
    known = [str(n) for n in result.names] + [str(k) for k in result.extra]
    pos = pd.Index(known).get_indexer(out["entity"])
    out = out.assign(_rank=np.where(pos >= 0, pos, len(known)))
    by = (["period"] if "period" in on else []) + ["_rank", "entity"]
    out = out.sort_values(by, kind="stable").drop(columns="_rank").reset_index(drop=True)
    out["_known"] = pd.Index(known).get_indexer(out["entity"]) >= 0
    return out


def _metrics(out: pd.DataFrame, result) -> pd.DataFrame:
    """Status, CPA and ROAS of each row (module docstring)."""
    known = out.pop("_known").to_numpy()
    out["conversions"] = out["conversions"].fillna(0.0)
    out["value"] = out["value"].fillna(0.0)
    conv, val = out["conversions"].to_numpy(float), out["value"].to_numpy(float)
    c = out["cost"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cpa"] = c / conv
        out["roas"] = val / c
    extra = out["entity"].isin(list(result.extra) + list(_periods.REMAINDER)).to_numpy()
    names = out["entity"].astype(str).str.strip("()").to_numpy(dtype=object)
    status = np.select(
        [extra, ~known, np.isnan(c), (conv == 0) & (val == 0), conv < 0, c == 0],
        [names, "unknown", "no spend", "no credit", "negative credit", "zero cost"], "ok")
    out.insert(out.columns.get_loc("entity") + 1, "status", status.astype(object))
    out.insert(out.columns.get_loc("status") + 1, "basis", _basis(result))
    cols = [c for c in ("period", "entity", "status", "basis", "cost", "conversions", "value",
                        "cpa", "roas") if c in out]
    return out[cols]


def _check_matches(out: pd.DataFrame, result, key: str, has_period: bool) -> None:
    """Warn where the figures would mislead: spend names that match only when case is
    ignored, spend periods that meet no conversion, intervals asked of periods, and a ROAS
    of results without value (set to NaN: no value is not a return of 0).
    """
    lower = {str(n).lower(): str(n) for n in result.names}
    near = [f"{e!r} ~ {lower[str(e).lower()]!r}" for e in out.loc[out["status"] == "unknown",
                                                                  "entity"].unique()
            if str(e).lower() in lower]
    if near:
        warnings.warn(f"spend {key}(s) {', '.join(near)} differ from the result's names only "
                      "in case and do not match; write them as the data does",
                      AttributionWarning, stacklevel=4)
    has_cost = out["cost"].notna() & (out["status"] != "unknown")
    if has_period and has_cost.any() and not (has_cost & (out["conversions"] != 0)).any():
        warnings.warn("no spend period meets a conversion with credit (spend periods "
                      f"{out.loc[has_cost, 'period'].min()} to "
                      f"{out.loc[has_cost, 'period'].max()}): dates in the period column are "
                      "read as days; write months as '2024-01', weeks as "
                      "'2024-01-08/2024-01-14', or pass freq='M' (or 'W')",
                      AttributionWarning, stacklevel=4)
    if has_period and getattr(result, "bootstrap_", None) is not None:
        warnings.warn("CPA and ROAS per period have no intervals (the bootstrap keeps totals "
                      "only); drop the spend table's period column for intervals of the "
                      "totals", AttributionWarning, stacklevel=4)
    if not np.any(np.asarray(result.value, dtype=float) != 0):
        out["roas"] = np.nan
        for col in ("roas_lower", "roas_upper"):
            if col in out:
                out[col] = np.nan


def _basis(result) -> str:
    """``"incremental"`` when the result keeps a baseline off its entities, else ``"total"``."""
    mode = result.diagnostics.get("credit")
    if mode in ("incremental", "total"):
        return mode
    return "incremental" if "(baseline)" in result.extra else "total"


def _intervals(out: pd.DataFrame, reps, alpha: float) -> pd.DataFrame:
    """Percentile intervals of CPA and ROAS: the replicates' credit interval mapped through
    cost / conversions and value / cost (cost fixed; percentile intervals follow monotone
    maps). A credit interval that reaches 0 or below gives an unbounded CPA (upper limit
    inf); one entirely at or below 0 gives no CPA interval (NaN).
    """
    col = pd.Index([str(n) for n in reps.names]).get_indexer(out["entity"])
    ok = col >= 0
    b = reps.conversions.shape[0]
    lim = {}
    for key in ("conversions", "value"):
        draws = np.full((b, len(out)), np.nan)
        draws[:, ok] = getattr(reps, key)[:, col[ok]]
        lim[key] = (replicate_quantile(draws, alpha / 2), replicate_quantile(draws, 1 - alpha / 2))
    c = out["cost"].to_numpy(float)
    (lo, hi), (vlo, vhi) = lim["conversions"], lim["value"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cpa_lower"] = np.where(hi > 0, c / hi, np.nan)
        out["cpa_upper"] = np.where(lo > 0, c / lo, np.where(hi > 0, np.inf, np.nan))
        out["roas_lower"] = vlo / c
        out["roas_upper"] = vhi / c
    nan = np.isnan(c)
    for name in ("cpa_lower", "cpa_upper", "roas_lower", "roas_upper"):
        out.loc[nan, name] = np.nan
    return out


def replicate_quantile(draws: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of each column of ``draws`` (B replicates in rows): the (B + 1) q-th
    order statistic, interpolated between neighbours as in the bootstrap's intervals, where
    infinite draws (a replicate without credit) give an infinite limit, not NaN. A column
    with a NaN draw gives NaN.
    """
    b = draws.shape[0]
    ordered = np.sort(draws, axis=0)  # NaN last
    h = min(max(q * (b + 1), 1.0), float(b))
    lo = int(np.floor(h)) - 1
    frac = h - np.floor(h)
    below, above = ordered[lo], ordered[min(lo + 1, b - 1)]
    with np.errstate(invalid="ignore"):
        mid = np.where((frac == 0) | (below == above), below, below + frac * (above - below))
    return np.where(np.isnan(draws).any(axis=0), np.nan, mid)
