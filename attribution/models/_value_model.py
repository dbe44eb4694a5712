"""The binomial value model as a scikit-learn classifier (:class:`BinomialModel`) and the
selection of its link (kernel: :mod:`._links`).

``"auto"`` scores each link by ``N_FOLDS``-fold held-out log-loss with folds over journeys:
each pattern's conversions and nulls are dealt over the folds as evenly as whole journeys
allow (:func:`fold_counts`, a stratified split; the Markov order selection splits
multinomially instead), the remainder starting at a fold drawn from the seed, the pattern
(its entities named by their own conversions and nulls) and its counts, never from the
entity codes: relabelling the entities deals the same folds
(an integer ``random_state`` of :class:`BinomialModel` seeds it, None deals with seed 0;
Logistic and Shapley always deal with 0, so a fit does not depend on its ``random_state``
through the folds, and refitting with ``seed_`` reproduces it).
The link with the lowest loss wins; within a relative 1e-9 of it, the first of ``LINKS``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from attribution.journeys.validation import AttributionWarning, ParameterError
from attribution.models import _checks
from attribution.models._links import CHOICES, LINKS, fit_link, one_class, probability

N_FOLDS = 5
#: the held-out log-loss clips predictions to [LOSS_EPS, 1 - LOSS_EPS] (as the Markov order)
LOSS_EPS = 1e-12


def held_out_log_loss(p, conv, nulls):
    """Mean negative log-likelihood per journey of predictions ``p`` (clipped as Markov's)."""
    p = np.clip(p, LOSS_EPS, 1 - LOSS_EPS)
    total = float(np.sum(conv) + np.sum(nulls))
    return -float(conv @ np.log(p) + nulls @ np.log1p(-p)) / max(total, 1e-300)


def _mix(h):
    """splitmix64's finaliser (Steele et al. 2014) on uint64 arrays."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def _pattern_hash(x, conv, nulls):
    """A hash of each pattern that does not depend on the entity codes: each column is
    named by its own signature (its journeys' conversions and nulls, rounded), and a
    pattern's hash is the wrapping sum over its non-zero columns of a hash of (signature,
    value), a sum being blind to the order of the columns.
    """
    def rounded(v):
        return np.round(v, 6).view(np.uint64)

    signature = _mix(_mix(rounded((x * conv[:, None]).sum(axis=0) + 0.0))
                     ^ rounded((x * nulls[:, None]).sum(axis=0) + 0.0))
    h = np.zeros(len(x), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(x.shape[1]):
            on = x[:, c] != 0
            h[on] += _mix(signature[c] ^ rounded(x[on, c] + 0.0))
    return h


def fold_counts(x, conv, nulls, n_folds, seed):
    """Each pattern's conversions and nulls dealt over ``n_folds`` folds: (n_folds, n) each.

    Every fold gets floor(count / n_folds) whole journeys; the remaining whole journeys go
    one to a fold from a start fold, the nulls continuing where the conversions stopped, and
    a fractional remainder to the next fold. The start is a hash of ``seed``, the pattern
    (:func:`_pattern_hash`) and its counts: random over patterns (a held-out fold is a
    sample of all kinds of journeys, not of some lengths), the same whatever the entity
    codes.
    """
    key = np.stack([_pattern_hash(x, conv, nulls), np.floor(conv).astype(np.int64).astype(
        np.uint64), np.floor(nulls).astype(np.int64).astype(np.uint64)], axis=1)
    with np.errstate(over="ignore"):
        h = np.full(len(x), np.uint64(seed % (1 << 63)) + np.uint64(0x9E3779B97F4A7C15))
        for col in key.T:
            h = _mix(h ^ col)
    start = (h % np.uint64(n_folds)).astype(np.int64)
    folds = np.arange(n_folds)[:, None]
    out = []
    for counts in (conv, nulls):
        whole = np.floor(counts)
        rest = whole % n_folds
        got = np.floor(whole / n_folds) + ((folds - start) % n_folds < rest)
        got = got + (counts - whole) * ((folds - start) % n_folds == rest % n_folds)
        out.append(got)
        start = (start + rest.astype(np.int64)) % n_folds
    return out


def fold_seed(random_state) -> int:
    """The seed of the folds: ``random_state`` when it is an integer, else 0, so that a fit
    with ``random_state=None`` deals the same folds every time (the deal is balanced; the seed
    only moves where each pattern's remainder starts).
    """
    return int(random_state) if isinstance(random_state, (int, np.integer)) else 0


def link_scores(x, conv, nulls, C, seed, links=LINKS, n_folds=N_FOLDS) -> pd.DataFrame:
    """Held-out log-loss of each link (module docstring): columns link, log_loss, selected
    (the lowest; within a relative 1e-9 of it, the first listed).
    """
    conv, nulls = np.asarray(conv, np.float64), np.asarray(nulls, np.float64)
    conv_f, null_f = fold_counts(x, conv, nulls, n_folds, fold_seed(seed))
    rows = []
    for link in links:
        loss = 0.0
        for f in range(n_folds):
            fitted = fit_link(link, x, conv - conv_f[f], nulls - null_f[f], C)
            p = (np.full(len(x), 0.5) if fitted is None
                 else probability(link, fitted[0], fitted[1], x))
            loss += held_out_log_loss(p, conv_f[f], null_f[f]) * (conv_f[f].sum()
                                                                   + null_f[f].sum())
        rows.append(dict(link=link, log_loss=loss / max(float(np.sum(conv) + np.sum(nulls)),
                                                         1e-300)))
    table = pd.DataFrame(rows)
    loss = table["log_loss"].to_numpy()
    table["selected"] = False
    table.loc[int(np.argmax(loss <= loss.min() + 1e-9 * abs(loss.min()))), "selected"] = True
    return table


def check_interactions(value, auto=False):
    """Validate an ``interactions`` parameter: a bool, or a list of pairs of entity names
    (Logistic, Shapley) or of column indices (BinomialModel); ``"auto"`` where ``auto``."""
    if isinstance(value, (bool, np.bool_)) or (auto and isinstance(value, str)
                                               and value == "auto"):
        return
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2
        and all(isinstance(e, (str, int, np.integer)) and not isinstance(e, bool) for e in p)
        and p[0] != p[1] for p in value)
    if not ok:
        allowed = "'auto', True, False" if auto else "True, False"
        raise ParameterError(f"interactions must be {allowed} or a list of pairs of two "
                             f"different entities, got {_checks.shown(value)}")


def warn_unidentified(x, conv, nulls, names, stacklevel=4) -> None:
    """Warn about the entities a value model cannot identify from the journeys: one seen in
    every journey (its effect and the baseline are one number: the penalty and the bounds
    split it), and one seen only in converting journeys (complete separation: its effect
    is as large as the penalty ``C`` allows).
    """
    n = conv + nulls
    on = x[:, :len(names)] != 0
    seen = (n[:, None] * on).sum(axis=0)
    everywhere = np.flatnonzero((seen >= n.sum()) & (n.sum() > 0))
    if len(everywhere):
        warnings.warn(f"{_checks.shown(str(names[everywhere[0]]))} is in every journey: its "
                      "effect cannot be told from the baseline's (the penalty and the "
                      "bounds split them); drop it, or read its credit with the baseline",
                      AttributionWarning, stacklevel=stacklevel)
    only = np.flatnonzero(((nulls[:, None] * on).sum(axis=0) == 0) & (seen > 0))
    if len(only) and nulls.sum() > 0:
        warnings.warn(f"{_checks.shown(str(names[only[0]]))}"
                      f"{f' (and {len(only) - 1} more)' if len(only) > 1 else ''} is seen only "
                      "in converting journeys: its effect is as large as the penalty C lets "
                      "it be, not measured (a conversion-page touch? remove it with the "
                      "journeys' transforms)", AttributionWarning, stacklevel=stacklevel)


def pairs_of(interactions, x, names=None) -> np.ndarray:
    """Column index pairs (m, 2) of the pairwise terms, first < second, sorted: none for
    False; for True every pair of features non-zero together in some row of ``x``; else the
    pairs listed (entity names looked up in ``names``, or column indices when it is None).
    """
    k = x.shape[1]
    interactions = bool(interactions) if isinstance(interactions, np.bool_) else interactions
    if interactions is False or not k:
        return np.zeros((0, 2), dtype=np.int64)
    if interactions is True:
        on = (x != 0).astype(np.float64)
        together = np.triu(on.T @ on, 1) > 0
        return np.argwhere(together).astype(np.int64)
    index = {str(n): i for i, n in enumerate(names)} if names is not None else None
    out = set()
    for pair in interactions:
        if index is None:
            got = [int(e) if 0 <= int(e) < k else None for e in pair]
        else:
            got = [index.get(str(e)) for e in pair]
        if got[0] is not None and got[0] == got[1]:  # (1, "1"): one entity named twice
            raise ParameterError(f"interactions pair {tuple(pair)!r} names one entity twice; "
                                 "a pair is two different entities")
        if None in got:
            missing = [e for e, g in zip(pair, got, strict=True) if g is None]
            raise ParameterError(f"interactions pair {tuple(pair)!r} names "
                                 f"{_checks.shown(missing[0])}, which is not an entity of "
                                 "these journeys; list pairs of entities that occur")
        out.add((min(got), max(got)))
    return np.array(sorted(out), dtype=np.int64).reshape(-1, 2)


def pair_products(x, pairs):
    """One column ``x_a * x_b`` per pair (rows of ``pairs``: column indices into ``x``)."""
    return x[:, pairs[:, 0]] * x[:, pairs[:, 1]]


def with_pairs(x, pairs):
    """The design: ``x`` with one product column ``x_a * x_b`` per pair appended."""
    if not len(pairs):
        return x
    return np.hstack([x, pair_products(x, pairs)])


def chosen(table: pd.DataFrame) -> str:
    """The link selected in a :func:`link_scores` table."""
    return str(table.loc[table["selected"].to_numpy(), "link"].iloc[0])


class BinomialModel(ClassifierMixin, BaseEstimator):
    """A scikit-learn binary classifier: binomial regression with ``link`` (module
    docstring), the value model of :class:`Logistic` and :class:`Shapley`.

    Parameters
    ----------
    link : {"auto", "logit", "noisy_or", "identity"}
    C : float
        Inverse L2 strength on the entity coefficients (linear scale of the link).
    n_folds : int
        Folds of the held-out log-loss of ``link="auto"``.
    interactions : bool or list of (int, int)
        Pairwise product terms: True for every pair of features non-zero together in some
        row, or the listed column pairs.
    random_state : int or None
        Seeds the deal of the journeys over the folds (None: 0).

    Attributes
    ----------
    link_ : str
        The link fitted (the selected one with ``"auto"``).
    intercept_ : float
        Log-odds of no feature (logit) or baseline b (noisy-OR, identity).
    coef_ : ndarray
        Log-odds (logit) or theta (noisy-OR, identity) per feature.
    pairs_, pair_coef_ : ndarray
        The column pairs of the interaction terms and their coefficients.
    cv_log_loss_ : ndarray or None
        Held-out log-loss of each of ``LINKS`` (``"auto"`` only).
    """

    #: the links a fit can choose
    LINKS = LINKS

    def __init__(self, link="auto", C=1.0, n_folds=N_FOLDS, random_state=None,
                 interactions=False):
        self.link = link
        self.C = C
        self.n_folds = n_folds
        self.random_state = random_state
        self.interactions = interactions

    def check_params(self):
        """Validate the parameters (ParameterError)."""
        _checks.choice("link", self.link, CHOICES)
        _checks.real("C", self.C, 0, low_open=True)
        _checks.integer("n_folds", self.n_folds, 2)
        _checks.random_state(self.random_state)
        check_interactions(self.interactions)

    def check_state(self):
        """Validate the fitted state (ValueError), e.g. of a model read from a file."""
        self.check_params()
        pairs = np.asarray(getattr(self, "pairs_", np.zeros((0, 2), np.int64)))
        pair_coef = np.asarray(getattr(self, "pair_coef_", np.zeros(0)))
        k = np.asarray(self.coef_).shape[-1]
        if (pairs.ndim != 2 or pairs.shape[1] != 2 or pair_coef.shape != (len(pairs),)
                or (len(pairs) and not ((pairs >= 0) & (pairs < k)).all())):
            raise ValueError("holds interaction pairs that do not match pair_coef_ or the "
                             "features")
        coef = np.concatenate([np.ravel(self.coef_), pair_coef])
        if self.link_ not in LINKS:
            raise ValueError(f"link_ {_checks.shown(self.link_)} is not one of {LINKS}")
        if not np.isfinite(self.intercept_) or not np.isfinite(coef).all():
            raise ValueError("holds non-finite parameters")
        low = {"logit": -np.inf, "noisy_or": 0.0, "identity": -1.0}[self.link_]
        if self.link_ != "logit" and not (0 <= self.intercept_ <= 1 and (coef >= low).all()
                                          and (coef <= 1).all()):
            raise ValueError(f"holds parameters outside the bounds of link {self.link_!r}")

    def fit(self, X, y, sample_weight=None):
        """Fit on rows ``X`` with outcomes ``y`` (two classes) and weights: the rows are
        grouped into unique patterns first, so weights equal replicated rows.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(f"BinomialModel needs two classes, got {len(classes)}")
        patterns, inv = np.unique(X, axis=0, return_inverse=True)
        pos = (y == classes[1]).astype(np.float64)
        inv = inv.ravel()
        self.fit_patterns(patterns, np.bincount(inv, w * pos, minlength=len(patterns)),
                          np.bincount(inv, w * (1 - pos), minlength=len(patterns)))
        self.classes_ = classes
        return self

    def fit_patterns(self, x, conv, nulls):
        """Fit on unique patterns ``x`` with their conversions and nulls."""
        self.check_params()
        x = np.asarray(x, dtype=np.float64)
        conv, nulls = np.asarray(conv, np.float64), np.asarray(nulls, np.float64)
        k = x.shape[1]
        self.pairs_ = pairs_of(self.interactions, x)
        x = with_pairs(x, self.pairs_)
        link, self.cv_log_loss_ = self.link, None
        if link == "auto":
            table = link_scores(x, conv, nulls, self.C, self.random_state, n_folds=self.n_folds)
            link, self.cv_log_loss_ = chosen(table), table["log_loss"].to_numpy()
        fitted = fit_link(link, x, conv, nulls, self.C)
        if fitted is None:
            raise ValueError("BinomialModel needs both conversions and nulls")
        self.link_ = link
        self.intercept_, self.coef_, self.pair_coef_ = fitted[0], fitted[1][:k], fitted[1][k:]
        self.n_features_in_ = k
        self.classes_ = np.array([0.0, 1.0])
        return self

    def link_scores(self) -> pd.DataFrame | None:
        """The held-out log-loss table of ``link="auto"`` (columns link, log_loss, selected)."""
        if getattr(self, "cv_log_loss_", None) is None:
            return None
        return pd.DataFrame({"link": list(LINKS), "log_loss": self.cv_log_loss_,
                             "selected": [lk == self.link_ for lk in LINKS]})

    def predict_proba(self, X):
        """Columns p(class 0), p(class 1)."""
        pairs = getattr(self, "pairs_", np.zeros((0, 2), np.int64))
        coef = np.concatenate([np.ravel(self.coef_), getattr(self, "pair_coef_", np.zeros(0))])
        p = probability(self.link_, self.intercept_, coef,
                        with_pairs(np.asarray(X, dtype=np.float64), pairs))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        """The more probable class."""
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


def thin(w, fraction, rng):
    """Keep each of a row's journeys with probability ``fraction`` (binomial thinning)."""
    whole = np.floor(w)
    return rng.binomial(whole.astype(np.int64), fraction) + (rng.random(len(w)) < fraction) * (
        w - whole)


def fit_value_model(estimator, x, conv, nulls):
    """A clone of ``estimator`` fitted on patterns ``x`` with conversions as positive and
    nulls as negative weights (a :class:`BinomialModel` directly on the patterns; any other
    classifier on the rows of both outcomes), or None when only one outcome occurs.
    """
    keep = (conv + nulls) > 0
    if one_class(conv[keep], nulls[keep]):
        return None
    if isinstance(estimator, BinomialModel):
        return clone(estimator).fit_patterns(x[keep], conv[keep], nulls[keep])
    xx = np.vstack([x, x])
    y = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    w = np.concatenate([conv, nulls])
    return clone(estimator).fit(xx[w > 0], y[w > 0], sample_weight=w[w > 0])
