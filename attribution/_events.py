"""Sessionising event logs into journeys (windows, several conversions per person)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _paths
from ._validation import (
    ColumnTypeError,
    EmptyInputError,
    InputError,
    ParameterError,
    _row_list,
    check_no_missing,
    label_column,
    numeric_column,
    require_columns,
    require_frame,
    warn_dropped,
)


def _time_array(values: pd.Series, column: str):
    """Return (int64 times, kind) for a datetime or integer column."""
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


def _duration(x, kind, what):
    """A window length in the units of the time column (ns for datetimes)."""
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


def _codes(values: pd.Series, mask: np.ndarray | None = None):
    """Factorise labels to sorted vocabulary codes (-1 where missing or masked out)."""
    codes, uniques = pd.factorize(values, sort=False)
    names = np.asarray([str(u) for u in uniques], dtype=object)
    if mask is not None:
        codes = np.where(mask, codes, -1)
    used = np.zeros(len(names), dtype=bool)
    used[codes[codes >= 0]] = True
    order = np.flatnonzero(used)[np.argsort(names[used].astype(str), kind="stable")]
    remap = np.full(len(names) + 1, -1, dtype=np.int64)  # slot -1 maps missing to -1
    remap[order] = np.arange(len(order))
    return remap[codes], names[order]


def _entity_attribute(tp, attr, attr_names, tp_names, column, role):
    """Map each touchpoint to the single channel (or stage) it appears with."""
    ok = (tp >= 0) & (attr >= 0)
    n_attr = max(len(attr_names), 1)
    pairs = np.unique(tp[ok].astype(np.int64) * n_attr + attr[ok])
    owner, value = np.divmod(pairs, n_attr)
    dup = np.flatnonzero(np.diff(owner) == 0)
    if dup.size:
        t = int(owner[dup[0]])
        seen = [attr_names[v] for v in value[owner == t]]
        raise InputError(
            f"touchpoint {tp_names[t]!r} appears with several values of column {column!r} "
            f"({role}): {seen}; a touchpoint belongs to one {role}: rename the touchpoint per "
            f"{role} or fix the rows"
        )
    out = np.full(len(tp_names), -1, dtype=np.int64)
    out[owner] = value
    return out


def _bisect_first(times, lo, hi, target):
    """Per query, the first index i in [lo, hi) with times[i] >= target (hi if none).

    ``times`` must be sorted inside every [lo, hi) range; a vectorised binary search.
    """
    lo = lo.copy()
    hi = hi.copy()
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        below = np.zeros(len(lo), dtype=bool)
        below[active] = times[mid[active]] < target[active]
        lo = np.where(active & below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)


def journeys_from_events(cls, df, *, journey, time, touchpoint, channel, conversion, value, stage,
                         lookback, max_touches, conversion_window, reuse_touches, open_journeys,
                         conversion_touchpoints):
    """Build :class:`~attribution.Journeys` from an event log.

    Columns (named by the arguments): ``journey`` identifies the person (or cookie, account);
    ``time`` orders the events (datetime64, or integers); ``touchpoint`` names the interaction;
    ``channel`` (optional) the medium hosting the touchpoint, one per touchpoint; ``stage``
    (optional) likewise; ``conversion`` flags a conversion (bool, or a count >= 0) and
    ``value`` its value.

    Conversions may be rows of their own (``touchpoint`` missing, ``conversion`` true, or a
    ``touchpoint`` listed in ``conversion_touchpoints``) or a flag on a touch row (the touch is
    part of the journey it closes). At equal times touches come before the conversion. Unsorted
    input is sorted by journey and time (input order breaks ties).

    Each conversion closes a journey made of the touches before it: since the person's previous
    conversion (default), or every touch inside its window with ``reuse_touches=True`` (touches
    then count in several journeys, as in fractribution). ``lookback`` (a duration such as
    ``"30D"``, or an integer for integer times) and ``max_touches`` (keep the last n) bound the
    window. ``conversion_window=(start, end)`` keeps only conversions with start <= time < end.
    Touches after a person's last conversion form a non-converting journey
    (``open_journeys="keep"``; its lookback counts back from its last touch) or are dropped
    (``"drop"``). Everything removed is counted in ``report_`` and summarised in one
    :class:`~attribution.DroppedDataWarning`.
    """
    require_frame(df, "event log")
    require_columns(df, {"journey": journey, "time": time, "touchpoint": touchpoint,
                         "channel": channel, "conversion": conversion, "value": value,
                         "stage": stage})
    if conversion is None and not conversion_touchpoints:
        raise ParameterError("say which rows are conversions: conversion='<flag column>' and/or "
                             "conversion_touchpoints=['purchase', ...]")
    if open_journeys not in ("keep", "drop"):
        raise ParameterError(f"open_journeys must be 'keep' or 'drop', got {open_journeys!r}")
    if max_touches is not None and (not isinstance(max_touches, (int, np.integer))
                                    or max_touches < 1):
        raise ParameterError(f"max_touches must be an integer >= 1, got {max_touches!r}")
    n = len(df)
    jcol = df[journey]
    check_no_missing(jcol, journey, "journey")
    t, kind = _time_array(df[time], time)
    look = _duration(lookback, kind, "lookback")
    tp_col = label_column(df[touchpoint], touchpoint, "touchpoint", allow_missing=True)
    conv = (numeric_column(df[conversion], conversion, "conversion") if conversion is not None
            else np.zeros(n))
    has_tp = tp_col.notna().to_numpy()
    if conversion_touchpoints:
        is_conv_tp = tp_col.isin(list(conversion_touchpoints)).to_numpy()
        conv = np.where(is_conv_tp, np.maximum(conv, 1.0), conv)
        has_tp = has_tp & ~is_conv_tp
    val = numeric_column(df[value], value, "value") if value is not None else np.zeros(n)
    report = [dict(step="from_events", item="events read", count=n)]
    dropped_msgs = []

    jcode, jnames = pd.factorize(jcol, sort=True)
    tie = (conv > 0).astype(np.int64)
    # sort by (journey, time, touch-before-conversion); skip when already in that order
    dj = np.diff(jcode)
    in_order = bool((dj >= 0).all()) and bool(
        ((dj > 0) | (np.diff(t) > 0) | ((np.diff(t) == 0) & (np.diff(tie) >= 0))).all())
    if in_order:
        perm = None
    else:
        perm = np.lexsort((tie, t, jcode))
    del dj

    def s(a):
        return a if perm is None else a[perm]

    tp_code, tp_names = _codes(tp_col, has_tp)
    tp_code = s(tp_code)
    jcode, t, conv, val = s(jcode), s(t), s(conv), s(val)
    is_touch = tp_code >= 0
    is_conv = conv > 0
    if not is_touch.any():
        raise EmptyInputError(f"column {touchpoint!r} (touchpoint) holds no touch: every row is "
                              f"missing or a conversion; nothing to attribute")
    neither = ~is_touch & ~is_conv
    if neither.any():
        k = int(neither.sum())
        report.append(dict(step="from_events", item="rows with neither touchpoint nor conversion "
                           "dropped", count=k))
        dropped_msgs.append(f"{k} row(s) with neither touchpoint nor conversion")
    stray_value = int(((val > 0) & ~is_conv).sum())
    if stray_value:
        report.append(dict(step="from_events", item="value on rows that are not conversions "
                           "ignored", count=stray_value))
        dropped_msgs.append(f"value on {stray_value} non-conversion row(s)")

    channel_of = channel_names = stage_of = None
    if channel is not None:
        label_column(df[channel], channel, "channel", allow_missing=True)
        ch_code, ch_names = _codes(df[channel], has_tp)
        ch = s(ch_code)
        missing = is_touch & (ch < 0)
        if missing.any():
            rows = df.index[perm[missing] if perm is not None else missing]
            raise InputError(f"column {channel!r} (channel) is missing on touch row(s) "
                             f"{_row_list(rows)}; every touch needs its channel")
        channel_of = _entity_attribute(tp_code, ch, ch_names, tp_names, channel, "channel")
        channel_names = ch_names
    if stage is not None:
        st_code, st_names = _codes(df[stage].astype(object).where(df[stage].notna(), None),
                                   has_tp)
        st_of = _entity_attribute(tp_code, s(st_code), st_names, tp_names, stage, "stage")
        stage_of = np.array([st_names[k] if k >= 0 else None for k in st_of], dtype=object)

    # person boundaries in sorted order
    row = np.arange(n, dtype=np.int64)
    new_person = np.ones(n, dtype=bool)
    new_person[1:] = jcode[1:] != jcode[:-1]
    pstart = np.maximum.accumulate(np.where(new_person, row, 0))
    pend_of_person = np.append(np.flatnonzero(new_person)[1:], n)

    # converting journeys: one per conversion row
    crow = np.flatnonzero(is_conv)
    prev_conv = np.maximum.accumulate(np.where(is_conv, row, -1))
    prev_excl = np.full(n, -1, dtype=np.int64)
    prev_excl[1:] = prev_conv[:-1]
    lo = pstart[crow]
    if not reuse_touches:
        lo = np.maximum(lo, np.where(prev_excl[crow] >= pstart[crow], prev_excl[crow] + 1, lo))
    hi = crow + is_touch[crow]  # a touch on the conversion row belongs to its journey
    base_lo = lo
    if look is not None:
        lo = _bisect_first(t, lo, hi, t[crow] - look)
    c_lo, c_hi, c_end = lo, hi, t[crow]
    keep_conv = np.ones(len(crow), dtype=bool)
    if conversion_window is not None:
        start, end = conversion_window
        if kind == "datetime":
            start, end = pd.Timestamp(start).value, pd.Timestamp(end).value
        keep_conv = (c_end >= start) & (c_end < end)
        if (~keep_conv).any():
            k = int((~keep_conv).sum())
            report.append(dict(step="conversion_window", item="conversions outside the window "
                               "dropped", count=k))
            dropped_msgs.append(f"{k} conversion(s) outside the conversion window")

    # open journeys: touches after each person's last conversion
    last_conv = prev_conv[pend_of_person - 1]
    first_row = np.flatnonzero(new_person)
    o_lo = np.where(last_conv >= first_row, last_conv + 1, first_row)
    o_hi = pend_of_person
    has_open = np.add.reduceat(is_touch.astype(np.int64), first_row) > 0
    touch_cum = np.concatenate([[0], np.cumsum(is_touch)])
    has_open &= (touch_cum[o_hi] - touch_cum[np.minimum(o_lo, o_hi)]) > 0
    o_lo, o_hi = o_lo[has_open], o_hi[has_open]
    open_touches = int((touch_cum[o_hi] - touch_cum[o_lo]).sum())
    if open_journeys == "drop":
        if open_touches:
            report.append(dict(step="from_events", item="touches after the last conversion "
                               "dropped", count=open_touches))
            dropped_msgs.append(f"{open_touches} touch(es) after the last conversion")
        o_lo = o_hi = o_lo[:0]
    # last touch of an open range = last touch row before o_hi
    last_touch = np.maximum.accumulate(np.where(is_touch, row, -1))
    o_end = t[last_touch[o_hi - 1]] if len(o_hi) else t[:0]
    o_base = o_lo
    if look is not None and len(o_lo):
        o_lo = _bisect_first(t, o_lo, o_hi, o_end - look)

    # assemble (converting journeys first in row order, then open ones; then re-sort by row)
    all_lo = np.concatenate([c_lo[keep_conv], o_lo])
    all_hi = np.concatenate([c_hi[keep_conv], o_hi])
    anchor = np.concatenate([crow[keep_conv], o_hi - 1])
    all_end = np.concatenate([c_end[keep_conv], o_end])
    jorder = np.argsort(anchor, kind="stable")
    all_lo, all_hi, anchor = all_lo[jorder], all_hi[jorder], anchor[jorder]
    all_end = all_end[jorder]
    is_open = np.concatenate([np.zeros(keep_conv.sum(), bool), np.ones(len(o_lo), bool)])[jorder]
    idx = _paths.ranges(all_lo, all_hi - all_lo)
    jid = np.repeat(np.arange(len(all_lo)), all_hi - all_lo)
    tmask = is_touch[idx]
    idx, jid = idx[tmask], jid[tmask]
    counts = np.bincount(jid, minlength=len(all_lo))

    if look is not None:
        in_window = touch_cum[all_hi] - touch_cum[all_lo]
        base = np.concatenate([base_lo[keep_conv], o_base])[jorder]
        before = touch_cum[all_hi] - touch_cum[base] - in_window
        k = int(before.sum())
        if k:
            report.append(dict(step="lookback", item="touches outside the lookback dropped",
                               count=k))
            dropped_msgs.append(f"{k} touch(es) outside the lookback")
    if max_touches is not None:
        pos_from_end = counts[jid] - 1 - (np.arange(len(jid)) - np.repeat(
            np.concatenate([[0], np.cumsum(counts)[:-1]]), counts))
        keep_t = pos_from_end < max_touches
        k = int((~keep_t).sum())
        if k:
            report.append(dict(step="max_touches", item="touches beyond max_touches dropped",
                               count=k))
            dropped_msgs.append(f"{k} touch(es) beyond max_touches={max_touches}")
        idx, jid = idx[keep_t], jid[keep_t]
        counts = np.bincount(jid, minlength=len(all_lo))
    if reuse_touches:
        reused = len(idx) - len(np.unique(idx))
        report.append(dict(step="reuse_touches", item="touches used by more than one conversion "
                           "(extra uses)", count=int(reused)))

    empty = counts == 0
    if empty.any():
        k = int(empty.sum())
        lost = float(conv[anchor[empty & ~is_open]].sum())
        report.append(dict(step="from_events", item="conversions with no touch in their window "
                           "dropped", count=k))
        dropped_msgs.append(f"{k} conversion event(s) ({lost:g} conversions) with no touch in "
                            f"their window")
    keep_j = ~empty
    anchor, is_open, all_end = anchor[keep_j], is_open[keep_j], all_end[keep_j]
    counts = counts[keep_j]
    offsets = np.zeros(len(anchor) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if len(anchor) == 0:
        raise EmptyInputError("no journey is left after windows and filters: "
                              + "; ".join(dropped_msgs) + ". Widen the lookback or check the "
                              "conversion column")
    conv_j = np.where(is_open, 0.0, conv[anchor])
    val_j = np.where(is_open, 0.0, val[anchor])
    nulls_j = np.where(is_open, 1.0, 0.0)
    # conversion number within the person
    conv_rank = np.cumsum(is_conv) - 1 - (np.cumsum(is_conv) - is_conv)[pstart]
    seq = np.where(is_open, conv_rank[anchor] + 1, conv_rank[anchor])
    ids = np.asarray(jnames)[jcode[anchor]]
    report.append(dict(step="from_events", item="journeys built", count=len(anchor)))
    report.append(dict(step="from_events", item="converting journeys", count=int((~is_open).sum())))
    if dropped_msgs:
        warn_dropped("from_events dropped " + "; ".join(dropped_msgs) + ".", stacklevel=4)
    return cls(offsets, tp_code[idx], conv_j, nulls_j, val_j, names=tp_names,
               channel_of=channel_of, channel_names=channel_names, stage_of=stage_of,
               times=t[idx], end_times=all_end, ids=ids, seq=seq,
               level="touchpoint", report=report, time_kind=kind)
