"""Confounding adjustment with journey covariates, for the value models of :class:`Logistic`
and :class:`Shapley` (``value="model"``).

Journeys read with ``covariates=[...]`` carry per-journey categories z (intent bins, segment,
device; :mod:`attribution.journeys.covariates`). A covariate is never a player: it gets no
credit and never appears among the entities. ``adjust`` says how the value model uses it:

- ``"regression"`` (the default when the journeys have covariates): the value model is fitted
  on the players' features x and one-hot covariate columns (one column per category but the
  reference, drop-first; the reference is the category with the lowest conversion rate, so
  that the bounded links, whose effects are >= 0 for noisy-OR, can express every other one as
  a rise). The table of unique (feature pattern, covariate cell) rows is fitted with
  conversions and nulls as weights, as without covariates. The game is standardised over the
  observed covariate distribution (the g-formula, Robins 1986):

      v(S) = sum_z w_z p_hat(x_S, z) / sum_z w_z,

  w_z the journeys (conversions + nulls) of covariate cell z at fit. Every journey plays this
  one game, so a journey's credit depends on its exposure set only; ``transform`` uses the
  cells and weights of the fit (``covariate_design_``), never those of the data scored.
- ``"ipw"``: inverse probability weighting (a marginal structural model, Robins, Hernán &
  Brumback, Epidemiology 2000): each (pattern, cell) row is weighted by the stabilised weight
  prod_k P(e_k) / P(e_k | z), e_k the exposure indicator of player k in the pattern, P(e_k | z)
  from a per-player logistic regression of e_k on the one-hot covariates (exposures taken
  as independent given z), P(e_k) the exposure rate over all journeys. Weights are truncated
  at their 1st and 99th weighted percentiles (Cole & Hernán, AJE 2008). The value model is
  then fitted on x alone with the weighted conversions and nulls: v(S) = p_hat(x_S).
- ``None``: ``"regression"`` when the journeys have covariates (a model handed covariates
  never ignores them silently), no adjustment otherwise. To fit without them, drop them:
  ``journeys.replace(covariates=None)``. ``"regression"`` or ``"ipw"`` on journeys without
  covariates is an error.

Adjustment removes the confounding by the covariates observed, as far as their bins resolve
it; a confounder not observed (the hidden-intent variant of the harness) cannot be adjusted
for, and every observational model is biased there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys.validation import ParameterError

ADJUST = (None, "regression", "ipw")
#: the column of ``covariate_design_`` holding each cell's weight
WEIGHT = "(weight)"
#: weighted percentiles the IPW weights are truncated at
TRUNCATE = (0.01, 0.99)


def check_adjust(adjust) -> None:
    """Refuse an unknown ``adjust``."""
    if adjust not in ADJUST:
        raise ParameterError(f"adjust must be None, 'regression' or 'ipw', got {adjust!r}")


def resolved(adjust, j, use=True) -> str | None:
    """The adjustment used on journeys ``j`` (module docstring); None when not ``use``."""
    check_adjust(adjust)
    if not use:
        return None
    if not j.covariate_columns:
        if adjust is not None:
            raise ParameterError(f"adjust={adjust!r} needs journeys with covariates: read them "
                                 "with covariates=['<column>', ...]")
        return None
    return adjust or "regression"


def _cells(j, conv, nulls):
    """The covariate cells (unique code rows) of the journeys: each journey's cell, the
    one-hot design of each cell (reference categories dropped) and its column names.
    """
    codes = np.stack([c[1].astype(np.int64) for c in j.covariate_columns], axis=1)
    uniq, cell = np.unique(codes, axis=0, return_inverse=True)
    cell = cell.ravel()
    n = conv + nulls
    blocks, names = [], []
    for col, (name, codes_k, cats) in enumerate(j.covariate_columns):
        seen = np.bincount(codes_k, n, minlength=len(cats))
        conv_k = np.bincount(codes_k, conv, minlength=len(cats))
        present = np.flatnonzero(seen > 0)
        if len(present) < 2:
            continue
        rate = conv_k[present] / seen[present]
        ref = present[int(np.argmin(rate))]  # the first of the lowest rates
        for c in present[present != ref]:
            blocks.append((uniq[:, col] == c).astype(np.float64))
            names.append(f"{name}={cats[c]}")
    design = np.stack(blocks, axis=1) if blocks else np.zeros((len(uniq), 0))
    return cell, design, names


def fit_table(j, x, inv, adjust, use=True):
    """The table the value model is fitted on, for feature patterns ``x`` (one row per
    pattern, ``inv`` the pattern of each journey).

    Returns ``(x_fit, conv, nulls, covariate_names, design, info)``: without adjustment
    ``x`` with the pattern sums; with ``"regression"`` the rows of unique (pattern, cell)
    with the covariate columns appended (``covariate_names``) and ``design`` the DataFrame of
    the cells (their covariate columns and ``(weight)``), the ``covariate_design_`` of the
    model; with ``"ipw"`` ``x`` with weighted sums. ``info``: diagnostics. ``use=False``
    (games that take no covariates): no adjustment.
    """
    mode = resolved(adjust, j, use)
    n_pat = len(x)
    if mode is None:
        return (x, np.bincount(inv, j.conversions, minlength=n_pat),
                np.bincount(inv, j.nulls, minlength=n_pat), [], None, {})
    cell, zcell, names = _cells(j, j.conversions, j.nulls)
    key = inv.astype(np.int64) * len(zcell) + cell
    rows, r_of = np.unique(key, return_inverse=True)
    r_of = r_of.ravel()
    pat, cel = np.divmod(rows, len(zcell))
    conv = np.bincount(r_of, j.conversions, minlength=len(rows))
    nulls = np.bincount(r_of, j.nulls, minlength=len(rows))
    cell_w = np.bincount(cell, j.conversions + j.nulls, minlength=len(zcell))
    info = {"adjust": mode, "covariate cells": len(zcell)}
    if mode == "regression":
        design = pd.DataFrame(zcell, columns=names)
        design[WEIGHT] = cell_w
        return np.hstack([x[pat], zcell[cel]]), conv, nulls, names, design, info
    w = _ipw_weights(x[pat] > 0, zcell[cel], conv + nulls)
    info.update({"ipw weight min": round(float(w.min()), 4),
                 "ipw weight max": round(float(w.max()), 4)})
    return (x, np.bincount(pat, conv * w, minlength=n_pat),
            np.bincount(pat, nulls * w, minlength=n_pat), [], None, info)


def _ipw_weights(exposed: np.ndarray, z: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Stabilised, truncated weights of rows with exposure indicators ``exposed`` (rows x
    players), covariate design ``z`` and ``n`` journeys each (module docstring).
    """
    from sklearn.linear_model import LogisticRegression

    log_w = np.zeros(len(n))
    total = max(float(n.sum()), 1e-300)
    for k in range(exposed.shape[1]):
        e = exposed[:, k]
        marginal = float(n[e].sum()) / total
        if marginal in (0.0, 1.0) or z.shape[1] == 0:
            continue  # never or always exposed, or nothing to condition on: weight 1
        y = np.concatenate([np.ones(len(n)), np.zeros(len(n))])
        sw = np.concatenate([n * e, n * ~e])
        keep = sw > 0
        fit = LogisticRegression(C=1e4, max_iter=1000).fit(np.vstack([z, z])[keep], y[keep],
                                                           sample_weight=sw[keep])
        p = np.clip(fit.predict_proba(z)[:, 1], 1e-6, 1 - 1e-6)
        log_w += np.where(e, np.log(marginal) - np.log(p),
                          np.log1p(-marginal) - np.log1p(-p))
    w = np.exp(log_w)
    lo, hi = _weighted_quantiles(w, n, TRUNCATE)
    return np.clip(w, lo, hi)


def _weighted_quantiles(x, w, qs):
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    at = np.searchsorted(cw, np.asarray(qs) * cw[-1], side="left")
    return x[order][np.minimum(at, len(x) - 1)]


def standardised(predict, x: np.ndarray, design: pd.DataFrame | None) -> np.ndarray:
    """v for rows of player features ``x``: ``predict`` of the full rows (x, z) averaged
    over the covariate cells of ``design`` with their weights; ``predict(x)`` without.
    """
    if design is None or not len(x):
        return predict(x)
    z = design.drop(columns=WEIGHT).to_numpy(np.float64)
    w = design[WEIGHT].to_numpy(np.float64)
    m, c = len(x), len(z)
    full = np.hstack([np.repeat(x, c, axis=0), np.tile(z, (m, 1))])
    # a sum per row, not a matrix product: a row's bits do not depend on the other rows
    return (predict(full).reshape(m, c) * (w / w.sum())).sum(axis=1)


def split(series: pd.Series, k: int):
    """A fitted vector over players then covariate columns, as (players, covariates); the
    second None without covariate columns.
    """
    return series.iloc[:k], (series.iloc[k:] if len(series) > k else None)
