"""Change detection over epochs: has a channel's share, or the conversion rate, moved?

The test (documented in docs/models.md, "Attribution over time"): each series is one
entity's share per epoch with its bootstrap standard error (or the conversion rate per epoch
with its binomial standard error). For every boundary tau between epochs, the
inverse-variance weighted means of the epochs before and after it give

    z_tau = (m_after - m_before) / sqrt(v_before + v_after),  v = 1 / sum(1 / se^2),

a two-sample z-test of a step change at tau (the epochs are independent samples: journeys
are assigned to one epoch each). The standard error of one epoch from B bootstrap replicates
is itself noisy (relative error about 1 / sqrt(2B)), and an estimate held at a bound (a
share of 0 under the noisy-OR link) has a bootstrap error near 0: one such epoch would carry
its segment. So each series uses one error, the root mean square over its epochs, scaled
by epoch size: se_t = sqrt(mean_s(se_s^2 n_s) / n_t) (n the epoch's journeys, when the
frame has them).

A change is reported at the boundary and series with the largest |z| when it exceeds the
Bonferroni threshold Phi^-1(1 - alpha / (2 m)), m the number of (series, boundary) tests, so
that a stationary world raises a false alarm with probability at most ``alpha``; the
segments on either side are then searched again (binary segmentation, Scott & Knott 1974;
Vostrikova 1981) with the same threshold, up to ``max_changes``. At a change, every series
whose own |z| there exceeds the threshold is reported as moved, with the size of the step
and whether the mean after lies outside the bootstrap interval of the epoch just before.
"""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd
from scipy import stats

from attribution.journeys.validation import InputError, ParameterError

RATE = "(conversion rate)"


def epoch_order(labels) -> list:
    """Epoch labels in time order, whatever the order of the rows: numbers by value, the
    labels of boundaries ("<b0" first, ">=bn" last) and periods ("2024-01", "2024Q3",
    "2024-01-01/2024-01-07") in natural order (runs of digits compared as numbers).
    """
    labels = list(labels)
    num = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    if len(labels) and num.notna().all():
        return [labels[i] for i in np.argsort(num.to_numpy(), kind="stable")]

    def key(x):
        x = str(x)
        group = 0 if x.startswith("<") else 2 if x.startswith(">=") else 1
        # signed numbers with exponents ("-20..-10", "1e-07"); a dash after a digit is a
        # separator ("2024-01-07")
        parts = re.split(r"((?<!\d)-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)", x.lstrip("<>="))
        return group, [(0, float(p), "") if i % 2 else (1, 0.0, p)
                       for i, p in enumerate(parts)]

    return sorted(labels, key=key)


def step_z(values: np.ndarray, se: np.ndarray) -> np.ndarray:
    """Z of a step at every boundary of the series (rows) in ``values``: (series, T - 1)."""
    w = 1.0 / np.square(se)
    cw, cwx = np.cumsum(w, axis=1), np.cumsum(w * values, axis=1)
    tw, twx = cw[:, -1:], cwx[:, -1:]
    before_w, after_w = cw[:, :-1], tw - cw[:, :-1]
    m1, m2 = cwx[:, :-1] / before_w, (twx - cwx[:, :-1]) / after_w
    return (m2 - m1) / np.sqrt(1.0 / before_w + 1.0 / after_w)


