r"""The value model of :class:`Logistic` and :class:`Shapley`: a binomial regression of
conversion on journey features with a chosen link, fitted on the table of unique feature
patterns (conversions and nulls as weights; identical to a per-journey fit, far cheaper).

Links (MODELS.md, Logistic), with x the features of a pattern and k its entities:

- ``"logit"`` (Shao & Li 2011): log(p / (1 - p)) = b + sum_k beta_k x_k. Fitted by
  scikit-learn's ``LogisticRegression`` (Newton-Cholesky, tol 1e-8), exactly as before.
- ``"noisy_or"`` (independent causes; Pearl 1988, ch. 4): p = 1 - (1 - b) prod_k
  (1 - theta_k)^{x_k}, b, theta_k in [0, 1). Equivalently log(1 - p) = -(u_0 + sum_k u_k x_k)
  with u = -log(1 - theta) >= 0: the GLM Binomial with the log-complement link.
- ``"identity"`` (additive effects): p = b + sum_k theta_k x_k, b in [0, 1], theta_k in
  [-1, 1], predictions clipped to [0, 1] (in the likelihood too: a predictor past 0 or 1
  is worth what the bound is).

``C`` is the inverse L2 strength for every link, as scikit-learn's: the fit minimises
C * (binomial negative log-likelihood) + ||beta||^2 / 2, with beta the entity coefficients
on the scale where the model is linear (log-odds for logit, u = -log(1 - theta) for
noisy-OR, theta for identity); the intercept is not penalised. Noisy-OR and identity are
fitted within the bounds above by damped projected Newton steps (analytic gradient and
Hessian), from the baseline-only start; where these stall before the projected gradient
falls below GTOL, by L-BFGS-B and Newton steps again; in the likelihood, log p
below 1e-9 is continued by its tangent (a convex, differentiable floor: a step that leaves
[0, 1] is pushed back, never rewarded).

Link selection and the scikit-learn classifier: :mod:`._value_model`.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

LINKS = ("logit", "noisy_or", "identity")
CHOICES = (*LINKS, "auto")
#: floor of p (and 1 - p) in the likelihood, continued below by the tangent of log
FLOOR = 1e-9
#: log p is capped smoothly over [1 - CAP, 1 + CAP] (:func:`_xlog`)
CAP = 1e-6
#: largest hazard u = -log(1 - theta) of noisy-OR (theta up to 1 - 1e-13)
MAX_HAZARD = 30.0
#: projected gradient of the scaled objective (order 1) below which Newton has converged
GTOL = 1e-8


def linear_predictor(x, coef):
    """Row sums of ``x * coef``: each row's bits do not depend on other rows or BLAS."""
    return (x * coef).sum(axis=1) if x.shape[1] else np.zeros(len(x))


def probability(link, intercept, coef, x):
    """p(conversion | x) of ``link`` with reported parameters (``coef``: log-odds or theta)."""
    coef = np.nan_to_num(np.asarray(coef, dtype=np.float64))
    if link == "logit":
        return 1.0 / (1.0 + np.exp(-(intercept + linear_predictor(x, coef))))
    if link == "noisy_or":
        hazard = -np.log1p(-np.minimum(coef, 1.0 - 1e-16))
        # features are >= 0 here; a negative one would push p below 0: clipped
        return np.maximum(-np.expm1(-(-np.log1p(-intercept) + linear_predictor(x, hazard))),
                          0.0)
    return np.clip(intercept + linear_predictor(x, coef), 0.0, 1.0)


def one_class(conv, nulls) -> bool:
    """True when the patterns carry only conversions or only nulls: nothing to fit."""
    return not (np.sum(conv) > 0 and np.sum(nulls) > 0)


def _fit_logit(x, conv, nulls, C):
    xx = np.vstack([x, x])
    y = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    w = np.concatenate([conv, nulls])
    keep = w > 0
    # few features, many rows: Newton steps with a Cholesky solve converge in a handful of
    # iterations to machine-level precision
    lr = LogisticRegression(C=C, solver="newton-cholesky", max_iter=100, tol=1e-8)
    with warnings.catch_warnings():
        # at machine precision the line search cannot improve and falls back to lbfgs
        warnings.filterwarnings("ignore", message="Line search of Newton solver")
        lr.fit(xx[keep], y[keep], sample_weight=w[keep])
    return float(lr.intercept_[0]), lr.coef_[0].copy()


