r"""Pairwise terms chosen by a score test (``Logistic(interactions="auto")``).

After the main-effects fit with the chosen link, each candidate pair (a, b) of entities that
occur together is tested for a term gamma x_a x_b in the linear predictor by Rao's score
test (Rao 1948; for GLMs, McCullagh & Nelder 1989, sec. 4.4.5): with p the fitted
probabilities, n a pattern's journeys and g = dp/deta of the link (logit p(1 - p),
noisy-OR 1 - p, identity 1),

    U = sum_i (conv_i - n_i p_i) g_i / (p_i (1 - p_i)) z_i,      z_i = x_ia x_ib,
    w_i = n_i g_i^2 / (p_i (1 - p_i))                            (Fisher weight),
    V = z' W z + 1/C - (X'W z)' (X'W X + P)^{-1} (X'W z),

with X the fitted design (a constant column first) and P the L2 penalty 1/C on its
non-constant columns (the fit's, :mod:`._links`): V is the information of gamma with the
fitted parameters profiled out, and U^2 / V is chi-square with one degree of freedom under
no interaction. The strongest pair enters when its statistic exceeds the Bonferroni
threshold of ``ALPHA`` over all candidates (one-sided for noisy-OR, whose pair hazards are
>= 0: only U > 0); the model is refitted with it and the remaining pairs tested again
(forward selection: a pair that only stood in for a missing one no longer passes once that
one is in), up to ``MAX_PAIRS`` pairs (then a warning). Pairs whose statistics tie (within
``TIE``, e.g. (a, c) and (b, c) where a and b play the same part) enter together, so that
credit never follows names; a pair whose column lies in the span of the fitted ones (V
below ``TESTABLE`` of its own information: rounding, not evidence) is not tested. Without
any interaction the first round passes nothing with probability >= 1 - ALPHA. Pairs seen
with fewer than ``MIN_SUPPORT`` conversions or nulls are not tested (no test is reliable
there).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import chi2

from attribution.journeys.validation import AttributionWarning
from attribution.models._links import fit_link, linear_predictor, probability
from attribution.models._value_model import pair_products, with_pairs

#: family-wise level of one round of the screen (Bonferroni over the candidate pairs)
ALPHA = 0.05
#: most pairs a screen adds (one refit each)
MAX_PAIRS = 20
#: conversions and nulls a pair must be seen with to be tested
MIN_SUPPORT = 10
#: predictions are clipped to [P_EPS, 1 - P_EPS] in the weights
P_EPS = 1e-9
#: candidate pair columns built at once (memory: patterns x PAIR_CHUNK floats)
PAIR_CHUNK = 32
#: a pair whose profiled information V is below this fraction of its own (z'Wz + 1/C) lies in
#: the span of the fitted columns (up to rounding): nothing to test, statistic 0
TESTABLE = 1e-6
#: statistics within this relative distance of the largest are a tie: those pairs enter
#: together (symmetric entities get symmetric terms, whatever their names)
TIE = 1e-9


def _slope(link, p, eta):
    """dp/deta of ``link`` at p (identity: 1 inside [0, 1], 0 where the predictor ``eta`` is
    clipped: a pattern at a bound does not move with it)."""
    if link == "logit":
        return p * (1.0 - p)
    return 1.0 - p if link == "noisy_or" else ((eta > 0) & (eta < 1)).astype(np.float64)


def score_statistics(link, intercept, coef, design, conv, nulls, C, candidates):
    """Signed score U and the statistic U^2 / V (module docstring) of each candidate pair
    (column indices into ``design``) given the fit ``(intercept, coef)`` on ``design``.
    """
    p = np.clip(probability(link, intercept, coef, design), P_EPS, 1 - P_EPS)
    n = conv + nulls
    g = _slope(link, p, intercept + linear_predictor(design, coef))
    s = (conv - n * p) * g / (p * (1.0 - p))
    w = n * g * g / (p * (1.0 - p))
    xt = np.column_stack([np.ones(len(design)), design])
    h = (xt.T * w) @ xt
    h[1:, 1:] += np.eye(xt.shape[1] - 1) / C
    u, v, raw = np.zeros(len(candidates)), np.zeros(len(candidates)), np.zeros(len(candidates))
    for lo in range(0, len(candidates), PAIR_CHUNK):
        pairs = candidates[lo:lo + PAIR_CHUNK]
        z = pair_products(design, pairs)
        cross = xt.T @ (z * w[:, None])
        solved = np.linalg.lstsq(h, cross, rcond=None)[0]
        u[lo:lo + len(pairs)] = s @ z
        raw[lo:lo + len(pairs)] = w @ (z * z) + 1.0 / C
        v[lo:lo + len(pairs)] = raw[lo:lo + len(pairs)] - np.einsum("ij,ij->j", cross, solved)
    return u, np.where(v > TESTABLE * raw, u * u / np.maximum(v, 1e-300), 0.0)


def candidate_pairs(x, conv, nulls, k):
    """Pairs (a < b < k) of columns of ``x`` non-zero together in journeys with at least
    ``MIN_SUPPORT`` conversions and as many nulls.
    """
    on = (x[:, :k] != 0).astype(np.float64)
    seen_conv = (on.T * conv) @ on
    seen_null = (on.T * nulls) @ on
    ok = np.triu((seen_conv >= MIN_SUPPORT) & (seen_null >= MIN_SUPPORT), 1)
    return np.argwhere(ok).astype(np.int64)


def aliases(x, candidates):
    """``(keep, group)``: which candidates' product column is not already a column of ``x``
    (b seen only with a: x_a x_b = x_b, a "pair" that would only relieve b's penalty), and
    for each candidate the first candidate with the same product column (a and b always
    together: (a, c) and (b, c) are one term, entered together so that neither name wins).
    Columns are matched by a projection on positive weights, then compared exactly.
    """
    if not len(candidates):
        return np.zeros(0, bool), np.zeros(0, np.int64)
    r = 1.0 + np.random.default_rng(0).random(len(x))
    hx = r @ x
    hz = np.concatenate([r @ pair_products(x, candidates[lo:lo + PAIR_CHUNK])
                         for lo in range(0, len(candidates), PAIR_CHUNK)])
    keep, group = np.ones(len(candidates), bool), np.arange(len(candidates))
    for i, h in enumerate(hz):
        z = pair_products(x, candidates[i:i + 1])[:, 0]
        same_col = np.flatnonzero(np.isclose(hx, h, rtol=1e-9, atol=0))
        keep[i] = not any(np.array_equal(x[:, c], z) for c in same_col)
        earlier = np.flatnonzero(np.isclose(hz[:i], h, rtol=1e-9, atol=0))
        group[i] = next((group[e] for e in earlier if np.array_equal(
            pair_products(x, candidates[e:e + 1])[:, 0], z)), i)
    return keep, group


def screen_pairs(link, x, conv, nulls, C, k):
    """The pairs chosen (m, 2), sorted, and the fit ``(intercept, coef)`` on ``x`` with
    their columns appended (None when only one outcome occurs); ``x``'s first ``k`` columns
    are the entities, the rest (covariates) are never paired.
    """
    keep = (conv + nulls) > 0
    x, conv, nulls = x[keep], conv[keep], nulls[keep]
    candidates = candidate_pairs(x, conv, nulls, k)
    keep, group = aliases(x, candidates)
    candidates, group = candidates[keep], group[keep]
    chosen = np.zeros((0, 2), np.int64)
    fitted = fit_link(link, x, conv, nulls, C)
    if fitted is None or not len(candidates):
        return chosen, fitted
    one_sided = link == "noisy_or"
    threshold = chi2.isf(ALPHA / len(candidates) * (2 if one_sided else 1), 1)
    rest = np.ones(len(candidates), bool)
    while rest.any():
        design = with_pairs(x, chosen)
        u, stat = score_statistics(link, fitted[0], fitted[1], design, conv, nulls, C,
                                   candidates[rest])
        stat = np.where((u > 0) | (not one_sided), stat, 0.0)
        if stat.max() <= threshold:
            break
        tied = np.flatnonzero(rest)[stat >= stat.max() * (1.0 - TIE)]
        enter = rest & np.isin(group, group[tied])  # the pair, its ties and their aliases
        if len(chosen) + enter.sum() > MAX_PAIRS:
            warnings.warn(f"interactions='auto' stopped at {len(chosen)} pairs with more "
                          f"passing the score test (at most {MAX_PAIRS}; often a link that "
                          "does not fit): list the pairs, or use interactions=True",
                          AttributionWarning, stacklevel=6)
            break
        chosen = np.vstack([chosen, candidates[enter]])
        rest &= ~enter
        fitted = fit_link(link, with_pairs(x, chosen), conv, nulls, C)
    order = np.lexsort(chosen.T[::-1])
    if len(chosen):  # the fit's columns follow the sorted pairs
        fitted = (fitted[0], np.concatenate([fitted[1][:x.shape[1]],
                                             fitted[1][x.shape[1]:][order]]))
    return chosen[order], fitted
