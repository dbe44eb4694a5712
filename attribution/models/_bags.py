"""The regression behind :class:`~attribution.models.logistic.Logistic`: its feature
patterns and its bags (Shao & Li's bagging, each bag a fit of the value model's link).
"""

from __future__ import annotations

import warnings
from math import ceil

import numpy as np
import pandas as pd

from attribution.models._links import fit_link
from attribution.models._set_games import journey_sets, one_blas_thread, unique_sorted
from attribution.models._value_model import thin
from attribution.shapley import bits_of


def feature_patterns(j, features):
    """Unique feature patterns of the journeys: ``(X, masks, inverse)``.

    ``X`` (patterns x entities) holds exposure indicators, touch counts or log1p counts;
    ``masks`` the set of entities each pattern touches; ``inverse`` the pattern of each journey.
    """
    k = len(j.names)
    if features == "exposure":
        sets, inv = unique_sorted(journey_sets(j))
        return bits_of(sets, k).astype(np.float64), sets, inv
    jj, code, count = j.distinct(return_counts=True)
    dense = np.zeros((j.n_journeys, k), dtype=np.int32)
    dense[jj, code] = count
    rows = np.ascontiguousarray(dense).view(np.dtype((np.void, 4 * k))).ravel()
    _, first, inv = np.unique(rows, return_index=True, return_inverse=True)
    x = dense[first].astype(np.float64)
    masks = journey_sets(j)[first]
    return (np.log1p(x) if features == "log1p" else x), masks, inv.ravel()


def fit_bag(x, pairs, conv, nulls, link, C, max_samples, max_features, seed, full):
    """``(coef, intercept)`` of one bag (:func:`_fit_one_bag`), BLAS on one thread."""
    with one_blas_thread():  # also in a worker process: the same bits for any n_jobs
        return _fit_one_bag(x, pairs, conv, nulls, link, C, max_samples, max_features, seed,
                            full)


def _fit_one_bag(x, pairs, conv, nulls, link, C, max_samples, max_features, seed, full):
    """One bag: thinned journeys, a draw of the entities (a pair term is in the bag when
    both its entities are); ``x`` is the design with the pair columns after the k entities.
    """
    rng = np.random.default_rng(seed)
    k = x.shape[1] - len(pairs)
    if full:
        cw, nw, feats = conv, nulls, np.arange(k)
    else:
        cw, nw = thin(conv, max_samples, rng), thin(nulls, max_samples, rng)
        feats = np.sort(rng.choice(k, size=max(1, ceil(max_features * k)), replace=False))
    drawn = np.isin(pairs, feats).all(axis=1) if len(pairs) else np.zeros(0, bool)
    feats = np.concatenate([feats, k + np.flatnonzero(drawn)])
    coef = np.full(x.shape[1], np.nan)
    fitted = fit_link(link, x[:, feats], cw, nw, C)
    if fitted is None:
        return coef, np.nan
    coef[feats] = fitted[1]
    return coef, fitted[0]


def pair_table(pairs, coefs, names):
    """The pairwise terms: first, second, and the mean, spread and count of the bags'
    coefficients (NaN in a bag that did not draw both entities).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: never drawn
        first, second = ((names[pairs[:, i]].astype(str) if len(pairs)  # as load_json reads
                          else np.zeros(0, object)) for i in (0, 1))  # them: pandas' string
        return pd.DataFrame({"first": first, "second": second,  # dtype, none when empty
                             "coef": np.nanmean(coefs, axis=0) if len(coefs) else [],
                             "coef_std": np.nanstd(coefs, axis=0) if len(coefs) else [],
                             "n_bags_seen": (~np.isnan(coefs)).sum(axis=0)})
