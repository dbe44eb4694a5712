"""Maximum likelihood of the additive hazard model (:class:`~attribution.models.hazard.
AdditiveHazard`): the data in the model's time units, in a canonical order; the
log-likelihood with its analytic gradient and Hessian; the fit (a grid start, projected
Newton, L-BFGS-B as a fallback); standard errors from the observed information; the share of
each touch in the hazard at the conversion time.

Parameters are ``theta = (lambda0, beta[0..K-1], omega[0..K-1])``. Every sum runs over flat
arrays of touches (``np.bincount``, ``np.add.reduceat`` over journey offsets): no loop per
journey or per touch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg, sparse
from scipy.optimize import minimize

#: bounds of omega, in the model's time unit (half-lives from ~0.7 microunits to ~8 centuries
#: of units); the fit runs in log(omega)
OMEGA_BOUNDS = (1e-6, 1e6)
#: lambda0 and beta relative to the mean conversion rate per unit of exposure: lower bound of
#: lambda0, upper bound of both
LAMBDA0_FLOOR, RATE_CEILING = 1e-10, 1e8
#: omegas tried for the start (:func:`_start`)
GRID = 9
#: below this omega * age the gradient of (1 - exp(-omega age)) / omega uses its series
_SERIES = 1e-4


class HazardData(NamedTuple):
    """A fit's data, in the model's time unit, touches of converting journeys apart."""

    k: int  # entities
    # converting journeys (conversions > 0): hazard at the conversion time
    conv: np.ndarray  # conversions of each converting journey
    conv_offsets: np.ndarray  # CSR offsets of their touches
    conv_code: np.ndarray  # entity of each of their touches
    conv_age: np.ndarray  # conversion time - touch time
    # survival: every (journey, end) pair with a weight, one entry per touch
    surv_code: np.ndarray
    surv_age: np.ndarray  # end - touch time
    surv_weight: np.ndarray  # the journey's conversions (end = conversion) or nulls
    exposure: float  # sum of weight * (end - first touch): lambda0's cumulative hazard


def canonical_order(rank_code, offsets, age_c, age_n, conv, nulls, dur_c, dur_n):
    """An order of the journeys that depends only on their content (entities by name rank,
    ages, weights, durations), not on how they were given: equal keys mean equal terms of the
    likelihood, so the fit's sums are the same bits for any row order or partitioning."""
    def mix(x):  # splitmix64 of uint64 arrays (wraps modulo 2**64)
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))

    def bits(x):
        return np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)

    position = np.arange(len(rank_code)) - np.repeat(offsets[:-1], np.diff(offsets))
    per_touch = mix(mix(mix(mix(rank_code.astype(np.uint64)) ^ bits(age_c)) ^ bits(age_n))
                    ^ position.astype(np.uint64))
    key = np.add.reduceat(per_touch, offsets[:-1])  # every journey has a touch
    for x in (conv, nulls, dur_c, dur_n):
        key = mix(key ^ bits(x))
    return np.argsort(key, kind="stable")


def build(codes, offsets, age_c, age_n, conv, nulls, dur_c, dur_n, k) -> HazardData:
    """:class:`HazardData` from per-touch ages to each journey's conversion and censoring
    times (``age_c``, ``age_n``) and per-journey weights and durations since the first touch.
    """
    lengths = np.diff(offsets)
    tj = np.repeat(np.arange(len(lengths)), lengths)
    has_c, has_n = conv > 0, nulls > 0
    tc, tn = has_c[tj], has_n[tj]
    return HazardData(
        k=k, conv=conv[has_c], conv_offsets=np.r_[0, np.cumsum(lengths[has_c])],
        conv_code=codes[tc], conv_age=age_c[tc],
        surv_code=np.r_[codes[tc], codes[tn]], surv_age=np.r_[age_c[tc], age_n[tn]],
        surv_weight=np.r_[conv[tj[tc]], nulls[tj[tn]]],
        exposure=float(np.dot(conv, dur_c) + np.dot(nulls, dur_n)))


def _g(omega, age):
    """(1 - exp(-omega age)) / omega, the cumulative hazard of a unit kernel."""
    return -np.expm1(-omega * age) / omega


def _dg_dlog_omega(omega, age):
    """d/d(log omega) of :func:`_g`: age * (exp(-x) - (1 - exp(-x)) / x), x = omega age."""
    x = omega * age
    small = x < _SERIES
    xs = np.where(small, 1.0, x)
    h = np.where(small, x * (-0.5 + x / 3.0), np.exp(-xs) + np.expm1(-xs) / xs)
    return age * h


