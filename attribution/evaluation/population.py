"""Simulated journeys in a :class:`~attribution.evaluation.world.World`: who is exposed to
which touchpoint types, and who converts.

Exposures are uint64 bit masks over types (bit k: type k), one per journey: the types a journey
met on its own (``base``) and the touches that other touches induced (``induced``, the upstream
tier). The world's outcome tier turns an exposure mask into a conversion probability. Sums of
per-type weights over a mask are byte-table look-ups (one per 8 types), so no
(journeys x types) matrix is ever built.
"""

from __future__ import annotations

import numpy as np

from attribution.evaluation.world import World
from attribution.shapley import bits_of


def all_types(k: int) -> np.uint64:
    """The mask with the ``k`` types on."""
    return np.uint64((1 << k) - 1)


def or_by_journey(journey: np.ndarray, types: np.ndarray, n: int) -> np.ndarray:
    """Per-journey OR of ``1 << type`` over touches.

    Parameters
    ----------
    journey : array of int, sorted
        Journey of each touch.
    types : array of int
        Type of each touch (< 64).
    n : int
        Number of journeys.

    Returns
    -------
    array of uint64, shape (n,)
        The exposure mask of each journey (0 for a journey without touches).
    """
    out = np.zeros(n, dtype=np.uint64)
    if len(journey):
        bit = np.left_shift(np.uint64(1), types.astype(np.uint64))
        starts = np.flatnonzero(np.r_[True, journey[1:] != journey[:-1]])
        out[journey[starts]] = np.bitwise_or.reduceat(bit, starts)
    return out


class Population:
    """Exposures of simulated journeys and their outcome probability in ``world``.

    Parameters
    ----------
    world : World
        Tier, lifts, upstream links, synergy pairs and baseline.
    base, induced : arrays of uint64, shape (n,)
        Exposure masks: the journey's own touches, and the touches induced by a cause.
    intent : array of float, shape (n,)
        Latent intent of each journey (the confounded tier raises the baseline with it).
    """

    def __init__(self, world: World, base, induced, intent):
        self.world, self.base, self.induced, self.intent = world, base, induced, intent
        theta = world.theta
        if world.tier == "logit":
            theta = 4 * theta
        elif world.tier == "noisy_or":
            theta = np.log1p(-theta)
        self._lift = _byte_tables(theta)

    def exposure(self, on, rows=slice(None)):
        """Effective exposure masks when only the types in ``on`` (mask, scalar or per row)
        are switched on: an induced touch needs its own type and its cause on.
        """
        on = np.asarray(on, dtype=np.uint64)
        x = self.base[rows] & on
        if not self.world.links:  # no induced touches in this tier
            return x
        allowed = np.zeros_like(on)
        for c, e in self.world.links:
            allowed = allowed | (((on >> np.uint64(c)) & np.uint64(1)) << np.uint64(e))
        return x | (self.induced[rows] & on & allowed)

    def prob(self, x, rows=slice(None)):
        """Conversion probability of the journeys ``rows`` with exposure masks ``x``."""
        s = _weighted_sum(x, self._lift)
        tier, b = self.world.tier, self.world.baseline
        if tier in ("additive", "upstream"):
            return np.clip(b + s, 0, 1)
        if tier == "noisy_or":
            return 1 - (1 - b) * np.exp(s)
        if tier == "logit":
            z = _logit(b) + s
            for i, k in self.world.pairs:
                both = (x >> np.uint64(i)) & (x >> np.uint64(k)) & np.uint64(1)
                z = z + self.world.synergy * both
            return 1 / (1 + np.exp(-z))
        b = np.clip(b * np.exp(0.8 * self.intent[rows]), 0, 0.5)  # confounded
        return np.clip(b + s, 0, 1)


def _logit(p):
    return np.log(p / (1 - p))


def _byte_tables(w):
    """For each byte of a mask, the 256 sums of the weights of its set bits."""
    w = np.asarray(w, dtype=np.float64)
    w = np.concatenate([w, np.zeros(-len(w) % 8)]).reshape(-1, 8)
    bits = bits_of(np.arange(256, dtype=np.uint64), 8).astype(np.float64)
    return bits @ w.T  # (256, n_bytes)


def _weighted_sum(masks, tables):
    """sum_k w_k [bit k of mask] through the byte tables of :func:`_byte_tables`."""
    masks = np.asarray(masks, dtype=np.uint64)
    out = np.zeros(masks.shape)
    for j in range(tables.shape[1]):
        out += tables[((masks >> np.uint64(8 * j)) & np.uint64(255)).astype(np.intp), j]
    return out
