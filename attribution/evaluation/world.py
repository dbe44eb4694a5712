"""The simulated world: who is exposed to which touchpoint types, and who converts.

Exposures are uint64 bit masks over types (bit k: type k), one per journey: the types a journey
met on its own (``base``) and the touches that other touches induced (``induced``, the upstream
tier). The outcome tier turns an exposure mask into a conversion probability. Sums of
per-type weights over a mask are byte-table look-ups (one per 8 types), so no
(journeys x types) matrix is ever built.
"""

from __future__ import annotations

import numpy as np

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


class World:
    """Exposures of simulated journeys and the tier's outcome probability.

    Parameters
    ----------
    tier : str
        The outcome tier (see :mod:`attribution.evaluation.simulate`).
    theta : array of float, shape (k,)
        Causal lift of each type.
    base, induced : arrays of uint64, shape (n,)
        Exposure masks: the journey's own touches, and the touches induced by a cause.
    links : list of (int, int)
        (cause, effect) type pairs: an induced effect touch needs its cause on.
    intent : array of float, shape (n,)
        Latent intent of each journey (the confounded tier raises the baseline with it).
    baseline : float
        Conversion probability with no touch.
    synergy : float
        Logit tier: log-odds bonus of each pair in ``pairs`` seen together.
    pairs : list of (int, int)
        The synergy pairs of types.
    """

    def __init__(self, tier, theta, base, induced, links, intent, baseline, synergy, pairs):
        self.tier, self.theta, self.base, self.induced = tier, theta, base, induced
        self.links, self.intent, self.b, self.synergy, self.pairs = (links, intent, baseline,
                                                                     synergy, pairs)
        self._lift = _byte_tables(4 * theta if tier == "logit" else theta)
        if tier == "noisy_or":
            self._lift = _byte_tables(np.log1p(-theta))

    def exposure(self, on, rows=slice(None)):
        """Effective exposure masks when only the types in ``on`` (mask, scalar or per row)
        are switched on: an induced touch needs its own type and its cause on.
        """
        on = np.asarray(on, dtype=np.uint64)
        x = self.base[rows] & on
        if not self.links:  # no induced touches in this tier
            return x
        allowed = np.zeros_like(on)
        for c, e in self.links:
            allowed = allowed | (((on >> np.uint64(c)) & np.uint64(1)) << np.uint64(e))
        return x | (self.induced[rows] & on & allowed)

    def prob(self, x, rows=slice(None)):
        """Conversion probability of the journeys ``rows`` with exposure masks ``x``."""
        s = _weighted_sum(x, self._lift)
        if self.tier in ("additive", "upstream"):
            return np.clip(self.b + s, 0, 1)
        if self.tier == "noisy_or":
            return 1 - (1 - self.b) * np.exp(s)
        if self.tier == "logit":
            z = _logit(self.b) + s
            for i, k in self.pairs:
                both = (x >> np.uint64(i)) & (x >> np.uint64(k)) & np.uint64(1)
                z = z + self.synergy * both
            return 1 / (1 + np.exp(-z))
        b = np.clip(self.b * np.exp(0.8 * self.intent[rows]), 0, 0.5)  # confounded
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
