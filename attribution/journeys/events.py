"""Sessionising event logs into journeys (windows, several conversions per person)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys import paths as _paths
from attribution.journeys.validation import (
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
    report = [dict(step="from_events", item="events read", count=n)]
    dropped_msgs = []

    # -- per-row arrays in input order (int32 codes, bool flags; values only where needed)
    conv = None  # conversion counts; None: a boolean flag, so each conversion row counts 1
    if conversion is None:
        is_conv = np.zeros(n, dtype=bool)
    elif pd.api.types.is_bool_dtype(df[conversion].dtype) and not df[conversion].hasnans:
        is_conv = df[conversion].to_numpy(dtype=bool)
    else:
        conv = numeric_column(df[conversion], conversion, "conversion")
        is_conv = conv > 0
    has_tp = tp_col.notna().to_numpy()
    if conversion_touchpoints:
        is_conv_tp = tp_col.isin(list(conversion_touchpoints)).to_numpy()
        if conv is not None:
            conv = np.where(is_conv_tp, np.maximum(conv, 1.0), conv)
        is_conv = is_conv | is_conv_tp
        has_tp = has_tp & ~is_conv_tp
    val = numeric_column(df[value], value, "value") if value is not None else None
    tp_code, tp_names = _codes(tp_col, has_tp)
    del has_tp
    is_touch = tp_code >= 0
    if not is_touch.any():
        raise EmptyInputError(f"column {touchpoint!r} (touchpoint) holds no touch: every row is "
                              f"missing or a conversion; nothing to attribute")
    neither = int((~is_touch & ~is_conv).sum())
    if neither:
        report.append(dict(step="from_events", item="rows with neither touchpoint nor conversion "
                           "dropped", count=neither))
        dropped_msgs.append(f"{neither} row(s) with neither touchpoint nor conversion")
    if val is not None:
        stray_value = int(((val > 0) & ~is_conv).sum())
        if stray_value:
            report.append(dict(step="from_events", item="value on rows that are not "
                               "conversions ignored", count=stray_value))
            dropped_msgs.append(f"value on {stray_value} non-conversion row(s)")
    channel_of = channel_names = stage_of = None
    if channel is not None:
        label_column(df[channel], channel, "channel", allow_missing=True)
        ch, channel_names = _codes(df[channel], is_touch)
        missing = is_touch & (ch < 0)
        if missing.any():
            raise InputError(f"column {channel!r} (channel) is missing on touch row(s) "
                             f"{_row_list(df.index[missing])}; every touch needs its channel")
        channel_of = _entity_attribute(tp_code, ch, channel_names, tp_names, channel, "channel")
        del ch, missing
    if stage is not None:
        st, st_names = _codes(df[stage].astype(object).where(df[stage].notna(), None), is_touch)
        st_of = _entity_attribute(tp_code, st, st_names, tp_names, stage, "stage")
        stage_of = np.array([st_names[k] if k >= 0 else None for k in st_of], dtype=object)
        del st

    # -- sort by (journey, time, touch-before-conversion); skip when already in that order
    jcode, jnames = pd.factorize(jcol, sort=True)
    jcode = jcode.astype(np.int32 if len(jnames) < 2**31 else np.int64)
    dj = np.diff(jcode)
    in_order = bool((dj >= 0).all())
    if in_order:
        dt = np.diff(t)
        in_order = bool(((dj > 0) | (dt > 0) | ((dt == 0) & (is_conv[1:] >= is_conv[:-1]))).all())
        del dt
    del dj
    perm = None if in_order else np.lexsort((is_conv, t, jcode))
    if perm is not None:
        jcode, t, tp_code, is_conv = jcode[perm], t[perm], tp_code[perm], is_conv[perm]
        is_touch = tp_code >= 0

    # -- persons, conversion rows and touch rows, all in sorted order
    new_person = np.ones(n, dtype=bool)
    new_person[1:] = jcode[1:] != jcode[:-1]
    first_row = np.flatnonzero(new_person)
    del new_person
    pend = np.append(first_row[1:], n)
    crow = np.flatnonzero(is_conv)
    del is_conv
    trow = np.flatnonzero(is_touch)  # the touch rows; a range's touches are trow[a:b]
    c_person = np.searchsorted(first_row, crow, side="right") - 1
    c_start = first_row[c_person]
    orig = crow if perm is None else perm[crow]
    c_conv = np.ones(len(crow)) if conv is None else conv[orig]
    c_val = np.zeros(len(crow)) if val is None else val[orig]
    del perm, conv, val, orig

    # converting journeys: one per conversion row, touches in [lo, hi)
    lo = c_start
    if not reuse_touches:
        prev = np.concatenate([[-1], crow[:-1]])
        lo = np.where(prev >= c_start, prev + 1, c_start)
    hi = crow + is_touch[crow]  # a touch on the conversion row belongs to its journey
    c_end = t[crow]
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

    # open journeys: the touches after each person's last conversion
    last = np.searchsorted(crow, pend, side="left") - 1
    last_c = crow[np.maximum(last, 0)] if len(crow) else last
    last_c = np.where(last >= 0, last_c, -1)
    o_lo = np.where(last_c >= first_row, last_c + 1, first_row)
    o_hi = pend
    o_a, o_b = np.searchsorted(trow, o_lo), np.searchsorted(trow, o_hi)
    has_open = o_b > o_a
    n_conv_person = np.searchsorted(crow, pend) - np.searchsorted(crow, first_row)
    o_lo, o_hi, o_b = o_lo[has_open], o_hi[has_open], o_b[has_open]
    o_seq = n_conv_person[has_open]
    if open_journeys == "drop":
        k = int((o_b - o_a[has_open]).sum())
        if k:
            report.append(dict(step="from_events", item="touches after the last conversion "
                               "dropped", count=k))
            dropped_msgs.append(f"{k} touch(es) after the last conversion")
        o_lo, o_hi, o_b, o_seq = o_lo[:0], o_hi[:0], o_b[:0], o_seq[:0]
    o_end = t[trow[o_b - 1]] if len(o_b) else t[:0]

    # all journeys, in (person, conversion) order
    c_first = np.searchsorted(c_person, c_person, side="left")  # first conversion of person
    c_seq = np.arange(len(crow)) - c_first
    kc = keep_conv
    anchor = np.concatenate([crow[kc], o_hi - 1])
    order = np.argsort(anchor, kind="stable")
    base = np.concatenate([lo[kc], o_lo])[order]
    hi_all = np.concatenate([hi[kc], o_hi])[order]
    end_all = np.concatenate([c_end[kc], o_end])[order]
    is_open = np.concatenate([np.zeros(int(kc.sum()), bool), np.ones(len(o_lo), bool)])[order]
    conv_j = np.concatenate([c_conv[kc], np.zeros(len(o_lo))])[order]
    val_j = np.concatenate([c_val[kc], np.zeros(len(o_lo))])[order]
    seq = np.concatenate([c_seq[kc], o_seq])[order]
    anchor = anchor[order]
    lo_all = base
    if look is not None and len(anchor):
        lo_all = _bisect_first(t, base, hi_all, end_all - look)
    a0 = np.searchsorted(trow, base)
    a = np.searchsorted(trow, lo_all)
    b = np.searchsorted(trow, hi_all)
    if look is not None:
        k = int((a - a0).sum())
        if k:
            report.append(dict(step="lookback", item="touches outside the lookback dropped",
                               count=k))
            dropped_msgs.append(f"{k} touch(es) outside the lookback")
    if max_touches is not None:
        trimmed = np.maximum(a, b - max_touches)
        k = int((trimmed - a).sum())
        if k:
            report.append(dict(step="max_touches", item="touches beyond max_touches dropped",
                               count=k))
            dropped_msgs.append(f"{k} touch(es) beyond max_touches={max_touches}")
        a = trimmed
    counts = b - a
    if reuse_touches:
        used = np.zeros(len(trow) + 1, dtype=np.int64)
        np.add.at(used, a, 1)
        np.add.at(used, b, -1)
        uses = np.cumsum(used[:-1])
        report.append(dict(step="reuse_touches", item="touches used by more than one "
                           "conversion (extra uses)", count=int(np.maximum(uses - 1, 0).sum())))

    empty = counts == 0
    if empty.any():
        k = int(empty.sum())
        lost = float(conv_j[empty].sum())
        report.append(dict(step="from_events", item="conversions with no touch in their window "
                           "dropped", count=k))
        dropped_msgs.append(f"{k} conversion event(s) ({lost:g} conversions) with no touch in "
                            f"their window")
        keep = ~empty
        a, counts, anchor, is_open = a[keep], counts[keep], anchor[keep], is_open[keep]
        conv_j, val_j, seq, end_all = conv_j[keep], val_j[keep], seq[keep], end_all[keep]
    if len(anchor) == 0:
        raise EmptyInputError("no journey is left after windows and filters: "
                              + "; ".join(dropped_msgs) + ". Widen the lookback or check the "
                              "conversion column")
    offsets = np.zeros(len(anchor) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    idx = trow[_paths.ranges(a, counts)]
    ids = np.asarray(jnames)[jcode[anchor]]
    report.append(dict(step="from_events", item="journeys built", count=len(anchor)))
    report.append(dict(step="from_events", item="converting journeys", count=int((~is_open).sum())))
    if dropped_msgs:
        warn_dropped("from_events dropped " + "; ".join(dropped_msgs) + ".", stacklevel=4)
    return cls(offsets, tp_code[idx], conv_j, np.where(is_open, 1.0, 0.0), val_j, names=tp_names,
               channel_of=channel_of, channel_names=channel_names, stage_of=stage_of,
               times=t[idx], end_times=end_all, ids=ids, seq=seq, level="touchpoint",
               report=report, time_kind=kind)