def _hazard_terms(theta, d: HazardData):
    k = d.k
    lam0, beta, omega = theta[0], theta[1:k + 1], theta[k + 1:]
    a = np.exp(-omega[d.conv_code] * d.conv_age)
    term = beta[d.conv_code] * a
    lam = lam0 + (np.add.reduceat(term, d.conv_offsets[:-1]) if len(term) else 0.0)
    return lam0, beta, omega, a, lam


def loglik(theta, d: HazardData) -> float:
    """The weighted log-likelihood: sum of c log lambda(T_conv) - c Lambda(T_conv) -
    n Lambda(T_end)."""
    lam0, beta, omega, _, lam = _hazard_terms(theta, d)
    surv = d.surv_weight * beta[d.surv_code] * _g(omega[d.surv_code], d.surv_age)
    with np.errstate(divide="ignore"):
        logs = np.log(lam)
    return float(d.conv @ logs - lam0 * d.exposure - surv.sum())


def gradient(theta, d: HazardData, log_omega: bool = True) -> np.ndarray:
    """Gradient of :func:`loglik` in (lambda0, beta, log omega) (or omega)."""
    k = d.k
    lam0, beta, omega, a, lam = _hazard_terms(theta, d)
    r = d.conv / np.maximum(lam, 1e-300)
    lengths = np.diff(d.conv_offsets)
    rt = np.repeat(r, lengths)
    om_s = omega[d.surv_code]
    g = _g(om_s, d.surv_age)
    d_beta = (np.bincount(d.conv_code, rt * a, minlength=k)
              - np.bincount(d.surv_code, d.surv_weight * g, minlength=k))
    d_logw = (np.bincount(d.conv_code, -rt * a * d.conv_age * omega[d.conv_code], minlength=k)
              - np.bincount(d.surv_code, d.surv_weight * _dg_dlog_omega(om_s, d.surv_age),
                            minlength=k)) * beta
    d_lam0 = r.sum() - d.exposure
    return np.r_[d_lam0, d_beta, d_logw if log_omega else d_logw / omega]


def hessian(theta, d: HazardData) -> np.ndarray:
    """Hessian of :func:`loglik` in (lambda0, beta, log omega): the log-hazard part is
    sum_i c_i (grad2 lambda_i / lambda_i - grad lambda_i grad lambda_i' / lambda_i^2), the
    outer products through a sparse (journeys x parameters) matrix; the survival part is
    separable by entity."""
    k = d.k
    p = 2 * k + 1
    lam0, beta, omega, a, lam = _hazard_terms(theta, d)
    n = len(d.conv)
    lengths = np.diff(d.conv_offsets)
    tj = np.repeat(np.arange(n), lengths)
    code = d.conv_code
    wa = omega[code] * d.conv_age * a  # -(d a / d log omega)
    rows = np.r_[np.arange(n), tj, tj]
    cols = np.r_[np.zeros(n, dtype=np.int64), 1 + code, 1 + k + code]
    vals = np.r_[np.ones(n), a, -beta[code] * wa]
    grad_lam = sparse.csr_matrix((vals, (rows, cols)), shape=(n, p))
    lam = np.maximum(lam, 1e-300)
    h = -(grad_lam.T @ sparse.diags(d.conv / lam**2) @ grad_lam).toarray()
    rt = np.repeat(d.conv / lam, lengths)
    # second derivatives of lambda: d2/(d beta d log omega), d2/(d log omega)^2
    h_bu = np.bincount(code, -rt * wa, minlength=k)
    h_uu = np.bincount(code, -rt * beta[code] * wa * (1 - omega[code] * d.conv_age), minlength=k)
    om, age, w = omega[d.surv_code], d.surv_age, d.surv_weight
    g_u = _dg_dlog_omega(om, age)
    g_uu = -age * om * age * np.exp(-om * age) - g_u
    h_bu -= np.bincount(d.surv_code, w * g_u, minlength=k)
    h_uu -= np.bincount(d.surv_code, w * beta[d.surv_code] * g_uu, minlength=k)
    i = np.arange(k)
    h[1 + i, 1 + k + i] += h_bu
    h[1 + k + i, 1 + i] += h_bu
    h[1 + k + i, 1 + k + i] += h_uu
    return h


class FitInfo(NamedTuple):
    theta: np.ndarray
    loglik: float
    converged: bool
    iterations: int
    message: str


