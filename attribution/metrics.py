"""Concentration metrics of credit (the "20% of touchpoints drive 80% of impact" check).

Definitions: docs/models.md, "Concentration". Entities are those with any exposure; shares are
``s_k = max(credit_k, 0) / sum(max(credit, 0))`` and negative credit is reported beside.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attribution.journeys.validation import InputError, ParameterError


def shares(credit) -> np.ndarray:
    """Non-negative shares of ``credit`` (negative entries count as 0); all zero -> all zero."""
    c = np.maximum(np.asarray(credit, dtype=np.float64), 0.0)
    if not np.isfinite(c).all():
        raise InputError("credit holds NaN or infinite values; concentration is undefined")
    total = c.sum()
    return c / total if total > 0 else np.zeros_like(c)


def _check_p(p, name):
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
        raise ParameterError(f"{name} must be a number in (0, 1], got {p!r}")


def top_share(credit, p: float = 0.2) -> float:
    """Sum of the ``ceil(p K)`` largest shares among the K entities."""
    _check_p(p, "p")
    s = np.sort(shares(credit))[::-1]
    if len(s) == 0:
        return float("nan")
    k = math.ceil(p * len(s) - 1e-12)
    return float(s[:k].sum())


def k_share(credit, q: float = 0.8) -> float:
    """Smallest fraction of entities whose shares together reach ``q``."""
    _check_p(q, "q")
    s = np.sort(shares(credit))[::-1]
    if len(s) == 0 or s.sum() == 0:
        return float("nan")
    k = int(np.searchsorted(np.cumsum(s), q - 1e-12, side="left")) + 1
    return min(k, len(s)) / len(s)


def gini(credit) -> float:
    """Gini coefficient of the shares: 0 when equal, 1 when one entity holds all."""
    s = np.sort(shares(credit))
    k = len(s)
    if k < 2 or s.sum() == 0:
        return 0.0 if k else float("nan")
    i = np.arange(1, k + 1)
    return float(((2 * i - k - 1) * s).sum() / (k - 1))


def hhi(credit) -> float:
    """Herfindahl-Hirschman index: the sum of squared shares."""
    s = shares(credit)
    return float((s**2).sum()) if len(s) else float("nan")


def lorenz(credit) -> pd.DataFrame:
    """Lorenz curve points, entities sorted by share descending (the Pareto view).

    Columns ``entities`` (cumulative fraction of entities, from 0) and ``credit`` (cumulative share
    they hold).
    """
    s = np.sort(shares(credit))[::-1]
    k = len(s)
    return pd.DataFrame({"entities": np.arange(k + 1) / max(k, 1),
                         "credit": np.concatenate([[0.0], np.cumsum(s)])})


@dataclass
class Concentration:
    """Concentration of credit over the entities with any exposure."""

    top_share: float
    k_share: float
    gini: float
    hhi: float
    n_entities: int
    negative_credit: float
    p: float = 0.2
    q: float = 0.8
    lorenz: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def pareto(self) -> bool:
        """True when the top ``p`` of entities hold at least ``q`` of the credit (80/20 rule)."""
        return bool(self.top_share >= self.q)

    def to_dict(self) -> dict:
        """The scalar figures as a dict."""
        return dict(top_share=self.top_share, k_share=self.k_share, gini=self.gini, hhi=self.hhi,
                    n_entities=self.n_entities, negative_credit=self.negative_credit,
                    pareto=self.pareto)

    def __str__(self) -> str:
        verdict = "holds" if self.pareto else "does not hold"
        return (f"top {self.p:.0%} of {self.n_entities} entities hold {self.top_share:.1%} of "
                f"credit; {self.k_share:.0%} of entities hold {self.q:.0%}; Gini {self.gini:.3f}; "
                f"HHI {self.hhi:.3f}. The {self.p:.0%}/{self.q:.0%} rule {verdict}.")


def concentration(credit, p: float = 0.2, q: float = 0.8) -> Concentration:
    """All concentration figures of one credit vector (entities with exposure only)."""
    c = np.asarray(credit, dtype=np.float64)
    return Concentration(top_share=top_share(c, p), k_share=k_share(c, q), gini=gini(c),
                         hhi=hhi(c), n_entities=len(c), negative_credit=float(c[c < 0].sum()),
                         p=p, q=q, lorenz=lorenz(c))


# --------------------------------------------------------------------------- accuracy vs truth
def _aligned_shares(estimated, truth):
    """Shares of two credit vectors over the union of their entities (missing = 0)."""
    est = pd.Series(estimated, dtype=np.float64)
    tru = pd.Series(truth, dtype=np.float64)
    index = tru.index.union(est.index, sort=False)
    est, tru = est.reindex(index, fill_value=0.0), tru.reindex(index, fill_value=0.0)
    return pd.Series(shares(est.to_numpy()), index=index), pd.Series(shares(tru.to_numpy()),
                                                                     index=index)


def tv_distance(estimated, truth) -> float:
    """Total-variation distance of the credit shares: 0.5 sum |s_hat - s| (0 same, 1 disjoint)."""
    est, tru = _aligned_shares(estimated, truth)
    return float(0.5 * np.abs(est - tru).sum())


def spearman(estimated, truth) -> float:
    """Spearman rank correlation of estimated and true credit (NaN if either is constant)."""
    from scipy.stats import spearmanr

    est, tru = _aligned_shares(estimated, truth)
    if est.nunique() < 2 or tru.nunique() < 2:
        return float("nan")
    return float(spearmanr(est.to_numpy(), tru.to_numpy()).statistic)


def top_precision(estimated, truth, p: float = 0.2) -> float:
    """Share of the true top ``ceil(p K)`` entities that are also in the estimated top."""
    _check_p(p, "p")
    est, tru = _aligned_shares(estimated, truth)
    k = max(1, math.ceil(p * len(tru) - 1e-12))
    true_top = set(tru.sort_values(ascending=False, kind="stable").index[:k])
    est_top = set(est.sort_values(ascending=False, kind="stable").index[:k])
    return len(true_top & est_top) / k


def accuracy(estimated, truth, placebo=(), baseline=None, true_baseline=None,
             p: float = 0.2) -> dict:
    """Accuracy of estimated credit against the true credit (docs/models.md, "Ground truth").

    Parameters
    ----------
    estimated, truth : mapping or pandas.Series
        Credit per entity (the estimate without rows such as ``(baseline)``).
    placebo : iterable of entity names
        Entities with no causal effect: their estimated share is reported.
    baseline, true_baseline : float, optional
        Estimated and true share of conversions that no entity caused. Leakage is the part of
        the true baseline the model hands to entities: ``max(0, true - estimated)``.

    Returns
    -------
    dict
        ``tv_distance``, ``spearman``, ``top_precision``, ``top_share_error``
        (|S_hat_p - S_p|), ``placebo_share`` and ``baseline_leakage`` (NaN without a truth).
    """
    est, tru = _aligned_shares(estimated, truth)
    placebo = [e for e in placebo if e in est.index]
    leak = float("nan")
    if true_baseline is not None:
        leak = max(0.0, float(true_baseline) - float(baseline or 0.0))
    return dict(
        tv_distance=tv_distance(est, tru),
        spearman=spearman(est, tru),
        top_precision=top_precision(est, tru, p),
        top_share_error=abs(top_share(est.to_numpy(), p) - top_share(tru.to_numpy(), p)),
        placebo_share=float(est[placebo].sum()) if placebo else 0.0,
        baseline_leakage=leak,
    )