def _xlog(p):
    """A concave, twice differentiable log min(p, 1): log p, continued below FLOOR by its
    tangent, and above ``1 - CAP`` by a quadratic whose slope falls to 0 at ``1 + CAP``, flat
    beyond (within CAP of log p). The reported model clips p to [0, 1], so a predictor past a
    bound earns nothing: log(1 - eta) > 0 at eta < 0 once rewarded null-only patterns
    predicted below 0, biasing the identity fit. Value, first and second derivative.
    """
    if p.size and FLOOR < p.min() and p.max() < 1.0 - CAP:  # the usual case, the same bits
        return np.log(p), 1.0 / p, -1.0 / p ** 2
    safe = np.clip(p, FLOOR, 1.0 - CAP)
    top = 1.0 / (1.0 - CAP)  # the slope where the cap starts
    d = np.clip(p - (1.0 - CAP), 0.0, 2.0 * CAP)
    value = np.log(safe) + np.minimum(p - FLOOR, 0.0) / FLOOR + top * d * (1 - d / (4 * CAP))
    slope = np.where(d > 0, top * (1 - d / (2 * CAP)), 1.0 / safe)
    bend = np.where(d > 0, np.where(d < 2 * CAP, -top / (2 * CAP), 0.0),
                    np.where(p > FLOOR, -1.0 / safe ** 2, 0.0))
    return value, slope, bend


def _objective(params, link, x, conv, nulls, scale):
    """C * NLL + ||beta||^2 / 2, divided by C * (journeys), and its gradient.

    ``params`` = (intercept, beta) on the linear scale: (u_0, u) for noisy-OR, (b, theta)
    for identity.
    """
    eta = params[0] + x @ params[1:]
    if link == "noisy_or":  # log(1 - p) = -eta exactly
        lp, dlp, _ = _xlog(-np.expm1(-eta))
        nll = -(conv @ lp) + nulls @ eta
        g = -conv * dlp * np.exp(-eta) + nulls
    else:
        lp, dlp, _ = _xlog(eta)
        lq, dlq, _ = _xlog(1.0 - eta)
        nll = -(conv @ lp) - nulls @ lq
        g = -conv * dlp + nulls * dlq
    beta = params[1:]
    grad = np.concatenate([[g.sum()], x.T @ g + beta * scale[1]]) / scale[0]
    return (nll + 0.5 * scale[1] * (beta @ beta)) / scale[0], grad


def _curvature(link, eta, conv, nulls):
    """Second derivative of the NLL in eta (chain rule through :func:`_xlog`)."""
    if link == "noisy_or":  # p = 1 - exp(-eta): p' = exp(-eta) = -p''
        p = -np.expm1(-eta)
        _, slope, bend = _xlog(p)
        return conv * (-bend * np.exp(-2 * eta) + slope * np.exp(-eta))
    return -conv * _xlog(eta)[2] - nulls * _xlog(1.0 - eta)[2]


def _polish(params, link, x, conv, nulls, scale, lo, hi, steps=50):
    """Damped projected Newton steps from the L-BFGS-B point (parameters at a bound whose
    gradient points out stay there; each step halved until it lowers the objective, or at
    the objective's rounding level its gradient): the optimum to machine precision, whatever
    the order of the features.
    """
    xt = np.column_stack([np.ones(len(x)), x])
    f, g = _objective(params, link, x, conv, nulls, scale)
    for _ in range(steps):
        h = (xt.T * _curvature(link, xt @ params, conv, nulls)) @ xt
        h[1:, 1:] += scale[1] * np.eye(len(params) - 1)
        free = ~(((params <= lo) & (g > 0)) | ((params >= hi) & (g < 0)))
        if not free.any():  # every parameter held at its bound: the constrained optimum
            break
        try:
            step = np.linalg.solve(h[np.ix_(free, free)] / scale[0], g[free])
        except np.linalg.LinAlgError:
            break
        for t in 0.5 ** np.arange(40):
            new = params.copy()
            new[free] -= t * step
            new = np.clip(new, lo, hi)
            f_new, g_new = _objective(new, link, x, conv, nulls, scale)
            # at the optimum f changes below its rounding: a smaller gradient decides
            better = f_new < f or (f_new <= f + 1e-15 * abs(f) and np.abs(g_new[free]).max()
                                   < np.abs(g[free]).max())
            if better:
                break
        if not better:
            break
        moved = np.abs(new - params).max()
        params, f, g = new, f_new, g_new
        if moved <= 1e-15 * (1 + np.abs(params).max()):
            break
    return params