def fit(d: HazardData, max_iter: int) -> FitInfo:
    """Maximise :func:`loglik` over z = (lambda0 / s, beta / s, log omega), s the mean
    conversion rate per unit of exposure, with lambda0 >= LAMBDA0_FLOOR s, beta >= 0 and omega
    in :data:`OMEGA_BOUNDS`: from the best shared omega of a grid (:func:`_start`), projected
    Newton steps with the analytic Hessian (:func:`_newton`); should they not converge,
    L-BFGS-B from there and Newton again."""
    k = d.k
    total = float(d.conv.sum())
    weight = total + float(d.surv_weight.sum())
    if total <= 0:
        theta = np.r_[0.0, np.zeros(k), np.ones(k)]
        return FitInfo(theta, loglik(theta, d), True, 0, "no conversions: every rate is 0")
    s = total / d.exposure if d.exposure > 0 else 1.0
    scale = np.r_[np.full(k + 1, s), np.ones(k)]

    def theta_of(z):
        return np.r_[z[:k + 1] * s, np.exp(z[k + 1:])]

    def f(z):
        th = theta_of(z)
        return -loglik(th, d) / weight, -gradient(th, d) * scale / weight

    def hess(z):
        return -hessian(theta_of(z), d) * np.outer(scale, scale) / weight

    # lambda0 >= 1e-10 s (in effect 0) keeps every log lambda finite; the upper bounds keep
    # the likelihood bounded where it is not (conversions at the instant of a first touch)
    lo = np.r_[LAMBDA0_FLOOR, np.zeros(k), np.full(k, np.log(OMEGA_BOUNDS[0]))]
    hi = np.r_[np.full(k + 1, RATE_CEILING), np.full(k, np.log(OMEGA_BOUNDS[1]))]
    z0 = _start(d, s, weight, lo, hi)
    # Newton first: L-BFGS-B alone strands the omega of weak entities on the plateau of large
    # omega (their kernel is 0 at every age, so is the gradient) and crawls elsewhere
    z, nit, ok, msg = _newton(f, hess, z0, lo, hi, int(max_iter))
    if not ok:  # a hard start: L-BFGS-B from there, then Newton again
        res = minimize(f, z, jac=True, method="L-BFGS-B", bounds=list(zip(lo, hi, strict=True)),
                       options=dict(maxiter=int(max_iter), ftol=1e-12, gtol=1e-9, maxcor=20))
        z, more, ok, msg = _newton(f, hess, res.x, lo, hi, int(max_iter))
        nit += int(res.nit) + more
    theta = theta_of(z)
    return FitInfo(theta, loglik(theta, d), ok, nit, msg)


def _start(d: HazardData, s: float, weight: float, lo, hi):
    """A start for Newton: one omega shared by every entity, the best of a log grid spanning
    the ages of the converting touches. At a fixed omega, lambda_i = s (x_0 + sum_e x_e
    A_ie) and the cumulative hazard s (x_0 E + sum_e x_e G_e) are linear in x = (lambda0,
    beta) / s, with A and G sums of the kernels over touches: each grid point is a small
    convex fit in x alone (a sparse journeys x entities matrix, no pass over the touches per
    iteration)."""
    k, n = d.k, len(d.conv)
    ages = d.conv_age[d.conv_age > 0]
    lo_age, hi_age = np.quantile(ages, [0.05, 0.95]) if len(ages) else (1.0, 1.0)
    grid = np.clip(np.geomspace(0.1 / hi_age, 10.0 / lo_age, GRID), *OMEGA_BOUNDS)
    rows = np.r_[np.arange(n), np.repeat(np.arange(n), np.diff(d.conv_offsets))]
    cols = np.r_[np.zeros(n, dtype=np.int64), 1 + d.conv_code]
    best = None
    for w in grid:
        kern = sparse.csr_matrix((np.r_[np.ones(n), np.exp(-w * d.conv_age)], (rows, cols)),
                                 shape=(n, k + 1))
        cum = s * np.r_[d.exposure, np.bincount(d.surv_code, d.surv_weight
                                                 * _g(w, d.surv_age), minlength=k)]

        def f(x, kern=kern, cum=cum):
            lam = np.maximum(kern @ x, 1e-300)
            return ((cum @ x - d.conv @ np.log(s * lam)) / weight,
                    (cum - kern.T @ (d.conv / lam)) / weight)

        def hess(x, kern=kern):
            lam = np.maximum(kern @ x, 1e-300)
            return (kern.T @ sparse.diags(d.conv / lam**2) @ kern).toarray() / weight

        x = _newton(f, hess, np.full(k + 1, 0.5), lo[:k + 1], hi[:k + 1], 100, tol=1e-9)[0]
        fx = f(x)[0]
        if best is None or fx < best[0]:
            best = (fx, np.r_[x, np.full(k, np.log(w))])
    return best[1]


