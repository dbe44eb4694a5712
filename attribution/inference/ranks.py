"""Rank uncertainty from bootstrap replicates: is an entity really in the top, is a really above b?

From the B replicates of :func:`attribution.bootstrap` (``result_.bootstrap_``), over the
entities only (rows such as ``(baseline)`` are not entities and never ranked):

- ``P(top)``: the share of replicates in which the entity is among the ``ceil(p K)`` entities
  with the most credit (K entities, ``p = 0.2`` by default, the top 20% of
  :func:`attribution.metrics.top_share`). An entity is in the top of a replicate when fewer
  than ``ceil(p K)`` entities have strictly more credit than it, so ties at the boundary are
  all in.
- ``P(a > b)``: the share of replicates in which ``a`` has more credit than ``b``, ties
  counted one half, so ``P(a > b) + P(b > a) = 1``.

These are bootstrap frequencies, not posterior probabilities: they say how stable the order
is under resampling of journeys (Hall & Miller 2009, "Using the bootstrap to quantify the
authority of an empirical ranking"), and they are only as good as the replicates (a few
hundred give two decimals).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from attribution.journeys.validation import AttributionError, ParameterError

ON = ("conversions", "value")


def top_probability(draws: np.ndarray, p: float = 0.2) -> np.ndarray:
    """Share of replicates (rows of ``draws``, shape (B, K)) in which each entity (column) is in
    the top ``ceil(p K)`` (module docstring).
    """
    from scipy.stats import rankdata

    _check_p(p)
    b, k = draws.shape
    if b == 0:
        return np.full(k, np.nan)
    n_top = max(1, math.ceil(p * k - 1e-12))
    above = rankdata(-draws, method="min", axis=1) - 1  # entities with strictly more credit
    return (above < n_top).mean(axis=0)


def order_probability(draws: np.ndarray) -> np.ndarray:
    """Matrix ``P[a, b]`` = share of replicates with ``draws[:, a] > draws[:, b]``, ties one
    half (module docstring).
    """
    b = draws.shape[0]
    if b == 0:
        return np.full((draws.shape[1],) * 2, np.nan)
    out = np.empty((draws.shape[1],) * 2)
    for a in range(draws.shape[1]):  # one entity at a time: memory B x K, not B x K x K
        col = draws[:, [a]]
        out[a] = (col > draws).mean(axis=0) + 0.5 * (col == draws).mean(axis=0)
    np.fill_diagonal(out, np.nan)
    return out


def rank_probabilities(result, p: float = 0.2, on: str = "conversions") -> pd.DataFrame:
    """Per entity of ``result`` (with bootstrap replicates): its credit, its rank in the point
    estimate (1 = most credit) and ``p_top``, the probability of being in the top ``p``.

    Sorted by credit, most first.
    """
    names, point, draws = _entity_draws(result, on)
    order = np.argsort(-point, kind="stable")
    frame = pd.DataFrame({"entity": names, on: point,
                          "rank": np.empty(len(names), dtype=np.int64),
                          "p_top": top_probability(draws, p)})
    frame.loc[order, "rank"] = np.arange(1, len(names) + 1)
    frame.attrs.update(p=p, n_top=max(1, math.ceil(p * len(names) - 1e-12)),
                       n_boot=draws.shape[0])
    return frame.iloc[order].reset_index(drop=True)


def pairwise_order(result, entities=None, top: int | None = None,
                   on: str = "conversions") -> pd.DataFrame:
    """Square frame: row ``a``, column ``b`` -> ``P(a > b)`` over the replicates (NaN on the
    diagonal), for ``entities`` (names) or the ``top`` entities with the most credit (default
    all), in order of credit.
    """
    names, point, draws = _entity_draws(result, on)
    order = np.argsort(-point, kind="stable")
    if entities is not None:
        if isinstance(entities, str):
            raise ParameterError(f"entities must be a list of names, got the string "
                                 f"{entities!r}; pass [{entities!r}]")
        pos = pd.Index(names).get_indexer([str(e) for e in entities])
        if (pos < 0).any():
            bad = [str(e) for e, i in zip(entities, pos, strict=True) if i < 0]
            raise ParameterError(f"entities {bad} are not in the result; its entities are "
                                 f"{list(names[order][:10])}...")
        order = pos
    elif top is not None:
        if not (isinstance(top, (int, np.integer)) and top >= 2):
            raise ParameterError(f"top must be an integer >= 2, got {top!r}")
        order = order[:top]
    shown = names[order]
    return pd.DataFrame(order_probability(draws[:, order]), index=pd.Index(shown, name="a"),
                        columns=pd.Index(shown, name="b"))


def _entity_draws(result, on: str):
    """Entity names, point credit and replicate credit (B, K) of ``result`` (entities only)."""
    if on not in ON:
        raise ParameterError(f"on must be 'conversions' or 'value', got {on!r}")
    reps = getattr(result, "bootstrap_", None)
    if reps is None:
        raise AttributionError(
            "this result has no bootstrap replicates; run attribution.bootstrap(model, "
            "journeys, n_boot=200) first, then the rank probabilities")
    names = np.asarray(result.names, dtype=object).astype(str)
    col = pd.Index([str(n) for n in reps.names]).get_indexer(names)
    if (col < 0).any():
        raise AttributionError("the replicates do not match the result's entities; rerun "
                               "attribution.bootstrap(model, journeys)")
    return names, np.asarray(getattr(result, on), dtype=float), getattr(reps, on)[:, col]


def _check_p(p) -> None:
    if not (isinstance(p, (int, float, np.floating)) and 0 < p <= 1):
        raise ParameterError(f"p must be a share in (0, 1], got {p!r}")
