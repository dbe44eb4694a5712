"""The one credit allocator (:func:`allocate`: per-touch weights -> per-touch and per-entity
credit) and the weights it takes: single-touch weights, sums within journeys, weights from
credit per (journey, entity) pair.
"""

from __future__ import annotations

import numpy as np

from attribution.journeys import Journeys


def journey_sums(journeys: Journeys, per_touch: np.ndarray) -> np.ndarray:
    """Sum a per-touch array within each journey."""
    return np.add.reduceat(per_touch, journeys.offsets[:-1]) if journeys.n_touches else per_touch


class SingleTouch:
    """Touch weights where each journey's whole credit goes to one touch: ``index[j]`` is the
    position in ``codes`` of journey j's credited touch (first touch, last touch)."""

    def __init__(self, index: np.ndarray):
        self.index = index

    def dense(self, n_touches: int) -> np.ndarray:
        w = np.zeros(n_touches)
        w[self.index] = 1.0
        return w


def pair_weights(journeys: Journeys, pair_credit: np.ndarray, target: np.ndarray):
    """Per-touch fractions from credit per (journey, entity) pair (ordered as
    ``journeys.distinct()``): an entity's credit in a journey is split evenly over its touches
    there, and divided by the journey's ``target`` (conversions or value) for :func:`allocate`.
    """
    _, _, count = journeys.distinct(return_counts=True)
    pair = journeys.touch_pair()
    per_touch = pair_credit[pair] / count[pair]
    tgt = target[journeys.touch_journey]
    return np.divide(per_touch, tgt, out=np.zeros_like(per_touch), where=tgt > 0)


def allocate(journeys: Journeys, weights, value_weights=None, per_touch: bool = True):
    """The one credit allocator: per-touch weights -> per-touch and per-entity credit.

    ``weights`` are fractions of each journey's conversions (and ``value_weights`` of its value;
    the same fractions when omitted), summing to 1 within every converting journey, or a
    :class:`SingleTouch`.  Returns ``(touch_conversions, touch_value, entity_conversions,
    entity_value)``; the per-touch arrays are ``None`` unless ``per_touch``.
    """
    k = len(journeys.names)
    if isinstance(weights, SingleTouch) and value_weights is None:
        code = journeys.codes[weights.index]
        conv = np.bincount(code, journeys.conversions, minlength=k)
        val = np.bincount(code, journeys.value, minlength=k)
        if not per_touch:
            return None, None, conv, val
        w = weights.dense(journeys.n_touches)
        c_t, v_t = journeys.touch_weights()
        return c_t * w, v_t * w, conv, val
    if isinstance(weights, SingleTouch):
        weights = weights.dense(journeys.n_touches)
    if isinstance(value_weights, SingleTouch):
        value_weights = value_weights.dense(journeys.n_touches)
    c_t, v_t = journeys.touch_weights()
    tc = c_t * weights
    tv = v_t * (weights if value_weights is None else value_weights)
    return (tc, tv, np.bincount(journeys.codes, tc, minlength=k),
            np.bincount(journeys.codes, tv, minlength=k))