def detect_changes(series: pd.DataFrame, alpha: float = 0.05, max_changes: int = 3
                   ) -> pd.DataFrame:
    """Changes in a tidy epoch frame (``fit_by_epoch(...).series()``, or any frame with columns
    epoch, entity, share, se and optionally lower, upper and journeys).

    Returns
    -------
    pandas.DataFrame
        One row per (change, series that moved): ``boundary`` (the first epoch after the
        change), ``entity`` (or ``"(conversion rate)"``), ``before``, ``after`` (weighted
        means of the segments), ``change`` (after - before), ``z``, ``threshold`` and
        ``beyond_interval``. Empty (same columns) when nothing changed.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ParameterError(f"alpha must be a number in (0, 1), got {alpha!r}")
    if isinstance(max_changes, bool) or not isinstance(max_changes, numbers.Integral) \
            or max_changes < 1:
        raise ParameterError(f"max_changes must be a whole number >= 1, got {max_changes!r}")
    missing = [c for c in ("epoch", "entity", "share", "se") if c not in series]
    if missing:
        raise InputError(f"the epoch frame has no {missing[0]!r} column; pass "
                         "fit_by_epoch(...).series()")
    _check_rows(series)
    epochs = epoch_order(pd.unique(series["epoch"]))
    values = series.pivot(index="entity", columns="epoch", values="share")[epochs]
    se = series.pivot(index="entity", columns="epoch", values="se")[epochs]
    # an entity missing from an epoch is skipped; an error of 0 (a share held at a bound) is
    # pooled with the others below, so only a series with no error at all is left out
    keep = values.notna().all(axis=1) & se.notna().all(axis=1) & se.gt(0).any(axis=1)
    values, se = values[keep], se[keep]
    n = (series.groupby("epoch", sort=False)["journeys"].first()[epochs].to_numpy(np.float64)
         if "journeys" in series else np.ones(len(epochs)))
    pooled = np.sqrt(np.mean(np.square(se.to_numpy()) * n, axis=1, keepdims=True) / n)
    se = pd.DataFrame(pooled, index=se.index, columns=se.columns)
    lower = (series.pivot(index="entity", columns="epoch", values="lower")[epochs][keep]
             if "lower" in series else None)
    upper = (series.pivot(index="entity", columns="epoch", values="upper")[epochs][keep]
             if "upper" in series else None)
    t = len(epochs)
    cols = ["boundary", "entity", "before", "after", "change", "z", "threshold",
            "beyond_interval"]
    if t < 2 or not len(values):
        return pd.DataFrame(columns=cols)
    threshold = float(stats.norm.ppf(1 - alpha / (2 * len(values) * (t - 1))))
    rows = []
    segments = [(0, t)]
    while segments and len({r["boundary"] for r in rows}) < max_changes:
        a, b = segments.pop(0)
        if b - a < 2:
            continue
        z = step_z(values.to_numpy()[:, a:b], se.to_numpy()[:, a:b])
        s, tau = np.unravel_index(np.argmax(np.abs(z)), z.shape)
        if abs(z[s, tau]) <= threshold:
            continue
        cut = a + tau + 1
        for i in np.flatnonzero(np.abs(z[:, tau]) > threshold):
            rows.append(_moved(values, se, lower, upper, i, a, cut, b, z[i, tau], threshold,
                               epochs))
        segments += [(a, cut), (cut, b)]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["boundary", "z"], key=lambda c: c.abs() if c.name == "z" else c,
                           ascending=[True, False], kind="stable").reset_index(drop=True)


def _check_rows(series) -> None:
    """One row per (epoch, entity), and no negative standard error."""
    twice = series.duplicated(["epoch", "entity"])
    if twice.any():
        row = series[twice].iloc[0]
        raise InputError(f"the epoch frame has two rows for epoch {row['epoch']!r}, entity "
                         f"{row['entity']!r}; pass one row per epoch and entity")
    bad = pd.to_numeric(series["se"], errors="coerce") < 0
    if bad.any():
        row = series[bad].iloc[0]
        raise InputError(f"the epoch frame's 'se' is negative for epoch {row['epoch']!r}, "
                         f"entity {row['entity']!r}; a standard error is >= 0")


def _moved(values, se, lower, upper, i, a, cut, b, z, threshold, epochs) -> dict:
    w = 1.0 / np.square(se.to_numpy()[i])
    v = values.to_numpy()[i]
    before = float(np.sum(w[a:cut] * v[a:cut]) / np.sum(w[a:cut]))
    after = float(np.sum(w[cut:b] * v[cut:b]) / np.sum(w[cut:b]))
    beyond = np.nan
    if lower is not None and upper is not None:
        lo, hi = lower.to_numpy()[i, cut - 1], upper.to_numpy()[i, cut - 1]
        beyond = bool(after < lo or after > hi)
    return dict(boundary=epochs[cut], entity=values.index[i], before=before, after=after,
                change=after - before, z=float(z), threshold=threshold,
                beyond_interval=beyond)
