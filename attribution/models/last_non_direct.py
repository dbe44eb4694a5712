"""Last non-direct click: the last touch of each journey whose channel is not "direct".

Touch ``t`` of journey ``j`` is *eligible* when its channel is not in ``direct`` and, with a
``window``, ``T_j - time_t <= window`` (``T_j`` the conversion time). All the journey's credit
goes to its last eligible touch, or to its last touch when none is eligible (a journey of
direct touches only, or whose non-direct touches are all older than the window): ``w = 1`` on
that touch (MODELS.md, Heuristics). Credit sums to the total conversions and value.
"""

from __future__ import annotations

import warnings

import numpy as np

from attribution.journeys.times import duration, is_bare_number
from attribution.journeys.validation import (
    AttributionWarning,
    InputError,
    ParameterError,
    label_list,
)
from attribution.models import _checks
from attribution.models._allocate import SingleTouch
from attribution.models._registry import register
from attribution.models.heuristic import _Heuristic


@register("last_non_direct")
class LastNonDirect(_Heuristic):
    """Last non-direct touch: all credit to the last touch whose channel is not direct.

    A touch is direct when its channel (or, for names that are touchpoints, its touchpoint)
    is one of ``direct``; names that match neither a channel nor a touchpoint of the journeys
    are warned about (an AttributionWarning naming the channels). The credit of a journey goes to
    its last non-direct touch; a non-direct touch older than ``window`` before the conversion
    does not take it from a later direct touch; a journey with no eligible touch (direct
    touches only) credits its last touch. Credit sums to the total conversions and value.

    At touchpoint level the credit goes to the touchpoint of that touch (a touchpoint is
    direct when its channel is, or when ``direct`` names it). On journeys without
    channels (a path table without ``channel_map``) every name is its own channel.

    Parameters
    ----------
    direct : list of str
        Channel (or touchpoint) names that count as direct (default ``("direct",)``); a
        bare string is one name. Names absent from the data are warned about, not refused.
    window : str, pandas.Timedelta, number or None
        Only non-direct touches within this duration before the conversion may take the
        credit: a duration with a unit (``"24h"``, ``"30D"``) on datetime journeys, a number of
        steps on step times (``time_unit="step"``). None (default): no window, and no times
        needed. A window on journeys without times is an error.
    level : {None, "touchpoint", "channel"}
        Fit at this level (default: the level of the journeys).

    Notes
    -----
    The conversion time ``T_j`` is the journey's ``end_times`` (event logs); when the journeys
    carry touch times but no end times, the journey's latest touch time.
    """

    def __init__(self, direct=("direct",), window=None, level=None):
        self.direct = direct
        self.window = window
        self.level = level

    def _direct_names(self) -> list:
        names = [self.direct] if isinstance(self.direct, str) else label_list(self.direct,
                                                                              "direct")
        if not all(isinstance(x, str) for x in names):
            raise ParameterError(f"direct must be a list of channel names (strings), got "
                                 f"{_checks.shown(self.direct)}")
        return names

    def _window(self, time_kind):
        """The window in the units of the times (``time_kind=None``: any form is accepted)."""
        w = self.window
        if w is None:
            return None
        if time_kind is None:
            time_kind = "numeric" if is_bare_number(w) else "datetime"
        out = duration(w, time_kind, "window", whole=False,
                       steps="the times are steps, time_unit='step'")
        if out < 0:
            raise ParameterError(f"window must be >= 0, got {_checks.shown(w)}")
        return out

    def _fit(self, journeys):
        """Fit state; direct names that match no channel or touchpoint of the journeys are
        warned about (here, on the whole data the fit sees, not per partition).
        """
        direct = [str(d) for d in self._direct_names()]
        channels = [str(c) for c in (journeys.channel_names if journeys.channel_names
                                     is not None else journeys.names)]
        known = set(channels) | {str(n) for n in journeys.names}
        unknown = [d for d in direct if d not in known]
        if unknown:
            shown = ", ".join(sorted(set(channels)))[:300]
            warnings.warn(f"LastNonDirect: direct name(s) {', '.join(map(repr, unknown))} "
                          f"match no channel or touchpoint of the journeys (channels: "
                          f"{shown}); pass direct=[...] with the names of the data",
                          AttributionWarning, stacklevel=3)
        return super()._fit(journeys)

    def _check_params(self):
        super()._check_params()
        self._direct_names()
        self._window(None)

    @property
    def requires_times(self) -> bool:
        """True with a ``window``: whether a touch may take the credit depends on its time."""
        return self.window is not None

    def _eligible(self, j) -> np.ndarray:
        """Whether each touch may take its journey's credit."""
        direct = np.asarray(self._direct_names(), dtype=str)
        channel = np.asarray(j.channel_names, dtype=object).astype(str)[j.channel_of]
        names = np.asarray(j.names, dtype=object).astype(str)
        ok = ~(np.isin(channel, direct) | np.isin(names, direct))[j.codes]
        if self.window is None:
            return ok
        if j.times is None:
            raise InputError(
                "LastNonDirect(window=...) needs touch timestamps, but these journeys have none "
                "(built from a path table, or aggregated). Pass window=None or build the "
                "journeys with Journeys.from_events(...)")
        win = self._window(j.time_kind)
        end = j.end_times
        if end is None:
            end = np.maximum.reduceat(j.times, j.offsets[:-1])
        age = end[j.touch_journey] - j.times
        return ok & (age <= win)

    def _touch_weights(self, j):
        self._check_params()
        last = j.offsets[1:] - 1
        if j.n_touches == 0:
            return SingleTouch(last), None
        pos = np.where(self._eligible(j), np.arange(j.n_touches), -1)
        best = np.maximum.reduceat(pos, j.offsets[:-1])
        return SingleTouch(np.where(best >= 0, best, last)), None