def _newton(f, hess, z, lo, hi, max_iter, tol=1e-10):
    """Projected Newton on the box [lo, hi]: variables at a bound whose gradient pushes out
    stay there; the others take a Newton step (Levenberg-damped until the Hessian is positive
    definite), halved until the objective decreases enough. Stops when the projected gradient
    is below ``tol``; returns (z, iterations, converged, message)."""
    fz, g = f(z)
    for it in range(max_iter):
        held = ((z <= lo) & (g > 0)) | ((z >= hi) & (g < 0))
        pg = np.where(held, 0.0, g)
        if np.abs(pg).max() <= tol:
            return z, it, True, "projected gradient below tolerance"
        free = np.flatnonzero(~held)
        h = hess(z)[np.ix_(free, free)]
        # damped from 1e-12 of the largest curvature: a parameter with (almost) no curvature
        # (a touchpoint far from any conversion) would otherwise leave a factor whose
        # triangular solves underflow
        scale = max(np.abs(np.diag(h)).max(), 1e-300)
        damp = 1e-12 * scale
        while True:
            try:
                chol = np.linalg.cholesky(h + damp * np.eye(len(free)))
                break
            except np.linalg.LinAlgError:
                damp = max(2 * damp, 1e-10 * scale)
        step = np.zeros_like(z)
        step[free] = -linalg.cho_solve((chol, True), g[free])
        t = 1.0
        while t > 1e-12:
            zn = np.clip(z + t * step, lo, hi)
            fn, gn = f(zn)
            if fn <= fz + 1e-4 * g @ (zn - z):
                break
            t /= 2
        else:  # no decrease: at the optimum to rounding, or stuck
            return z, it, bool(np.abs(pg).max() <= 1e3 * tol), "no further decrease"
        z, fz, g = zn, fn, gn
    return z, max_iter, False, "iteration limit reached"


def standard_errors(theta, d: HazardData) -> np.ndarray:
    """Standard errors of (lambda0, beta, omega) from the observed information (the analytic
    :func:`hessian`; omega's by the delta method from log omega's); NaN for parameters at a
    bound (lambda0 or a beta of 0, and the omega of a beta of 0 or at its bounds)."""
    k = d.k
    s = float(d.conv.sum()) / d.exposure if d.exposure > 0 else 1.0
    free = theta > 0
    free[0] = theta[0] > LAMBDA0_FLOOR * s * 10
    lo, hi = OMEGA_BOUNDS
    free[k + 1:] &= (theta[1:k + 1] > 0) & (theta[k + 1:] > lo * 1.0001) & (
        theta[k + 1:] < hi / 1.0001)
    idx = np.flatnonzero(free)
    se = np.full(len(theta), np.nan)
    info = -hessian(theta, d)[np.ix_(idx, idx)]
    try:
        var = np.diag(np.linalg.inv(info))
    except np.linalg.LinAlgError:
        return se
    se[idx] = np.sqrt(np.where(var > 0, var, np.nan))
    se[k + 1:] *= theta[k + 1:]  # d omega = omega d log omega
    return se


def touch_shares(log_terms, log_base, offsets):
    """Each touch's share of its journey's hazard at the conversion time, and the baseline's
    share, from log terms (log beta - omega age; -inf for beta = 0) and log lambda0 per
    journey (-inf to leave the baseline out: total credit). Journeys whose hazard is 0 get
    no shares and are flagged ``bad``. Computed in log space: no underflow to 0 / 0.
    """
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    tj = np.repeat(np.arange(n), lengths)
    top = np.maximum.reduceat(log_terms, offsets[:-1]) if len(log_terms) else np.zeros(n)
    top = np.maximum(top, log_base)
    bad = ~np.isfinite(top)
    top = np.where(bad, 0.0, top)
    e = np.exp(log_terms - top[tj])
    b = np.exp(log_base - top)
    denom = np.add.reduceat(e, offsets[:-1]) + b if len(e) else b
    denom = np.where(bad, 1.0, denom)
    share = np.where(bad[tj], 0.0, e / denom[tj])
    return share, np.where(bad, 0.0, b / denom), bad
