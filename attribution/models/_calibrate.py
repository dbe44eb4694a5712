r"""Calibration of the binomial value model to randomised lift tests (docs/models.md,
"Calibration with experiments").

An experiment e reports L_e, the conversions that removing its entities (a channel's
touchpoints, or one touchpoint) costs over its journeys, with standard error s_e. The value
model predicts that number as the removal effect

    R_e(params) = sum_i w_ei [p(x_i) - p(x_i without e's entities)],

w_ei the journeys of row i in e's period. The calibrated fit treats each experiment as one
more, independent Gaussian observation L_e ~ N(R_e, s_e^2) of the same parameters and
maximises the joint penalised likelihood: it minimises

    C * (NLL(params) + sum_e z_e^2 / 2) + ||beta||^2 / 2,   z_e = (R_e - L_e) / s_e,

the fit's own objective (:mod:`._links`) plus the experiments' squared z-scores. This is the
likelihood form of the experiment priors of media-mix calibration (Jin et al. 2017, "Bayesian
methods for media mix modeling with carryover and shape effects", Google): an experiment with
a small
error pins R_e, one with a huge error changes nothing, and the other parameters move as the
likelihood of the journeys demands under that constraint. Solved by L-BFGS-B from the
uncalibrated optimum, within the link's bounds.

Observational data are many and, where a confounder is hidden, biased: their likelihood then
outweighs any experiment and the calibrated fit still rejects it (|z| of several). So the
journeys' NLL carries a weight w <= 1 (a power likelihood: Holmes & Walker 2017, "Assigning
a value to a power likelihood in a general Bayesian model", Biometrika; Grunwald & van Ommen
2017, "Inconsistency of Bayesian inference for misspecified linear models"): w = 1 when the
fit agrees with the experiments (sum z_e^2 <= the number of experiments, the chi-square's
mean), otherwise the largest w (down to 1e-4, found by Brent's method on log w) at which it
does.
An experiment consistent with the journeys, or with a huge error, changes (almost) nothing;
one that the journeys contradict is believed to within its error. The weight is the
``weight`` column of ``experiments_``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize

from attribution.experiments import covered, row_of
from attribution.journeys.validation import AttributionWarning, InputError, ParameterError
from attribution.models._links import MAX_HAZARD, _objective
from attribution.models._value_model import with_pairs

#: the smallest weight of the journeys' likelihood, and the precision of log10 of the weight
MIN_WEIGHT, LOG_TOL = 1e-4, 0.002


def columns_of(exps: pd.DataFrame, j) -> list[np.ndarray]:
    """The entity columns each experiment removes, at the level of journeys ``j``."""
    names = pd.Index(j.names.astype(str))
    channels = pd.Index(np.asarray(j.channel_names).astype(str))
    out = []
    for row, (name, level) in enumerate(zip(exps["entity"], exps["level"], strict=True)):
        if level == "touchpoint" and j.level == "channel" and name not in names:
            raise ParameterError(f"experiment row {row_of(exps, row)} holds out touchpoint "
                                 f"{name!r}, but the model is fitted at channel level; fit "
                                 "at touchpoint level")
        if level == j.level or j.level == "channel":  # (a path table's names are its own)
            cols = np.flatnonzero(names == name)
        else:  # a channel experiment on touchpoint journeys: all its touchpoints
            code = channels.get_indexer([name])[0]
            cols = np.flatnonzero(np.asarray(j.channel_of) == code) if code >= 0 else []
        if not len(cols):
            known = channels if level == "channel" and j.level != "channel" else names
            raise InputError(f"experiment row {row_of(exps, row)}: {level} {name!r} is not in "
                             f"the journeys ({level}s: {', '.join(known[:8])}"
                             f"{'...' * (len(known) > 8)}); check the name")
        out.append(np.asarray(cols, dtype=np.int64))
    return out


def row_weights(exps: pd.DataFrame, j, inv, n_rows, table_weights) -> np.ndarray:
    """(experiments, rows): the journeys of each fit-table row in each experiment's period.
    ``inv`` maps journeys to rows, or is None when the rows are (pattern, covariate cell)
    (then only experiments without a period: ``table_weights``).
    """
    out = np.empty((len(exps), n_rows))
    for e, (start, end) in enumerate(zip(exps["start"], exps["end"], strict=True)):
        if pd.isna(start) and pd.isna(end):
            out[e] = table_weights
            continue
        if inv is None:
            raise ParameterError("experiments with a period cannot be matched to journeys "
                                 "with regression covariates yet; drop start/end or the "
                                 "covariates")
        if j.end_times is None:
            raise InputError("experiments with a period need journeys with times "
                             "(Journeys.from_events); path tables have none: drop start/end")
        keep = covered(j, start, end)
        out[e] = np.bincount(inv[keep], (j.conversions + j.nulls)[keep], minlength=n_rows)
    for e in np.flatnonzero(out.sum(axis=1) <= 0):
        raise InputError(f"experiment row {row_of(exps, e)} ({exps['entity'].iloc[e]}, "
                         f"{exps['start'].iloc[e]} to {exps['end'].iloc[e]}) covers no journey "
                         "of the data: check its start and end (and their unit) or drop the row")
    too_big = np.flatnonzero(np.abs(exps["incremental"].to_numpy()) > out.sum(axis=1))
    for e in too_big:
        raise InputError(f"experiment row {row_of(exps, e)} ({exps['entity'].iloc[e]}): "
                         f"incremental {exps['incremental'].iloc[e]:g} exceeds the "
                         f"{out[e].sum():g} journeys it covers; incremental is conversions over "
                         "the journeys of the data")
    return out


def _to_linear(link, b, coef):
    if link == "noisy_or":
        return np.concatenate([[-np.log1p(-b)], -np.log1p(-np.minimum(coef, 1 - 1e-13))])
    return np.concatenate([[b], coef])


def _from_linear(link, params):
    if link == "noisy_or":
        return float(-np.expm1(-params[0])), -np.expm1(-params[1:])
    return float(params[0]), params[1:].copy()


def _inverse(link, eta):
    """p and dp/d(eta) of ``link`` on its linear scale."""
    if link == "logit":
        p = 1.0 / (1.0 + np.exp(-eta))
        return p, p * (1 - p)
    if link == "noisy_or":
        return -np.expm1(-eta), np.exp(-eta)
    inside = (eta > 0) & (eta < 1)
    return np.clip(eta, 0.0, 1.0), inside.astype(np.float64)


def _nll(params, link, d, conv, nulls):
    """Binomial NLL of the rows and its gradient (intercept first)."""
    if link != "logit":
        return _objective(params, link, d, conv, nulls, (1.0, 0.0))
    eta = params[0] + d @ params[1:]
    nll = conv @ np.logaddexp(0.0, -eta) + nulls @ np.logaddexp(0.0, eta)
    p = 1.0 / (1.0 + np.exp(-eta))
    g = -conv * (1 - p) + nulls * p
    return nll, np.concatenate([[g.sum()], d.T @ g])


def removal_effects(link, params, d, removed, weights):
    """R_e for every experiment, and dR_e/d(params) (experiments, params)."""
    p, dp = _inverse(link, params[0] + d @ params[1:])
    r, grad = np.empty(len(removed)), np.empty((len(removed), len(params)))
    for e, (de, w) in enumerate(zip(removed, weights, strict=True)):
        pe, dpe = _inverse(link, params[0] + de @ params[1:])
        r[e] = w @ (p - pe)
        grad[e] = np.concatenate([[w @ (dp - dpe)], d.T @ (w * dp) - de.T @ (w * dpe)])
    return r, grad


def calibrate(link, intercept, coef, x, pairs, cols, weights, exps, conv, nulls, C):
    """The calibrated ``(intercept, coef)`` (reported parametrisation, as ``fit_link``) and
    the experiment table: observational and calibrated R_e, their z-scores and the weight
    of the journeys' likelihood (module docstring).

    ``x`` the fit table's entity (and covariate) columns, ``pairs`` the pairwise terms,
    ``cols`` the columns each experiment removes, ``weights`` (experiments, rows).
    """
    d = with_pairs(x, pairs)
    removed = []
    for c in cols:
        xe = x.copy()
        xe[:, c] = 0.0
        removed.append(with_pairs(xe, pairs))
    target, se = exps["incremental"].to_numpy(), exps["se"].to_numpy()
    start = _to_linear(link, intercept, np.nan_to_num(coef))
    problem = (link, d, removed, weights, target, se, conv, nulls, C)

    def chi2(params):
        z = (removal_effects(link, params, d, removed, weights)[0] - target) / se
        return float(z @ z)

    params, w = _solve(problem, start, 1.0), 1.0
    if chi2(params) > len(se):  # the journeys reject the experiments: temper their weight
        fits = {}

        def excess(w):  # log (sum z^2 / experiments): <= 0 where they are not rejected
            fits[w] = _solve(problem, params, w)
            return np.log(chi2(fits[w]) / len(se) + 1e-300)

        w = _largest_weight(excess)
        params = fits[w] if w in fits else _solve(problem, params, w)
    before = removal_effects(link, start, d, removed, weights)[0]
    after = removal_effects(link, params, d, removed, weights)[0]
    _warn_if_rejected(exps, (after - target) / se, link)
    table = exps.assign(observational=before, z_observational=(before - target) / se,
                        calibrated=after, z_calibrated=(after - target) / se, weight=w)
    return (*_from_linear(link, params), table)


def _warn_if_rejected(exps, z, link) -> None:
    """Warn when the calibrated fit still rejects the experiments (sum z^2 above their
    number at the smallest weight): the value model cannot produce what they measured."""
    if float(z @ z) <= len(z):
        return
    worst = int(np.argmax(np.abs(z)))
    warnings.warn(f"the calibrated fit still disagrees with experiment row "
                  f"{row_of(exps, worst)} ({exps['entity'].iloc[worst]}, z {z[worst]:+.1f}) "
                  "with the journeys' "
                  f"weight at its minimum {MIN_WEIGHT:g}: the {link} value model cannot "
                  "produce that effect (a negative lift where effects are >= 0, or more than "
                  "its journeys can give); check the experiment", AttributionWarning,
                  stacklevel=4)


def _largest_weight(excess) -> float:
    """The largest w in [MIN_WEIGHT, 1] with ``excess(w) <= 0`` (``excess`` decreases with
    w, and is > 0 at 1): bracketed a decade at a time down from 1 (fits at small weights are
    the slow ones), then Brent's method on log10 w to ``LOG_TOL``; the bracket's lower end,
    where the experiments are not rejected.
    """
    seen = {}

    def f(x):  # each weight's fit once
        if x not in seen:
            seen[x] = excess(10.0 ** x)
        return seen[x]

    lo, hi = np.log10(MIN_WEIGHT), 0.0
    x = hi - 1.0
    while f(max(x, lo)) > 0:
        if x <= lo:  # rejected even at the smallest weight
            return MIN_WEIGHT
        hi, x = x, x - 1.0
    x = max(x, lo)
    root = brentq(f, x, hi, xtol=LOG_TOL, rtol=4 * np.finfo(float).eps)
    for y in (root, root - LOG_TOL, root - 2 * LOG_TOL, x):
        if y >= x and f(y) <= 0:
            return 10.0 ** y
    return 10.0 ** x


def _solve(problem, start, tempering):
    """argmin of C (tempering NLL + sum z^2 / 2) + ||beta||^2 / 2 from ``start``."""
    link, d, removed, weights, target, se, conv, nulls, C = problem
    n = float(np.sum(conv) + np.sum(nulls))
    k = d.shape[1]

    def objective(params):
        nll, g = _nll(params, link, d, conv, nulls)
        r, dr = removal_effects(link, params, d, removed, weights)
        z = (r - target) / se
        beta = params[1:]
        f = C * (tempering * nll + 0.5 * z @ z) + 0.5 * beta @ beta
        grad = C * (tempering * g + (z / se) @ dr) + np.concatenate([[0.0], beta])
        return f / (C * n), grad / (C * n)

    bounds = {"logit": [(None, None)] * (k + 1),
              "noisy_or": [(0.0, MAX_HAZARD)] * (k + 1),
              "identity": [(0.0, 1.0)] + [(-1.0, 1.0)] * k}[link]
    return minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                    options=dict(maxiter=5000, maxcor=30, ftol=1e-15, gtol=1e-10)).x
