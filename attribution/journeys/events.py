"""Sessionising event logs into journeys (windows, several conversions per person).

The log may be a pandas, polars or pyarrow table (:mod:`~attribution.journeys.frames`). The
steps, each vectorised over all rows or all journeys:

1. read the rows (:mod:`~attribution.journeys.event_rows`): touchpoint codes, conversion
   flags, counts and values, and each touchpoint's channel and stage;
2. sort them by person and time (:func:`_sort_log`);
3. cut journeys, as row ranges of the sorted log: one per conversion
   (:func:`_conversion_journeys`), and the touches after a person's last conversion
   (:func:`_open_journeys`);
4. keep the touches inside each journey's window (:func:`_touch_ranges`: lookback,
   max_touches), read the covariates, and build the :class:`~attribution.Journeys`.

Drops are noted in a :class:`~.event_rows.Report` (``report_`` and one DroppedDataWarning).
Below, ``log`` is the sorted event log (:class:`_SortedLog`), ``spans`` the journeys cut from
it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from attribution.journeys import covariates as _cov
from attribution.journeys import paths as _paths
from attribution.journeys.arrays import offsets_of
from attribution.journeys.event_rows import (
    EventRows,
    Report,
    blanks_as_missing,
    check_arguments,
    entity_labels,
    note_ignored_rows,
    read_rows,
)
from attribution.journeys.frames import as_pandas
from attribution.journeys.times import duration, time_point, time_values
from attribution.journeys.validation import (
    EmptyInputError,
    ParameterError,
    check_distinct_labels,
    check_no_missing,
    warn_dropped,
)


def journeys_from_events(cls, df, *, journey, time, touchpoint, channel, conversion, value, stage,
                         lookback, max_touches, conversion_window, reuse_touches, open_journeys,
                         conversion_touchpoints, time_unit=None, time_format=None, tz=None,
                         covariates=None, covariate_bins=_cov.DEFAULT_BINS):
    """Build :class:`~attribution.Journeys` from an event log.

    The columns and options are those of :meth:`Journeys.from_events` (times:
    :mod:`~attribution.journeys.times`; covariates: :func:`.covariates.event_covariates`).

    Conversions may be rows of their own (``touchpoint`` missing, ``conversion`` true, or a
    ``touchpoint`` listed in ``conversion_touchpoints``) or a flag on a touch row (the touch is
    part of the journey it closes). The rows are sorted by journey and time; rows of a journey
    at the same time are ordered by their content, never by input order (:func:`_sort_order`),
    so shuffling the log never changes the journeys.

    Each conversion closes a journey made of the touches before it: since the person's previous
    conversion (default), or every touch inside its window with ``reuse_touches=True`` (touches
    then count in several journeys, as in fractribution). ``lookback`` (a duration such as
    ``"30D"``; a number of steps with ``time_unit="step"``) and ``max_touches`` (keep the last
    n) bound the window. ``conversion_window=(start, end)`` keeps only conversions with
    start <= time < end. Touches after a person's last conversion form a non-converting journey
    (``open_journeys="keep"``; its lookback counts back from its last touch) or are dropped
    (``"drop"``). Everything removed is counted in ``report_`` and summarised in one
    :class:`~attribution.DroppedDataWarning`.
    """
    if touchpoint is None:  # channel-only data: the channels are the touchpoints
        if channel is None:
            raise ParameterError("name the touchpoint column (touchpoint='<column>'), or for "
                                 "channel-only data the channel column (channel='<column>')")
        touchpoint = channel
    roles = dict(journey=journey, time=time, touchpoint=touchpoint, channel=channel,
                 conversion=conversion, value=value, stage=stage)
    df = as_pandas(df, "event log", roles, _cov.column_list(covariates))
    conversion_touchpoints = check_arguments(df, roles, conversion_touchpoints, open_journeys,
                                             max_touches, conversion_window)
    df = blanks_as_missing(df, (touchpoint, channel, stage))
    covariates = _cov.columns_of(df, covariates, roles)
    check_no_missing(df[journey], journey, "journey")
    t, kind, zone, _ = time_values(df[time], time, time_unit=time_unit, time_format=time_format,
                                   tz=tz)
    look = duration(lookback, kind, "lookback")
    report = Report(len(df))
    rows = read_rows(df, touchpoint, conversion, value, conversion_touchpoints, channel)
    note_ignored_rows(rows, report)
    channel_of, channel_names, stage_of = entity_labels(df, channel, stage, rows)
    person, person_ids = pd.factorize(df[journey], sort=True)
    check_distinct_labels(person_ids, journey, "journey")
    person = person.astype(np.int32 if len(person_ids) < 2**31 else np.int64)
    log, names = _sort_log(person, t, rows), rows.names
    del person, t, rows  # the sorted log holds what is left of them

    converting = _conversion_journeys(log, reuse_touches)
    if conversion_window is not None:
        converting = converting.take(_in_window(converting.end, conversion_window, kind, zone,
                                                report))
    spans = _Spans.merged(converting, _open_journeys(log, open_journeys, report))
    del converting
    first, counts = _touch_ranges(spans, log, look, max_touches, reuse_touches, report)
    spans, first, counts = _without_empty(spans, first, counts, report)
    if len(spans.anchor) == 0:
        raise EmptyInputError("no journey is left after windows and filters: "
                              + "; ".join(report.phrases) + ". Widen the lookback or check the "
                              "conversion column")
    idx = log.touch_rows[_paths.ranges(first, counts)]
    ids = np.asarray(person_ids)[log.person[spans.anchor]]
    cov = None if not covariates else _cov.event_covariates(df, covariates, log.order,
                                                            spans.anchor, idx, counts, ids)
    report.note("from_events", "journeys built", len(spans.anchor))
    report.note("from_events", "converting journeys", int((~spans.is_open).sum()))
    if report.phrases:
        warn_dropped("from_events dropped " + "; ".join(report.phrases) + ".", stacklevel=4)
    return cls(offsets_of(counts), log.touchpoint[idx], spans.conversions,
               np.where(spans.is_open, 1.0, 0.0), spans.value, names=names,
               channel_of=channel_of, channel_names=channel_names, stage_of=stage_of,
               times=log.time[idx], end_times=spans.end, ids=ids, seq=spans.seq,
               level="touchpoint", report=report.rows, time_kind=kind, time_zone=zone,
               covariates=cov, covariate_bins=covariate_bins)


# ---------------------------------------------------------------------- 2. the sorted log
@dataclass
class _SortedLog:
    """The rows sorted by (person, time, content: :func:`_sort_order`), and where things are."""

    person: np.ndarray  # person code of each row
    time: np.ndarray  # int64 time of each row
    touchpoint: np.ndarray  # touchpoint code of each row; -1: no touch
    person_start: np.ndarray  # first row of each person
    person_end: np.ndarray  # one past the last row of each person
    conversion_rows: np.ndarray
    touch_rows: np.ndarray  # a row range's touches are touch_rows[a:b]
    conversions: np.ndarray  # count of each conversion row
    value: np.ndarray  # value of each conversion row
    order: np.ndarray | None  # input position of each row; None: the input was in order


def _sort_log(person, t, rows: EventRows) -> _SortedLog:
    """Sort the rows (skipped when they are in order already) and index persons, conversions
    and touches.
    """
    tp_code, is_conv = rows.touchpoint, rows.is_conversion
    perm = _sort_order(person, t, rows)
    if perm is not None:
        person, t, tp_code, is_conv = person[perm], t[perm], tp_code[perm], is_conv[perm]
    n = len(person)
    new_person = np.ones(n, dtype=bool)
    new_person[1:] = person[1:] != person[:-1]
    first_row = np.flatnonzero(new_person)
    del new_person
    crow = np.flatnonzero(is_conv)
    del is_conv
    orig = crow if perm is None else perm[crow]
    return _SortedLog(
        person=person, time=t, touchpoint=tp_code, person_start=first_row,
        person_end=np.append(first_row[1:], n), conversion_rows=crow,
        touch_rows=np.flatnonzero(tp_code >= 0),
        conversions=np.ones(len(crow)) if rows.conversions is None else rows.conversions[orig],
        value=np.zeros(len(crow)) if rows.value is None else rows.value[orig], order=perm)


def _sort_order(person, t, rows: EventRows):
    """The permutation sorting the rows by person, time and content; None when they are in
    that order already.

    Rows of a person at the same time are ordered by their content, never by input order:
    touches before conversions; then by touchpoint name (a conversion row without a touchpoint
    before a converting touch); conversions still tied, by count, then value. Rows tied on all
    that are alike in everything a journey keeps, so their order changes nothing.
    """
    k = len(rows.names) + 1
    tie = (rows.touchpoint + 1).astype(np.int32 if 2 * k < 2**31 else np.int64)
    tie[rows.is_conversion] += k
    perm = None if _in_order(person, t, tie) else np.lexsort((tie, t, person))
    if _conversions_tie(person, t, tie, rows, perm):
        conv = rows.conversions if rows.conversions is not None else np.ones(len(t))
        value = rows.value if rows.value is not None else np.zeros(len(t))
        perm = np.lexsort((value, conv, tie, t, person))
    return perm


def _in_order(person, t, tie) -> bool:
    """Whether the rows are sorted by (person, time, tie) already."""
    dj = np.diff(person)
    if not (dj >= 0).all():
        return False
    dt = np.diff(t)
    return bool(((dj > 0) | (dt > 0) | ((dt == 0) & (np.diff(tie) >= 0))).all())


def _conversions_tie(person, t, tie, rows: EventRows, perm) -> bool:
    """Whether two conversions of a person at the same time, both with or both without the same
    touchpoint, differ in count or value (their order then decides which closes the journey).
    """
    if rows.conversions is None and rows.value is None:
        return False
    crow = np.flatnonzero(rows.is_conversion if perm is None else rows.is_conversion[perm])
    src = crow if perm is None else perm[crow]
    if len(src) < 2:
        return False
    same = ((person[src][1:] == person[src][:-1]) & (t[src][1:] == t[src][:-1])
            & (tie[src][1:] == tie[src][:-1]))
    for w in (rows.conversions, rows.value):
        if w is not None and (same & (w[src][1:] != w[src][:-1])).any():
            return True
    return False


# ---------------------------------------------------------------------- 3. journeys
@dataclass
class _Spans:
    """Journeys as row ranges of the sorted log, one entry per journey in every array."""

    anchor: np.ndarray  # the row closing the journey: its conversion, or its last row
    lo: np.ndarray  # first row the journey may take touches from
    hi: np.ndarray  # one past its last row
    end: np.ndarray  # conversion time, or the last touch's time of an open journey
    conversions: np.ndarray
    value: np.ndarray
    seq: np.ndarray  # conversion number within the person (the open journey comes last)
    is_open: np.ndarray  # bool: no conversion closes it

    def take(self, idx) -> _Spans:
        """The journeys at ``idx`` (positions or boolean mask)."""
        return _Spans(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def merged(first: _Spans, second: _Spans) -> _Spans:
        """The journeys of both, in the order of their anchor rows (``first``'s on ties)."""
        order = np.argsort(np.concatenate([first.anchor, second.anchor]), kind="stable")
        return _Spans(**{f.name: np.concatenate([getattr(first, f.name),
                                                 getattr(second, f.name)])[order]
                         for f in fields(_Spans)})


def _conversion_journeys(log: _SortedLog, reuse_touches: bool) -> _Spans:
    """One journey per conversion row: the rows since the person's previous conversion (or
    since the person's first row with ``reuse_touches``), with a touch on the conversion row.
    """
    crow = log.conversion_rows
    c_person = np.searchsorted(log.person_start, crow, side="right") - 1
    c_start = log.person_start[c_person]
    lo = c_start
    if not reuse_touches:
        prev = np.concatenate([[-1], crow[:-1]])
        lo = np.where(prev >= c_start, prev + 1, c_start)
    c_first = np.searchsorted(c_person, c_person, side="left")  # first conversion of person
    return _Spans(anchor=crow, lo=lo, hi=crow + (log.touchpoint[crow] >= 0),
                  end=log.time[crow], conversions=log.conversions, value=log.value,
                  seq=np.arange(len(crow)) - c_first, is_open=np.zeros(len(crow), dtype=bool))


def _in_window(end, conversion_window, kind, zone, report):
    """Which conversions happen inside ``conversion_window`` (start <= time < end)."""
    start, stop = (time_point(x, kind, "conversion_window", zone) for x in conversion_window)
    if start > stop:
        raise ParameterError(f"conversion_window=(start, end) needs start <= end, got "
                             f"{tuple(conversion_window)!r}")
    keep = (end >= start) & (end < stop)
    k = int((~keep).sum())
    report.dropped("conversion_window", "conversions outside the window dropped", k,
                   f"{k} conversion(s) outside the conversion window")
    return keep


def _open_journeys(log: _SortedLog, open_journeys: str, report) -> _Spans:
    """The touches after each person's last conversion, one journey per person that has some
    (none with ``open_journeys="drop"``).
    """
    crow, trow = log.conversion_rows, log.touch_rows
    first_row, pend = log.person_start, log.person_end
    last = np.searchsorted(crow, pend, side="left") - 1
    last_c = crow[np.maximum(last, 0)] if len(crow) else last
    last_c = np.where(last >= 0, last_c, -1)
    lo = np.where(last_c >= first_row, last_c + 1, first_row)
    a, b = np.searchsorted(trow, lo), np.searchsorted(trow, pend)
    has_open = b > a
    n_conv_person = np.searchsorted(crow, pend) - np.searchsorted(crow, first_row)
    if open_journeys == "drop":
        k = int((b - a)[has_open].sum())
        report.dropped("from_events", "touches after the last conversion dropped", k,
                       f"{k} touch(es) after the last conversion")
        has_open = np.zeros_like(has_open)
    lo, hi, b = lo[has_open], pend[has_open], b[has_open]
    m = len(lo)
    return _Spans(anchor=hi - 1, lo=lo, hi=hi,
                  end=log.time[trow[b - 1]] if m else log.time[:0], conversions=np.zeros(m),
                  value=np.zeros(m), seq=n_conv_person[has_open], is_open=np.ones(m, dtype=bool))


# ---------------------------------------------------------------------- 4. windows
def _touch_ranges(spans: _Spans, log: _SortedLog, look, max_touches, reuse_touches, report):
    """The touches each journey keeps: ``log.touch_rows[first:first + count]``, after the
    lookback (``look``, in the time column's units) and ``max_touches``.
    """
    trow = log.touch_rows
    lo = spans.lo
    if look is not None and len(spans.anchor):
        lo = _bisect_first(log.time, spans.lo, spans.hi, spans.end - look)
    a = np.searchsorted(trow, lo)
    b = np.searchsorted(trow, spans.hi)
    if look is not None:
        k = int((a - np.searchsorted(trow, spans.lo)).sum())
        report.dropped("lookback", "touches outside the lookback dropped", k,
                       f"{k} touch(es) outside the lookback")
    if max_touches is not None:
        trimmed = np.maximum(a, b - max_touches)
        k = int((trimmed - a).sum())
        report.dropped("max_touches", "touches beyond max_touches dropped", k,
                       f"{k} touch(es) beyond max_touches={max_touches}")
        a = trimmed
    if reuse_touches:
        report.note("reuse_touches", "touches used by more than one conversion (extra uses)",
                    _extra_uses(a, b, len(trow)))
    return a, b - a


def _without_empty(spans: _Spans, first, counts, report):
    """The journeys left with a touch (and their touch ranges); the others are dropped."""
    empty = counts == 0
    if not empty.any():
        return spans, first, counts
    k, lost = int(empty.sum()), float(spans.conversions[empty].sum())
    report.dropped("from_events", "conversions with no touch in their window dropped", k,
                   f"{k} conversion event(s) ({lost:g} conversions) with no touch in their "
                   f"window")
    return spans.take(~empty), first[~empty], counts[~empty]


def _extra_uses(a, b, n):
    """Uses beyond the first of the n touches, by the ranges [a, b)."""
    used = np.zeros(n + 1, dtype=np.int64)
    np.add.at(used, a, 1)
    np.add.at(used, b, -1)
    uses = np.cumsum(used[:-1])
    return int(np.maximum(uses - 1, 0).sum())


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
