"""Rule-based models: first touch, last touch, linear, position-based, time decay.

Each gives touch ``t`` of a converting journey ``j`` the weight ``w_t`` (summing to 1 within the
journey) and credit ``c_j w_t`` (value ``v_j w_t``); channel credit sums to the total conversions
and value (MODELS.md, Heuristics).
"""

from __future__ import annotations

import numpy as np

from attribution.journeys.times import duration, is_bare_number
from attribution.journeys.validation import InputError, ParameterError
from attribution.models import _checks
from attribution.models._allocate import SingleTouch, journey_sums
from attribution.models._base import AttributionModel
from attribution.models._registry import register


class _Heuristic(AttributionModel):
    """A model whose touch weights depend only on positions and times, not on the codes: its
    touchpoint credit rolled up to channels equals its channel-level credit.
    """

    additive = True
    accepts_unseen = True


@register("first")
class FirstTouch(_Heuristic):
    """First touch: ``w_1 = 1``; all credit to the journey's first touch.

    Parameters
    ----------
    level : {None, "touchpoint", "channel"}
        Fit at this level (default: the level of the journeys).
    """

    def _touch_weights(self, j):
        return SingleTouch(j.offsets[:-1]), None


@register("last")
class LastTouch(_Heuristic):
    """Last touch: ``w_L = 1``; all credit to the touch just before conversion.

    Parameters
    ----------
    level : {None, "touchpoint", "channel"}
        Fit at this level (default: the level of the journeys).
    """

    def _touch_weights(self, j):
        return SingleTouch(j.offsets[1:] - 1), None


@register("linear")
class Linear(_Heuristic):
    """Linear: ``w_t = 1/L`` for each of the L touches.

    Repeated touches each get their share, as in ChannelAttribution's ``linear_touch``; apply
    ``journeys.transform("first")`` or ``"collapse"`` first to change that.

    Parameters
    ----------
    level : {None, "touchpoint", "channel"}
        Fit at this level (default: the level of the journeys).
    """

    def _touch_weights(self, j):
        return 1.0 / j.touch_length, None


@register("position")
class PositionBased(_Heuristic):
    """Position-based ("U-shaped"): ``first`` to the first touch, ``last`` to the last, the rest
    evenly over the middle.

    L = 1: the touch gets 1. L = 2: ``first/(first+last)`` and ``last/(first+last)``.
    L >= 3: ``first``, ``last`` and ``(1 - first - last)/(L - 2)`` to each middle touch.

    Parameters
    ----------
    first, last : float
        Shares of the first and last touch, ``first + last <= 1`` and ``first + last > 0``.
    level : {None, "touchpoint", "channel"}
        Fit at this level (default: the level of the journeys).
    """

    def __init__(self, first=0.4, last=0.4, level=None):
        self.first = first
        self.last = last
        self.level = level

    def _check_params(self):
        super()._check_params()
        _checks.real("first", self.first, 0, 1)
        _checks.real("last", self.last, 0, 1)
        f, la = float(self.first), float(self.last)
        if not 0 < f + la <= 1:
            raise ParameterError(f"PositionBased needs 0 < first + last <= 1, got first="
                                 f"{_checks.shown(self.first)}, last={_checks.shown(self.last)}")

    def _touch_weights(self, j):
        self._check_params()
        f, la = float(self.first), float(self.last)
        lengths = j.lengths
        first, last = j.offsets[:-1], j.offsets[1:] - 1
        w = (1.0 - f - la) / np.maximum(j.touch_length - 2, 1)  # middle touches
        two = lengths == 2
        w[first] = np.where(two, f / (f + la), f)
        w[last] = np.where(two, la / (f + la), la)
        w[first[lengths == 1]] = 1.0
        return w, None


@register("time_decay")
class TimeDecay(_Heuristic):
    """Time decay: ``w_t`` proportional to ``2^(-(T - t_t) / half_life)``.

    ``T`` is the conversion time; it cancels in the normalisation, so journeys whose conversion
    time is unknown give the same weights. With ``by="position"`` the age of a touch is its number
    of steps before the last touch, ``L - t``, and ``half_life`` is in steps.

    Parameters
    ----------
    half_life : str, pandas.Timedelta, float or None
        Half-life: a duration with a unit such as ``"7D"`` or ``"12h"`` for datetime journeys
        (a bare number is an error: it has no unit); a number of steps for journeys whose times
        are steps (``time_unit="step"``) and for ``by="position"``. Default: ``"7D"`` on
        datetimes, 1 step on steps and by position.
    by : {"time", "position"}
        Decay by elapsed time (needs timestamps) or by steps.
    level : {None, "touchpoint", "channel"}
        Fit at this level (default: the level of the journeys).
    """

    def __init__(self, half_life=None, by="time", level=None):
        self.half_life = half_life
        self.by = by
        self.level = level

    def _half_life(self, time_kind):
        """The half-life in the units of the ages: steps by position or on step times,
        nanoseconds on datetimes. ``time_kind=None`` (not known yet) accepts either form.
        """
        h = self.half_life
        _checks.choice("by", self.by, ("time", "position"))
        known = time_kind is not None
        if not known:
            time_kind = "numeric" if h is None or is_bare_number(h) else "datetime"
        if self.by == "position" or time_kind == "numeric":
            why = ("by='position' counts steps" if self.by == "position"
                   else "the times are steps, time_unit='step'" if known
                   else "bare numbers count steps; on datetimes pass a duration such as '7D'")
            h = 1.0 if h is None else duration(h, "numeric", "half_life", whole=False, steps=why)
        else:
            h = duration("7D" if h is None else h, "datetime", "half_life")
        if not h > 0:
            raise ParameterError(f"half_life must be positive, got {_checks.shown(self.half_life)}")
        return float(h)

    def _check_params(self):
        super()._check_params()
        self._half_life(None)

    @property
    def requires_times(self) -> bool:
        """True with ``by="time"``: the weights need touch timestamps."""
        return self.by == "time"

    def _touch_weights(self, j):
        if self.by == "time" and j.times is None:
            raise InputError(
                "TimeDecay(by='time') needs touch timestamps, but these journeys have none "
                "(built from a path table, or aggregated). Use TimeDecay(by='position') or "
                "build the journeys with Journeys.from_events(...)")
        h = self._half_life(j.time_kind)
        tj = j.touch_journey
        if self.by == "position":
            age = (j.touch_length - 1 - j.touch_position).astype(np.float64)
        else:
            latest = np.maximum.reduceat(j.times, j.offsets[:-1])
            age = (latest[tj] - j.times).astype(np.float64)
        w = np.exp2(-age / h)  # the most recent touch has weight 1: no underflow to 0/0
        w /= journey_sums(j, w)[tj]
        return w, None
