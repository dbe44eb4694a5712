"""The :class:`Journeys` container: integer-coded, weighted customer journeys in a CSR layout."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys import arrays as _arrays
from attribution.journeys import covariates as _cov
from attribution.journeys import export as _export
from attribution.journeys import paths as _paths
from attribution.journeys import reshape as _reshape
from attribution.journeys.arrays import frozen as _frozen
from attribution.journeys.immutable import Immutable
from attribution.journeys.validation import ParameterError

LEVELS = _arrays.LEVELS


class Journeys(Immutable, _cov.CovariateAccess):
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
    time_zone : str, optional
        The zone of datetime ``times`` ("Europe/Paris", "+01:00", "UTC"; the times stay UTC
        nanoseconds): the event log's zone. None: naive times, or no times.
    path_groups : (array of int64, array of int64), optional
        Which journeys share a path, when it is known for free (path tables): the distinct-path
        index of every journey, numbered by first appearance, and the first journey of each.
        With it, :meth:`aggregate` needs no hashing and models that credit each path on its
        own fit on the distinct paths (:meth:`compact`). With covariates, journeys share a
        group when they share the path and every covariate.
    covariates : pandas.DataFrame, optional
        One row per journey (never entities, never credited), coded as :mod:`.covariates`.
    covariate_bins : int or mapping
        Quantile bins of a continuous covariate, or fixed edges per column (default 5).
    """

    _DEFAULTS = {"time_zone": None, "_cov": (), "_cov_edges": ()}  # pickled by older versions

    def __init__(self, offsets, codes, conversions=None, nulls=None, value=None, *, names,
                 channel_of=None, channel_names=None, stage_of=None, times=None, end_times=None,
                 ids=None, seq=None, level="touchpoint", report=None, time_kind="datetime",
                 path_groups=None, time_zone=None, covariates=None,
                 covariate_bins=_cov.DEFAULT_BINS):
        fields = _arrays.checked(offsets, codes, conversions, nulls, value, names=names,
                                 channel_of=channel_of, channel_names=channel_names,
                                 stage_of=stage_of, times=times, end_times=end_times, ids=ids,
                                 seq=seq, level=level, time_kind=time_kind,
                                 path_groups=path_groups, time_zone=time_zone)
        for key, val in fields.items():
            object.__setattr__(self, key, val)
        self.report_records = tuple(dict(r) for r in (report or ()))
        self._cov, self._cov_edges = _cov.coded(covariates, self.n_journeys, covariate_bins,
                                                self.conversions + self.nulls,
                                                (*self.names, *self.channel_names))
        self.path_groups = _frozen(_cov.refined(self.path_groups, self._cov))
        self._cache = {}
        self._frozen = True

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_paths(cls, df, path="path", conversions="total_conversions", nulls="total_null",
                   value="auto", sep=">", channel_map=None, aggregate=False, covariates=None,
                   covariate_bins=_cov.DEFAULT_BINS):
        """Read an aggregated path table (ChannelAttribution's format).

        Parameters
        ----------
        df : pandas.DataFrame
            One row per path: ``"a > b > c"``, its conversions, non-conversions and value.
        path, conversions, nulls, value : str or None
            Columns (nulls, value ``None``: zeros; value ``"auto"``: total_conversion_value if any).
        sep : str
            Separator between touchpoints; names are stripped of surrounding spaces.
        channel_map : mapping or pandas.Series, optional
            Touchpoint -> channel. Without it every name is its own channel (``level="channel"``).
        aggregate : bool
            Return one journey per distinct path (weights summed, no ``ids``) instead of one
            per row. Every model gives the same credit; it uses far less memory on large
            tables with repeated paths, so prefer it for fitting.
        covariates : list of str, optional
            Per-row covariate columns (:attr:`covariates`, :mod:`.covariates`; binned by
            ``covariate_bins``); with ``aggregate=True``, per distinct (path, covariates).

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
                                   aggregate=aggregate, covariates=covariates,
                                   covariate_bins=covariate_bins)

    @classmethod
    def from_events(cls, df, journey, time, touchpoint, channel=None, conversion=None, value=None,
                    stage=None, lookback=None, max_touches=None, conversion_window=None,
                    reuse_touches=False, open_journeys="keep", conversion_touchpoints=None,
                    time_unit=None, time_format=None, tz=None, covariates=None,
                    covariate_bins=_cov.DEFAULT_BINS):
        """Sessionise an event log into journeys.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per event, in any order: rows of a journey at the same time are ordered
            by content (touches before conversions, then by touchpoint name, count, value).
        journey : str
            Column identifying the person (user, cookie, account); no missing values.
        time : str
            Column ordering the events: datetime64, date strings, or numbers with
            ``time_unit`` (rules and range: :mod:`attribution.journeys.times`).
        touchpoint : str
            Column naming the interaction. Missing on rows that are only a conversion.
        channel : str, optional
            Column naming the medium that hosts the touchpoint; one channel per touchpoint.
        conversion : str, optional
            Column flagging conversions (bool, or a count >= 0): on a touch row the touch
            converts (and closes its journey); a row without a touchpoint converts on its own.
        value : str, optional
            Column with the conversion's value (read on conversion rows; elsewhere counted).
        stage : str, optional
            Column with the touchpoint's stage (pre-, during-, post-purchase ...).
        lookback : str, pandas.Timedelta or number, optional
            Only touches within this duration before the conversion (``"30D"``, ``"12h"``; on
            steps a number). Open journeys count back from their last touch.
        max_touches : int, optional
            Only the last ``max_touches`` touches of each journey.
        conversion_window : (start, end), optional
            Only conversions with ``start <= time < end`` are attributed.
        reuse_touches : bool
            False (default): each conversion gets the touches since the person's previous
            conversion; True: every touch in its window (it may count for several conversions).
        open_journeys : {"keep", "drop"}
            Touches after a person's last conversion: a non-converting journey, or dropped.
        conversion_touchpoints : list of str, optional
            Touchpoint labels that mean a conversion (``["purchase"]``), not a touch.
        time_unit, time_format, tz : str, optional
            How times are read (:mod:`attribution.journeys.times`): ``time_unit`` ("s" ... "ns":
            epoch times; "step": whole steps) is required for numbers; ``time_format`` is the
            format of date strings (default: guessed once, every row must match); ``tz`` the
            zone (naive times are wall-clock times there). Labels that print alike but differ
            in type (``1``, ``"1"``) are an error in any column.
        covariates : list of str, optional
            Per-journey columns (intent, segment, device; binned by ``covariate_bins``,
            :mod:`.covariates`), read on the row closing each journey: every touch it keeps
            must carry the same value (else an error naming the rows), none missing.

        Returns
        -------
        Journeys
            At touchpoint level, with ``ids`` (the journey column), ``seq`` (conversion number
            in the person; the open journey last), ``times`` and ``end_times`` (conversion
            time, or an open journey's last touch). Drops are counted in ``report_`` and
            summarised in one :class:`~attribution.DroppedDataWarning`.
        """
        from attribution.journeys.events import journeys_from_events

        return journeys_from_events(
            cls, df, journey=journey, time=time, touchpoint=touchpoint, channel=channel,
            conversion=conversion, value=value, stage=stage, lookback=lookback, tz=tz,
            max_touches=max_touches, conversion_window=conversion_window, time_unit=time_unit,
            reuse_touches=reuse_touches, open_journeys=open_journeys, time_format=time_format,
            conversion_touchpoints=conversion_touchpoints, covariates=covariates,
            covariate_bins=covariate_bins)

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
        state = {key: getattr(self, key) for key in _arrays.ARRAYS}
        state.update(level=self.level, time_kind=self.time_kind, path_groups=self.path_groups,
                     time_zone=self.time_zone, report=list(self.report_records),
                     covariates=self.covariates, covariate_bins=self.covariate_edges)
        state.update(changes)
        return Journeys(**state)

    def with_touches(self, keep: np.ndarray, step: str, **extra) -> Journeys:
        """Keep the touches where ``keep`` is true (no journey may lose all its touches); the
        touches removed are counted in :attr:`report_` under ``step``.
        """
        return _reshape.keep_touches(self, keep, step, **extra)

    def select(self, journeys) -> Journeys:
        """Return the journeys at the given positions or boolean mask, in that order."""
        return (_cov.select if self._cov else _reshape.select)(self, journeys)

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
        return _reshape.channel_level(self)

    @classmethod
    def concat(cls, parts) -> Journeys:
        """The journeys of several parts as one (see :func:`attribution.journeys.stats.concat`)."""
        from attribution.journeys.stats import concat

        return concat(parts, cls)

    def aggregate(self) -> Journeys:
        """Merge journeys with identical paths (and covariates), summing conversions, nulls and
        value. Times and journey ids do not survive aggregation. Every model gives the same
        credit on the aggregate as on the journeys themselves.
        """
        return self._cached("aggregate", lambda: (_cov.aggregate if self._cov
                                                  else _reshape.aggregate)(self))

    def transform(self, kind: str, /, **params) -> Journeys:
        """Apply a path transform and return new journeys.

        ``kind`` is ``"collapse"``, ``"first"``, ``"frequency"``, ``"trim"`` (``n=``),
        ``"drop_unless_only"`` (``name=``) or ``"drop_if_last"`` (``name=``); see
        :mod:`attribution.journeys.transforms`. The touches removed are counted in ``report_``.
        """
        from attribution.journeys.transforms import apply_transform

        return apply_transform(self, kind, **params)

    # ------------------------------------------------------------------ output
    def path_strings(self, sep: str = " > ") -> np.ndarray:
        """The path of each journey as one string, names joined with ``sep``."""
        return _export.path_strings(self, sep)

    def to_paths(self, sep: str = " > ", aggregate: bool = True) -> pd.DataFrame:
        """Write the journeys as a path table (``path``, ``total_conversions``, ``total_null``,
        ``total_conversion_value``), readable again with :meth:`from_paths`.
        """
        return _export.to_paths(self, sep, aggregate)

    def describe(self, top: int = 10):
        """Summary statistics, top paths and the report of what windows and transforms removed."""
        from attribution.journeys.describe import describe

        return describe(self, top=top)

