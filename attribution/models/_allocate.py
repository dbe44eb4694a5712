"""Per-touch weights: single-touch weights, sums within journeys, weights from credit per
(journey, entity) pair; :func:`attribution.models._base.allocate` turns them into credit."""

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
