"""The rows of an event log: what each row is, and each touchpoint's channel and stage.

A row is a touch (it names a touchpoint), a conversion (flagged, or a touchpoint listed as a
conversion), both (a touch that converts) or neither. Touchpoints, channels and stages are
coded against sorted vocabularies; a touchpoint belongs to one channel and one stage.

A row with an empty touchpoint but a channel is a touch of that channel: its touchpoint is
named after the channel (channel-only rows in a log with touchpoints; counted in
``report_``). Such a row that is also a conversion is ambiguous (a touch that converts, or a
conversion of its own tagged with a channel?) and refused, naming the rows. With no touchpoint
column at all (``touchpoint=None``) the channel column is the touchpoint column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.journeys.validation import (
    EmptyInputError,
    InputError,
    ParameterError,
    _row_list,
    check_distinct_labels,
    label_column,
    label_list,
    numeric_column,
    require_columns,
    require_frame,
)


@dataclass
class EventRows:
    """What each row of an event log is, in input order."""

    touchpoint: np.ndarray  # code into names; -1: the row holds no touch
    names: np.ndarray  # the touchpoints, sorted
    is_conversion: np.ndarray  # bool
    conversions: np.ndarray | None  # count of each row; None: a flag (a conversion counts 1)
    value: np.ndarray | None  # value of each row, when a value column is given
    named_after_channel: int = 0  # touch rows whose empty touchpoint took the channel's name

    @property
    def is_touch(self) -> np.ndarray:
        """Whether each row holds a touch."""
        return self.touchpoint >= 0


def blanks_as_missing(df: pd.DataFrame, columns) -> pd.DataFrame:
    """``df`` with empty strings in the label ``columns`` read as missing: a reader that keeps
    ``""`` (pyarrow's CSV reader, ``keep_default_na=False``) means what one that reads NaN
    means, a row without a touchpoint (or channel, stage). Returns ``df`` itself when no
    column holds an empty string.
    """
    fixed = {}
    for col in dict.fromkeys(c for c in columns if c is not None):
        values = df[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            blank = [c for c in values.cat.categories if isinstance(c, str) and not c.strip()]
            if blank:
                fixed[col] = values.cat.remove_categories(blank)
        elif pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            blank = values.eq("").to_numpy(dtype=bool, na_value=False)
            if blank.any():
                fixed[col] = values.mask(blank)
    return df.assign(**fixed) if fixed else df


def read_rows(df: pd.DataFrame, touchpoint: str, conversion: str | None, value: str | None,
              conversion_touchpoints=None, channel: str | None = None) -> EventRows:
    """Touchpoint codes, conversion flags, counts and values of the rows of an event log.

    Parameters
    ----------
    df : pandas.DataFrame
        The event log.
    touchpoint, conversion, value : str or None
        Column names (see :meth:`Journeys.from_events <attribution.Journeys.from_events>`);
        ``conversion`` and ``value`` may be None.
    conversion_touchpoints : list of str, optional
        Touchpoint labels that mean a conversion; such rows are conversions, not touches.
    channel : str, optional
        The channel column: a row with a channel but no touchpoint is a touch named after
        its channel (module docstring).

    Returns
    -------
    EventRows

    Raises
    ------
    EmptyInputError
        When no row holds a touch.
    InputError
        When a conversion row has a channel but no touchpoint (ambiguous).
    """
    tp_col = label_column(df[touchpoint], touchpoint, "touchpoint", allow_missing=True)
    is_conv, conv, has_tp = _conversion_rows(df, conversion, tp_col, conversion_touchpoints)
    filled = 0
    if channel is not None and channel != touchpoint:
        tp_col, fill = _named_after_channel(df, tp_col, touchpoint, channel, is_conv)
        has_tp, filled = has_tp | fill, int(fill.sum())
    val = numeric_column(df[value], value, "value") if value is not None else None
    tp_code, tp_names = _codes(tp_col, has_tp, touchpoint, "touchpoint")
    if not (tp_code >= 0).any():
        raise EmptyInputError(f"column {touchpoint!r} (touchpoint) holds no touch: every row is "
                              f"missing or a conversion; nothing to attribute")
    return EventRows(tp_code, tp_names, is_conv, conv, val, filled)


def _named_after_channel(df, tp_col: pd.Series, touchpoint: str, channel: str, is_conv):
    """The touchpoint column with each empty touchpoint of a row that has a channel replaced
    by the channel, and which rows were; such a row that converts is refused (ambiguous).
    """
    label_column(df[channel], channel, "channel", allow_missing=True)
    fill = (tp_col.isna() & df[channel].notna()).to_numpy()
    if not fill.any():
        return tp_col, fill
    bad = fill & is_conv
    if bad.any():
        raise InputError(
            f"row(s) {_row_list(df.index[bad])} are conversions with a channel (column "
            f"{channel!r}) but no touchpoint (column {touchpoint!r}): a touch that converts, or "
            f"a conversion of its own? Fill the touchpoint for a converting touch, or clear the "
            f"channel for a conversion of its own")
    return tp_col.astype(object).where(~fill, df[channel].astype(object)), fill


def entity_labels(df: pd.DataFrame, channel: str | None, stage: str | None, rows: EventRows):
    """The channel and the stage of every touchpoint, read from its touch rows.

    Parameters
    ----------
    df : pandas.DataFrame
        The event log.
    channel, stage : str or None
        Column names; None when the log has no such column.
    rows : EventRows
        What :func:`read_rows` made of ``df``.

    Returns
    -------
    channel_of : array of int64 or None
        Channel code of every touchpoint.
    channel_names : array of str or None
        The channels, sorted.
    stage_of : array of object or None
        Stage of every touchpoint (None where its rows have none).

    Raises
    ------
    InputError
        When a touch row has no channel, or a touchpoint appears with several channels (or
        stages).
    """
    is_touch = rows.is_touch
    channel_of = channel_names = stage_of = None
    if channel is not None:
        label_column(df[channel], channel, "channel", allow_missing=True)
        ch, channel_names = _codes(df[channel], is_touch, channel, "channel")
        missing = is_touch & (ch < 0)
        if missing.any():
            raise InputError(f"column {channel!r} (channel) is missing on touch row(s) "
                             f"{_row_list(df.index[missing])}; every touch needs its channel")
        channel_of = _entity_attribute(rows.touchpoint, ch, channel_names, rows.names, channel,
                                       "channel")
        del ch, missing
    if stage is not None:
        st, st_names = _codes(df[stage].astype(object).where(df[stage].notna(), None), is_touch,
                              stage, "stage")
        st_of = _entity_attribute(rows.touchpoint, st, st_names, rows.names, stage, "stage")
        stage_of = np.array([st_names[k] if k >= 0 else None for k in st_of], dtype=object)
    return channel_of, channel_names, stage_of


def _conversion_rows(df, conversion, tp_col, conversion_touchpoints):
    """Which rows are conversions, their counts (None for a plain flag), and which rows name a
    touchpoint that is a touch (not one of ``conversion_touchpoints``).
    """
    conv = None
    if conversion is None:
        is_conv = np.zeros(len(df), dtype=bool)
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
    return is_conv, conv, has_tp


def _codes(values: pd.Series, mask: np.ndarray | None, column: str, role: str):
    """Factorise labels to sorted vocabulary codes (-1 where missing or masked out); labels of
    different types that print the same are an error.
    """
    codes, uniques = pd.factorize(values, sort=False)
    check_distinct_labels(uniques, column, role)
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


class Report:
    """What from_events read, dropped, reshaped: ``report_``'s rows, the warning's phrases."""

    def __init__(self, n_events: int):
        self.rows = [dict(step="from_events", item="events read", count=n_events)]
        self.phrases: list[str] = []

    def note(self, step: str, item: str, count: int) -> None:
        """Note a count in ``report_``."""
        self.rows.append(dict(step=step, item=item, count=count))

    def dropped(self, step: str, item: str, count: int, phrase: str) -> None:
        """Note ``count`` things dropped, with the warning's phrase for them (nothing if 0)."""
        if count:
            self.note(step, item, count)
            self.phrases.append(phrase)


def check_arguments(df, columns, conversion_touchpoints, open_journeys, max_touches,
                     conversion_window) -> list | None:
    """The frame, its columns and the options, checked before anything is read; returns
    ``conversion_touchpoints`` as a list.
    """
    require_frame(df, "event log")
    require_columns(df, columns)
    conversion_touchpoints = label_list(conversion_touchpoints, "conversion_touchpoints")
    if columns["conversion"] is None and not conversion_touchpoints:
        raise ParameterError("say which rows are conversions: conversion='<flag column>' and/or "
                             "conversion_touchpoints=['purchase', ...]")
    if open_journeys not in ("keep", "drop"):
        raise ParameterError(f"open_journeys must be 'keep' or 'drop', got {open_journeys!r}")
    if max_touches is not None and (not isinstance(max_touches, (int, np.integer))
                                    or isinstance(max_touches, bool) or max_touches < 1):
        raise ParameterError(f"max_touches must be an integer >= 1, got {max_touches!r}")
    window = conversion_window
    if window is not None and not ((isinstance(window, (tuple, list)) or np.ndim(window) == 1)
                                   and len(window) == 2):
        raise ParameterError(f"conversion_window must be a pair (start, end), got "
                             f"{conversion_window!r}")
    return conversion_touchpoints


def note_ignored_rows(rows: EventRows, report: Report) -> None:
    """Count the rows that are neither touch nor conversion, values off conversions, and
    touches named after their channel (no touchpoint).
    """
    if rows.named_after_channel:
        report.note("from_events", "touch rows without touchpoint named after their channel",
                    rows.named_after_channel)
    k = int((~rows.is_touch & ~rows.is_conversion).sum())
    report.dropped("from_events", "rows with neither touchpoint nor conversion dropped", k,
                   f"{k} row(s) with neither touchpoint nor conversion")
    if rows.value is not None:
        k = int(((rows.value > 0) & ~rows.is_conversion).sum())
        report.dropped("from_events", "value on rows that are not conversions ignored", k,
                       f"value on {k} non-conversion row(s)")
