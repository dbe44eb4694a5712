"""The :class:`Journeys` container: integer-coded, weighted customer journeys in a CSR layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.journeys import paths as _paths
from attribution.journeys.validation import (
    InputError,
    ParameterError,
    check_finite_nonneg,
    check_separator_free,
)

LEVELS = ("touchpoint", "channel")


class Journeys:
    """Ordered touches of many journeys, stored as flat integer arrays.

    A journey is the ordered touches of one person up to a conversion (or up to the end of the
    data).  Journey ``j`` holds the touches ``codes[offsets[j]:offsets[j + 1]]``; each code indexes
    :attr:`names`, the entities of the level the journeys are coded at (touchpoints or channels).
    Per journey there are ``conversions`` (>= 0, fractional allowed), ``nulls`` (non-converting
    journeys with this path; an event-log journey has conversions + nulls = 1) and ``value``.
    Aggregated path tables and per-journey data are the same type: counts are weights.

    Build it with :meth:`from_events` (event logs) or :meth:`from_paths` (path tables); the
    constructor is for arrays that are already coded. A Journeys is immutable: its arrays are
    read-only views and its attributes cannot be set after construction. Derived arrays (touch
    positions, the aggregate, exposure) are pure functions of it, computed once and cached;
    they never change what a later call computes. Methods return new objects.

    Parameters
    ----------
    offsets : array of int64, shape (n_journeys + 1,)
        CSR offsets; ``offsets[0] == 0`` and ``offsets[-1] == len(codes)``. Every journey has at
        least one touch.
    codes : array of int32, shape (n_touches,)
        Entity code of each touch.
    conversions, nulls, value : arrays of float64, shape (n_journeys,)
        Journey weights; ``None`` means zeros.
    names : sequence of str
        Entity names (touchpoints, or channels when ``level="channel"``).
    channel_of : array of int, optional
        Channel code of each entity; default: every entity is its own channel.
    channel_names : sequence of str, optional
        Channel names; required with ``channel_of``.
    stage_of : sequence of str, optional
        Stage (e.g. pre-, during-, post-purchase) of each entity.
    times : array of int64, optional
        Time of each touch (nanoseconds since the epoch for datetimes).
    end_times : array of int64, optional
        Conversion time of each journey (last touch time for a journey that does not convert).
    ids : array, optional
        Journey id of each journey (person id for event logs, row label for path tables).
    seq : array of int, optional
        Conversion number of the journey within its person (event logs).
    level : {"touchpoint", "channel"}
        What the codes name.
    report : list of dict, optional
        What was dropped or reshaped on the way here (see :attr:`report_`).
    time_kind : {"datetime", "numeric"}
        What ``times`` hold: nanoseconds since the epoch, or plain numbers.
    path_groups : (array of int64, array of int64), optional
        Which journeys share a path, when it is known for free (path tables): the distinct-path
        index of every journey, numbered by first appearance, and the first journey of each.
        With it, :meth:`aggregate` needs no hashing and models that credit each path on its
        own fit on the distinct paths (:meth:`compact`).
    """

    def __init__(self, offsets, codes, conversions=None, nulls=None, value=None, *, names,
                 channel_of=None, channel_names=None, stage_of=None, times=None, end_times=None,
                 ids=None, seq=None, level="touchpoint", report=None, time_kind="datetime",
                 path_groups=None):
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        self.codes = np.ascontiguousarray(codes, dtype=np.int32)
        n = len(self.offsets) - 1
        if n < 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.codes):
            raise InputError("offsets must start at 0 and end at len(codes)")
        lengths = np.diff(self.offsets)
        if (lengths <= 0).any():
            j = int(np.flatnonzero(lengths <= 0)[0])
            raise InputError(f"journey {j} has no touch; every journey needs at least one touch")
        self.names = np.asarray([str(x) for x in names], dtype=object)
        k = len(self.names)
        if self.codes.size and (self.codes.min() < 0 or self.codes.max() >= k):
            raise InputError(f"touch codes must lie in [0, {k}) to index the {k} names")

        def weight(x, role):
            if x is None:
                return np.zeros(n)
            arr = np.ascontiguousarray(x, dtype=np.float64)
            if arr.shape != (n,):
                raise InputError(f"{role} must have one entry per journey ({n}), got {arr.shape}")
            return check_finite_nonneg(arr, role, role)

        self.conversions = weight(conversions, "conversions")
        self.nulls = weight(nulls, "nulls")
        self.value = weight(value, "value")
        if channel_of is None:
            self.channel_of = np.arange(k, dtype=np.int32)
            self.channel_names = self.names.copy()
        else:
            self.channel_of = np.asarray(channel_of, dtype=np.int32)
            self.channel_names = np.asarray([str(x) for x in channel_names], dtype=object)
        self.stage_of = None if stage_of is None else np.asarray(stage_of, dtype=object)
        self.times = None if times is None else np.asarray(times, dtype=np.int64)
        self.end_times = None if end_times is None else np.asarray(end_times, dtype=np.int64)
        self.ids = None if ids is None else np.asarray(ids)
        self.seq = None if seq is None else np.asarray(seq, dtype=np.int64)
        if level not in LEVELS:
            raise ParameterError(f"level must be one of {LEVELS}, got {level!r}")
        if time_kind not in ("datetime", "numeric"):
            raise ParameterError(f"time_kind must be 'datetime' or 'numeric', got {time_kind!r}")
        if self.channel_of.shape != (k,) or (k and (self.channel_of.min() < 0 or
                                                    self.channel_of.max()
                                                    >= len(self.channel_names))):
            raise InputError(f"channel_of must give each of the {k} names a channel code in "
                             f"[0, {len(self.channel_names)})")
        self.level = level
        self.time_kind = time_kind
        self.path_groups = _check_groups(path_groups, n)
        self.report_records = tuple(dict(r) for r in (report or ()))
        for key in _ARRAYS:
            arr = getattr(self, key)
            if arr is not None:  # read-only views: the caller's arrays stay writeable
                arr = arr.view()
                arr.flags.writeable = False
                object.__setattr__(self, key, arr)
        self._cache = {}
        self._frozen = True

    def __setattr__(self, name, value):
        if getattr(self, "_frozen", False):
            raise AttributeError(f"Journeys is immutable: cannot set {name!r}; use "
                                 f".replace({name}=...) for a new object")
        object.__setattr__(self, name, value)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state):
        for key, value in state.items():
            object.__setattr__(self, key, value)

    def _cached(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_paths(cls, df, path="path", conversions="total_conversions", nulls="total_null",
                   value=None, sep=">", channel_map=None, aggregate=False):
        """Read an aggregated path table (ChannelAttribution's format).

        Parameters
        ----------
        df : pandas.DataFrame
            One row per path: ``"a > b > c"``, its conversions, non-conversions and value.
        path, conversions, nulls, value : str or None
            Column names. ``nulls`` and ``value`` may be ``None`` (zeros).
        sep : str
            Separator between touchpoints; names are stripped of surrounding spaces.
        channel_map : mapping or pandas.Series, optional
            Touchpoint -> channel. Without it every name is its own channel (``level="channel"``).
        aggregate : bool
            Return one journey per distinct path (weights summed, no ``ids``) instead of one
            per row. Every model gives the same credit; it uses far less memory on large
            tables with repeated paths, so prefer it for fitting.

        Returns
        -------
        Journeys
            One journey per row (``ids`` are the row labels), or per distinct path with
            ``aggregate=True``. Fractional conversions are kept.
            Rows whose path is empty and that carry only nulls are dropped and counted in
            :attr:`report_`; an empty path that carries conversions is an error.
        """
        from attribution.journeys.path_table import journeys_from_paths

        return journeys_from_paths(cls, df, path=path, conversions=conversions, nulls=nulls,
                                   value=value, sep=sep, channel_map=channel_map,
                                   aggregate=aggregate)

    @classmethod
    def from_events(cls, df, journey, time, touchpoint, channel=None, conversion=None, value=None,
                    stage=None, lookback=None, max_touches=None, conversion_window=None,
                    reuse_touches=False, open_journeys="keep", conversion_touchpoints=None):
        """Sessionise an event log into journeys.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per event. Unsorted input is sorted by journey and time (input order
            breaks ties; at equal times touches come before the conversion).
        journey : str
            Column identifying the person (user, cookie, account); no missing values.
        time : str
            Column ordering the events: datetime64 (time zones are converted to UTC) or
            integers.
        touchpoint : str
            Column naming the interaction. Missing on rows that are only a conversion.
        channel : str, optional
            Column naming the medium that hosts the touchpoint; one channel per touchpoint.
        conversion : str, optional
            Column flagging conversions: bool, or a count >= 0. A row with a touchpoint and a
            conversion is a touch that converts (it is part of the journey it closes); a row
            with a conversion and no touchpoint is a conversion of its own.
        value : str, optional
            Column with the conversion's value (read on conversion rows only; value on other
            rows is ignored and counted).
        stage : str, optional
            Column with the touchpoint's stage (pre-, during-, post-purchase ...).
        lookback : str or int, optional
            Only touches within this duration before the conversion (``"30D"``; an integer
            for integer times). Open journeys count back from their last touch.
        max_touches : int, optional
            Only the last ``max_touches`` touches of each journey.
        conversion_window : (start, end), optional
            Only conversions with ``start <= time < end`` are attributed.
        reuse_touches : bool
            False (default): each conversion gets the touches since the person's previous
            conversion. True: every touch inside its window, so a touch may count for several
            conversions (as fractribution does).
        open_journeys : {"keep", "drop"}
            Touches after a person's last conversion form a non-converting journey, or are
            dropped.
        conversion_touchpoints : list of str, optional
            Touchpoint labels that mean a conversion (e.g. ``["purchase"]``); such rows are
            conversions, not touches.

        Returns
        -------
        Journeys
            At touchpoint level, with ``ids`` (the journey column's value), ``seq`` (the
            conversion number within the person; the open journey comes last), ``times`` and
            ``end_times`` (conversion time, or the last touch of an open journey).
            Everything dropped is counted in ``report_`` and summarised in one
            :class:`~attribution.DroppedDataWarning`.
        """
        from attribution.journeys.events import journeys_from_events

        return journeys_from_events(
            cls, df, journey=journey, time=time, touchpoint=touchpoint, channel=channel,
            conversion=conversion, value=value, stage=stage, lookback=lookback,
            max_touches=max_touches, conversion_window=conversion_window,
            reuse_touches=reuse_touches, open_journeys=open_journeys,
            conversion_touchpoints=conversion_touchpoints)

    # ------------------------------------------------------------------ basic properties
    @property
    def n_journeys(self) -> int:
        """Number of journeys (rows)."""
        return len(self.offsets) - 1

    @property
    def n_touches(self) -> int:
        """Number of touches."""
        return len(self.codes)

    @property
    def lengths(self) -> np.ndarray:
        """Touches per journey."""
        return self._cached("lengths", lambda: np.diff(self.offsets))

    @property
    def touch_journey(self) -> np.ndarray:
        """Journey index of every touch."""
        return self._cached("tj", lambda: _paths.touch_journey(self.offsets))

    @property
    def touch_position(self) -> np.ndarray:
        """0-based position of every touch in its journey."""
        return self._cached("pos", lambda: _paths.touch_position(self.offsets))

    @property
    def touch_length(self) -> np.ndarray:
        """Length of the journey of every touch."""
        return self._cached("tlen", lambda: self.lengths[self.touch_journey])

    def touch_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The conversions and value of the journey of every touch."""
        return self._cached("tw", lambda: (np.repeat(self.conversions, self.lengths),
                                           np.repeat(self.value, self.lengths)))

    def distinct(self, return_counts: bool = False):
        """The distinct (journey, entity) pairs, sorted: each entity once per journey it appears
        in (and its number of touches there, with ``return_counts``).
        """
        jj, code, count = self._cached("distinct", lambda: _paths.distinct_pairs(
            self.touch_journey, self.codes, len(self.names), return_counts=True))
        return (jj, code, count) if return_counts else (jj, code)

    def touch_pair(self) -> np.ndarray:
        """Index into :meth:`distinct` of every touch's (journey, entity) pair."""
        def compute():
            jj, code = self.distinct()
            k = len(self.names)
            return np.searchsorted(jj * k + code, self.touch_journey * k + self.codes)

        return self._cached("touch_pair", compute)

    def compact(self) -> Journeys:
        """The converting journeys, aggregated to distinct paths when :attr:`path_groups` is
        known (path tables, aggregates): what models that credit each path on its own fit on.
        Journeys from an event log keep their rows (and times).
        """
        def compute():
            src = self.aggregate() if self.path_groups is not None else self
            return src.converting()

        return self._cached("compact", compute)

    def converting(self) -> Journeys:
        """The journeys with conversions or value (all of them when every journey has some)."""
        def compute():
            mask = (self.conversions > 0) | (self.value > 0)
            return self if mask.all() else self.select(mask)

        return self._cached("converting", compute)

    def exposure(self) -> np.ndarray:
        """Weighted touches of each entity: the sum over its touches of the journey's
        conversions + nulls (an entity with exposure 0 was never met).
        """
        def compute():
            src = self.aggregate() if self.path_groups is not None else self  # same sums
            w = np.repeat(src.conversions + src.nulls, src.lengths)
            return np.bincount(src.codes, w, minlength=len(src.names))

        return self._cached("exposure", compute)

    @property
    def report_(self) -> pd.DataFrame:
        """Everything read, dropped or reshaped on the way to these journeys (step, item, count)."""
        return pd.DataFrame(list(self.report_records), columns=["step", "item", "count"])

    @property
    def touch_channel(self) -> np.ndarray:
        """Channel code of every touch."""
        return self.channel_of[self.codes]

    def __len__(self) -> int:
        return self.n_journeys

    def __repr__(self) -> str:
        return (f"Journeys({self.n_journeys} journeys, {self.n_touches} touches, "
                f"{len(self.names)} {self.level}s, conversions={self.conversions.sum():g}, "
                f"nulls={self.nulls.sum():g})")

    def replace(self, **changes) -> Journeys:
        """A new Journeys with some constructor arguments changed (e.g. ``conversions=``).

        Everything not named is shared with this object. :attr:`path_groups` is kept only when
        neither the paths nor the number of journeys change.
        """
        if changes.keys() & {"offsets", "codes", "names"}:
            changes.setdefault("path_groups", None)
        state = dict(offsets=self.offsets, codes=self.codes, conversions=self.conversions,
                     nulls=self.nulls, value=self.value, names=self.names,
                     channel_of=self.channel_of, channel_names=self.channel_names,
                     stage_of=self.stage_of, times=self.times, end_times=self.end_times,
                     ids=self.ids, seq=self.seq, level=self.level,
                     report=list(self.report_records), time_kind=self.time_kind,
                     path_groups=self.path_groups)
        state.update(changes)
        return Journeys(**state)

    def with_touches(self, keep: np.ndarray, step: str, **extra) -> Journeys:
        """Keep the touches where ``keep`` is true (no journey may lose all its touches); the
        touches removed are counted in :attr:`report_` under ``step``.
        """
        counts = np.add.reduceat(keep.astype(np.int64), self.offsets[:-1])
        offsets = np.zeros(self.n_journeys + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        report = list(self.report_records)
        report.append(dict(step=step, item="touches removed", count=int((~keep).sum())))
        return self.replace(offsets=offsets, codes=self.codes[keep],
                             times=None if self.times is None else self.times[keep],
                             report=report, **extra)

    def select(self, journeys) -> Journeys:
        """Return the journeys at the given positions or boolean mask, in that order."""
        idx = np.arange(self.n_journeys)[journeys]
        lengths = self.lengths[idx]
        take = _paths.ranges(self.offsets[idx], lengths)
        offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])

        def sub(a):
            return None if a is None else a[idx]

        return self.replace(offsets=offsets, codes=self.codes[take],
                             conversions=self.conversions[idx], nulls=self.nulls[idx],
                             value=self.value[idx],
                             times=None if self.times is None else self.times[take],
                             end_times=sub(self.end_times), ids=sub(self.ids), seq=sub(self.seq),
                             path_groups=None)

    # ------------------------------------------------------------------ levels, aggregation
    def at_level(self, level: str) -> Journeys:
        """Recode the touches at ``"touchpoint"`` or ``"channel"`` level.

        Going to channel level maps every touch to its touchpoint's channel; consecutive touches
        of one channel stay separate touches (collapse them with ``transform("collapse")``).
        """
        if level not in LEVELS:
            raise ParameterError(f"level must be 'touchpoint' or 'channel', got {level!r}")
        if level == self.level:
            return self
        if level == "touchpoint":
            raise ParameterError("these journeys are coded at channel level; the touchpoints are "
                                 "not known any more. Keep the touchpoint-level object instead")
        report = list(self.report_records) + [dict(step="at_level", item="channel", count=0)]
        return self.replace(codes=self.channel_of[self.codes], names=self.channel_names,
                             channel_of=np.arange(len(self.channel_names)), stage_of=None,
                             level="channel", report=report)

    @classmethod
    def concat(cls, parts) -> Journeys:
        """The journeys of several parts as one (see :func:`attribution.journeys.stats.concat`)."""
        from attribution.journeys.stats import concat

        return concat(parts, cls)

    def aggregate(self) -> Journeys:
        """Merge journeys with identical paths, summing conversions, nulls and value.

        Times and journey ids do not survive aggregation. Every model gives the same credit on
        the aggregate as on the journeys themselves.
        """
        return self._cached("aggregate", self._aggregate)

    def _aggregate(self) -> Journeys:
        group, first = self.path_groups or _paths.group_identical_paths(self.offsets,
                                                                         self.codes)
        g = len(first)
        lengths = self.lengths[first]
        offsets = np.zeros(g + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        codes = self.codes[_paths.ranges(self.offsets[first], lengths)]
        report = list(self.report_records) + [dict(step="aggregate", item="unique paths", count=g)]

        def total(w):
            return np.bincount(group, weights=w, minlength=g)

        out = self.replace(offsets=offsets, codes=codes, conversions=total(self.conversions),
                            nulls=total(self.nulls), value=total(self.value), times=None,
                            end_times=None, ids=None, seq=None, report=report,
                            path_groups=(np.arange(g), np.arange(g)))
        return out

    def transform(self, kind: str, /, **params) -> Journeys:
        """Apply a path transform and return new journeys.

        ``kind`` is ``"collapse"``, ``"first"``, ``"frequency"``, ``"trim"`` (``n=``),
        ``"drop_unless_only"`` (``name=``) or ``"drop_if_last"`` (``name=``); see
        :mod:`attribution._transforms`. The touches removed are counted in ``report_``.
        """
        from attribution.journeys.transforms import apply_transform

        return apply_transform(self, kind, **params)

    # ------------------------------------------------------------------ output
    def path_strings(self, sep: str = " > ") -> np.ndarray:
        """The path of each journey as one string, names joined with ``sep``."""
        check_separator_free(self.names, sep.strip(), self.level)
        names = pa.array(list(self.names), type=pa.string()).take(pa.array(self.codes))
        lists = pa.ListArray.from_arrays(pa.array(self.offsets.astype(np.int32)
                                                  if self.n_touches < 2**31 else self.offsets),
                                         names)
        return np.asarray(pc.binary_join(lists, sep).to_numpy(zero_copy_only=False), dtype=object)

    def to_paths(self, sep: str = " > ", aggregate: bool = True) -> pd.DataFrame:
        """Write the journeys as a path table (``path``, ``total_conversions``, ``total_null``,
        ``total_conversion_value``), readable again with :meth:`from_paths`.
        """
        src = self.aggregate() if aggregate else self
        return pd.DataFrame({
            "path": src.path_strings(sep),
            "total_conversions": src.conversions,
            "total_null": src.nulls,
            "total_conversion_value": src.value,
        })

    def describe(self, top: int = 10):
        """Summary statistics, top paths and the report of what windows and transforms removed."""
        from attribution.journeys.describe import describe

        return describe(self, top=top)


_ARRAYS = ("offsets", "codes", "conversions", "nulls", "value", "names", "channel_of",
           "channel_names", "stage_of", "times", "end_times", "ids", "seq")


def _check_groups(groups, n):
    if groups is None:
        return None
    group, first = (np.asarray(a, dtype=np.int64) for a in groups)
    if group.shape != (n,) or (n and (group.min() < 0 or group.max() >= len(first))):
        raise InputError(f"path_groups must give each of the {n} journeys a group in "
                         f"[0, {len(first)})")
    for a in (group, first):
        a.flags.writeable = False
    return group, first