def _projected_gradient(params, link, x, conv, nulls, scale, lo, hi):
    """Largest |gradient| over the parameters free to move inward (0 at the optimum)."""
    g = _objective(params, link, x, conv, nulls, scale)[1]
    held = ((params <= lo) & (g > 0)) | ((params >= hi) & (g < 0))
    return float(np.abs(np.where(held, 0.0, g)).max())


def _fit_bounded(link, x, conv, nulls, C):
    k = x.shape[1]
    n = float(np.sum(conv) + np.sum(nulls))
    rate = float(np.sum(conv)) / n
    if link == "noisy_or":
        start = np.concatenate([[-np.log1p(-min(rate, 1 - 1e-9))], np.zeros(k)])
        lo, hi = np.zeros(k + 1), np.full(k + 1, MAX_HAZARD)
    else:
        start = np.concatenate([[rate], np.zeros(k)])
        lo, hi = np.r_[0.0, -np.ones(k)], np.ones(k + 1)
    # minimise (C NLL + |beta|^2 / 2) / (C n): the same optimum, a loss of order 1
    scale = (n, 1.0 / C)
    # projected Newton from the start converges in tens of steps; L-BFGS-B (hundreds of
    # iterations where predictions crowd a bound) only where Newton stalls short of it
    p = _polish(start, link, x, conv, nulls, scale, lo, hi, steps=100)
    if _projected_gradient(p, link, x, conv, nulls, scale, lo, hi) > GTOL:
        res = minimize(_objective, p, args=(link, x, conv, nulls, scale), jac=True,
                       method="L-BFGS-B", bounds=list(zip(lo, hi, strict=True)),
                       options=dict(maxiter=2000, maxcor=20, ftol=1e-13, gtol=1e-9))
        p = _polish(res.x, link, x, conv, nulls, scale, lo, hi)
    if link == "noisy_or":
        return float(-np.expm1(-p[0])), -np.expm1(-p[1:])
    return float(p[0]), p[1:].copy()


def fit_link(link, x, conv, nulls, C):
    """``(intercept, coef)`` of ``link`` fitted on patterns ``x`` with weights ``conv`` and
    ``nulls``, in the reported parametrisation (log-odds; baseline b and theta), or None
    when only one outcome occurs.
    """
    keep = (conv + nulls) > 0
    x, conv, nulls = x[keep], conv[keep], nulls[keep]
    if one_class(conv, nulls):
        return None
    if link == "logit":
        return _fit_logit(x, conv, nulls, C)
    return _fit_bounded(link, x, conv, nulls, C)


def glm_inference(link, x, conv, nulls, names):
    """Unpenalised maximum likelihood of ``link`` as a statsmodels GLM Binomial result with
    frequency weights (links Logit, LogC = log(1 - p) for noisy-OR, Identity); parameters on
    the link's linear scale: log-odds; log(1 - b), log(1 - theta_k); b, theta_k.

    Logit: statsmodels' own fit (IRLS). Noisy-OR and identity: the estimate within the
    bounds (this module's fit without penalty; an unconstrained IRLS can leave [0, 1]),
    with standard errors from the observed information there (statsmodels' Hessian: one
    Newton evaluation, no step).
    """
    import statsmodels.api as sm

    links = sm.families.links
    family = sm.families.Binomial(link={"logit": links.Logit, "noisy_or": links.LogC,
                                        "identity": links.Identity}[link]())
    xx = sm.add_constant(np.vstack([x, x]), has_constant="add")
    y = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    w = np.concatenate([conv, nulls])
    keep = w > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-canonical links; a pattern predicted at 0
        model = sm.GLM(y[keep], xx[keep], family=family, freq_weights=w[keep])
        if link == "logit":
            res = model.fit()
        else:
            b, coef = fit_link(link, x, conv, nulls, 1e12)
            start = np.concatenate([[b], coef])
            start = np.log1p(-start) if link == "noisy_or" else start
            res = model.fit(start_params=start, method="newton", maxiter=0)
        res.model.exog_names[:] = ["const", *names]
        res.summary()  # computes (and caches) the log-likelihood and tests here
    return res
