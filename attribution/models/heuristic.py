"""Rule-based models: first touch, last touch, linear, position-based, time decay.

Each gives touch ``t`` of a converting journey ``j`` the weight ``w_t`` (summing to 1 within the
journey) and credit ``c_j w_t`` (value ``v_j w_t``); channel credit sums to the total conversions
and value (MODELS.md, Heuristics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys.validation import InputError, ParameterError
from attribution.models._base import AttributionModel, SingleTouch, journey_sums
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
        f, la = self.first, self.last
        if not (np.isscalar(f) and np.isscalar(la) and f >= 0 and la >= 0 and 0 < f + la <= 1):
            raise ParameterError(f"PositionBased needs first >= 0, last >= 0 and "
                                 f"0 < first + last <= 1, got first={f!r}, last={la!r}")

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
        Half-life: a duration such as ``"7D"`` for datetime journeys, a number in the time
        column's units for integer times, a number of steps for ``by="position"``. Default:
        ``"7D"`` by time, 1 step by position.
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
        h = self.half_life
        if self.by not in ("time", "position"):
            raise ParameterError(f"by must be 'time' or 'position', got {self.by!r}")
        if self.by == "position" or time_kind == "numeric":
            h = 1.0 if h is None else h
            if isinstance(h, str) or not np.isscalar(h) or not h > 0:
                raise ParameterError(f"half_life must be a positive number (of steps, or of the "
                                     f"integer time units), got {h!r}")
            return float(h)
        try:
            td = pd.Timedelta("7D" if h is None else h)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"half_life must be a duration such as '7D', got {h!r}") from exc
        if pd.isna(td) or td.value <= 0:
            raise ParameterError(f"half_life must be a positive duration, got {h!r}")
        return float(td.value)

    def _check_params(self):
        super()._check_params()
        self._half_life("datetime")

    @property
    def requires_times(self) -> bool:
        """True with ``by="time"``: the weights need touch timestamps."""
        return self.by == "time"

    def _touch_weights(self, j):
        h = self._half_life(j.time_kind)
        tj = j.touch_journey
        if self.by == "position":
            age = (j.touch_length - 1 - j.touch_position).astype(np.float64)
        else:
            if j.times is None:
                raise InputError(
                    "TimeDecay(by='time') needs touch timestamps, but these journeys have none "
                    "(built from a path table, or aggregated). Use TimeDecay(by='position') or "
                    "build the journeys with Journeys.from_events(...)")
            latest = np.maximum.reduceat(j.times, j.offsets[:-1])
            age = (latest[tj] - j.times).astype(np.float64)
        w = np.exp2(-age / h)  # the most recent touch has weight 1: no underflow to 0/0
        w /= journey_sums(j, w)[tj]
        return w, None
