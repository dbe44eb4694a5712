"""Shapley-value attribution over each journey's distinct channels, with stated games."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd

from attribution.journeys.validation import AttributionWarning, ParameterError
from attribution.models import _checks, _covariates
from attribution.models._base import AttributionModel
from attribution.models._links import CHOICES
from attribution.models._registry import register
from attribution.models._set_games import (
    check_credit_params,
    credit_mode,
    in_pieces,
    journey_sets,
    labels_of,
    one_blas_thread,
    set_credit,
    shares_from_phi,
    touch_weights_from_shares,
    unique_sorted,
)
from attribution.models._value_model import (
    BinomialModel,
    check_interactions,
    fit_value_model,
    pairs_of,
    warn_unidentified,
)
from attribution.shapley import MAX_PLAYERS, bits_of, shapley

GAMES = ("count", "rate", "model")


@register("shapley")
class Shapley(AttributionModel):
    r"""Shapley-value attribution; the players are each journey's distinct entities.

    The game is stated by ``value``:

    - ``"count"`` (Zhao et al. 2018, "simplified Shapley"): v(S) = conversions of journeys whose
      set is a subset of S. Its Shapley value has the closed form
      phi_i = sum_{T containing i} R(T) / |T| (R(T): conversions with exact set T): this is
      **linear attribution over distinct channels**, computed directly.
    - ``"rate"`` (Dalessandro et al. 2012): v(S) = conversion rate of the journeys whose set is
      exactly S, Beta-smoothed toward the pooled rate with ``prior`` pseudo-journeys.
      No journey lacks a tracked touch, so v(empty) is not observed: it is the value model's
      prediction for the empty pattern (the all-zero row, as in ``"model"``; 0 when only one
      outcome occurs). Subsets never observed get the estimate of the value model of
      ``"model"``; a warning gives their share.
    - ``"model"``: v(S) = p(conversion | exposed to exactly S) from the value model fitted
      on the exposure patterns with conversions and nulls as weights: by default the
      binomial model of :class:`Logistic` with ``link`` ("auto": logit, noisy-OR or
      identity by 5-fold held-out log-loss, ``link_scores_``) and inverse L2 strength
      ``C``; or ``estimator``, any scikit-learn classifier with ``predict_proba``.

    For each unique set T, phi_i(T) is exact over the subsets of T (up to ``max_exact``
    players), else estimated from ``n_permutations`` antithetic permutations with standard
    errors (``credit_se_``). Credit of journey j with set T:
    ``credit="total"``: c_j phi_i(T) / (v(T) - v(empty)), summing to c_j;
    ``credit="incremental"``: c_j phi_i(T) / v(T) to entities and c_j v(empty) / v(T) to the
    ``(baseline)`` row. The default ``credit=None`` is incremental for the games with a
    baseline (``"rate"``, ``"model"``) and total for ``"count"`` (v(empty) = 0); the mode used
    is ``credit_mode_``. Negative phi stay negative (with a warning); ``clip=True`` sets them to
    0 and rescales the rest, which breaks the additivity of the game. A journey whose
    denominator is <= 0 goes to ``(unattributed)`` and is counted. With ``ordered=True`` the
    credit is also booked by the position at which the entity first appears among the
    journey's distinct entities (``position_credit_``, Zhao et al. 2018). The games other
    packages call "Shapley" are compared in docs/models.md.

    Parameters
    ----------
    value : {"count", "rate", "model"}
    ordered : bool
    credit : {None, "total", "incremental"}
        None (default): incremental for ``"rate"`` and ``"model"``, total for ``"count"``.
    estimator : scikit-learn classifier, optional
        For ``value="model"`` (and the unobserved subsets of ``"rate"``), instead of the
        binomial model; ``link`` must then be ``"auto"`` (no link is selected).
    link : {"auto", "logit", "noisy_or", "identity"}
        Family of the binomial value model (MODELS.md, Logistic).
    C : float
        Its inverse L2 strength (on the entity coefficients).
    interactions : bool or list of (str, str)
        Pairwise terms of the binomial value model, as in :class:`Logistic` (True: every
        pair of entities that occur together; or the pairs named).
    prior : float
        Pseudo-journeys of the Beta smoothing of ``"rate"``.
    max_exact : int
        Largest set computed exactly (2^|T| coalitions).
    n_permutations : int
        Permutations per larger set.
    clip : bool
    n_jobs : int or None
        Threads evaluating the game, in fixed pieces with BLAS on one thread: the results
        are bit-identical for any value.
    random_state : int, numpy Generator or None
        Seeds sampled sets; None draws a seed at fit, kept in ``seed_`` so that ``transform``
        reuses the permutations of the fit.
    level : {None, "touchpoint", "channel"}
    adjust : {None, "regression", "ipw"}
        ``value="model"``: confounding adjustment by the journeys' covariates, as in
        :class:`Logistic` (None: "regression" when they have covariates). The "count" and
        "rate" games do not use covariates (``adjust`` must then be None).

    Attributes
    ----------
    credit_mode_ : {"incremental", "total"}
        The credit mode used.
    estimator_ : the fitted value model (None for ``"count"`` or with one outcome only)
    link_ : str or None
        The link of the binomial value model (None for ``"count"`` or with ``estimator``).
    link_scores_ : pandas.DataFrame or None
        With ``link="auto"``: columns link, log_loss (held-out, per journey), selected.

    References
    ----------
    Zhao, Mahboobi & Bagheri, arXiv 1804.05327 (2018); Dalessandro et al., ADKDD 2012.
    """

    def __init__(self, value="count", ordered=False, credit=None, estimator=None, link="auto",
                 C=1.0, prior=1.0, max_exact=12, n_permutations=200, clip=False, n_jobs=None,
                 random_state=None, level=None, interactions=False, adjust=None):
        self.adjust = adjust
        self.value = value
        self.ordered = ordered
        self.credit = credit
        self.estimator = estimator
        self.link = link
        self.C = C
        self.prior = prior
        self.max_exact = max_exact
        self.n_permutations = n_permutations
        self.clip = clip
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.level = level
        self.interactions = interactions

    def _check_params(self):
        super()._check_params()
        _checks.choice("value", self.value, GAMES)
        check_credit_params(self)
        _checks.boolean("ordered", self.ordered)
        _checks.real("prior", self.prior, 0)
        _checks.choice("link", self.link, CHOICES)
        _checks.real("C", self.C, 0, low_open=True)
        if self.estimator is not None and not hasattr(self.estimator, "predict_proba"):
            raise ParameterError("estimator must be a scikit-learn classifier with "
                                 f"predict_proba, got {_checks.shown(self.estimator)}")
        if isinstance(self.interactions, str) and self.interactions == "auto":
            raise ParameterError("interactions='auto' (pairs chosen by a score test) is "
                                 "Logistic's; Shapley takes True, False or a list of pairs, "
                                 "e.g. those of a fitted Logistic's interactions_")
        check_interactions(self.interactions)
        _covariates.check_adjust(self.adjust)
        if self.adjust is not None and self.value != "model":
            raise ParameterError(f"adjust={self.adjust!r} needs value='model' (the 'count' and "
                                 f"'rate' games do not use covariates)")
        for name, default in (("link", "auto"), ("interactions", False)):
            if self.estimator is not None and getattr(self, name) != default:
                raise ParameterError(f"estimator replaces the binomial model: {name}="
                                     f"{getattr(self, name)!r} cannot be used with it (leave "
                                     f"{name}={default!r})")

    # -- the game ------------------------------------------------------------------------
    def _build_game(self, sets, conv, nulls, k, names, j, inv):
        x = bits_of(sets, k).astype(np.float64)
        # xz: x, or the (set, covariate cell) rows with the covariate columns (value="model")
        xz, cz, nz, _, self.covariate_design_, self._adjusted = _covariates.fit_table(
            j, x, inv, self.adjust, use=self.value == "model")
        pairs = self.interactions if isinstance(self.interactions, bool) and (
            xz is x) else [tuple(map(int, p)) for p in pairs_of(self.interactions, x, names)]
        if self.value == "model":
            warn_unidentified(xz, cz, nz, names, stacklevel=6)
        est = self.estimator if self.estimator is not None else BinomialModel(
            link=self.link, C=self.C, interactions=pairs)  # folds dealt, for any random_state
        self.estimator_ = (fit_value_model(est, xz, cz, nz)
                           if self.value != "count" else None)
        binomial = isinstance(self.estimator_, BinomialModel)
        self.link_ = self.estimator_.link_ if binomial else None
        self.link_scores_ = self.estimator_.link_scores() if binomial else None
        if self.value == "rate":
            seen = conv + nulls > 0
            p0 = conv.sum() / max(conv.sum() + nulls.sum(), 1e-300)
            self.rate_table_ = (sets[seen],
                                (conv[seen] + self.prior * p0) / (conv[seen] + nulls[seen]
                                                                  + self.prior))

    def _game(self, k):
        """The fitted value function v(masks) and v(empty)."""
        def predict(masks):
            if self.estimator_ is None or not len(masks):  # sklearn refuses 0 rows
                return np.zeros(len(masks))
            return _covariates.standardised(lambda xz: self.estimator_.predict_proba(xz)[:, 1],
                                            bits_of(masks, k).astype(np.float64),
                                            getattr(self, "covariate_design_", None))

        v0 = float(predict(np.zeros(1, dtype=np.uint64))[0])  # the empty pattern's estimate
        if self.value == "model":
            return predict, v0
        table_sets, table_rates = self.rate_table_
        self._unobserved = [0, 0]
        lock = threading.Lock()  # pieces may run in threads: counts added one at a time

        def rate(masks):
            out = np.zeros(len(masks))
            pos = np.searchsorted(table_sets, masks)
            pos = np.minimum(pos, max(len(table_sets) - 1, 0))
            hit = (table_sets[pos] == masks) if len(table_sets) else np.zeros(len(masks), bool)
            out[hit] = table_rates[pos[hit]]
            miss = ~hit & (masks != 0)
            out[miss] = predict(masks[miss])
            out[masks == 0] = v0
            with lock:
                self._unobserved[0] += int(miss.sum())
                self._unobserved[1] += int((masks != 0).sum())
            return out

        return rate, v0

    def _shares(self, sets, k):
        """Per unique set: each entity's share of the set's conversions, the baseline share,
        whether the set is unattributed, and the standard errors of the shares.
        """
        n = len(sets)
        member = bits_of(sets, k)
        if self.value == "count":
            shares = member / member.sum(axis=1, keepdims=True)
            return shares, np.zeros(n), np.zeros(n, bool), np.zeros((n, k))
        v, v0 = self._game(k)
        # the seed drawn at fit: transform redraws the permutations fit used
        rng = np.random.default_rng(getattr(self, "seed_", self.random_state))
        with one_blas_thread():
            phi, se, v_set, _ = shapley(sets, in_pieces(v, self.n_jobs), k, self.max_exact,
                                        self.n_permutations, rng)
        # the game's v(empty) is v0, the value model's estimate for the empty pattern
        mode = credit_mode(self.credit, self.value != "count")
        return shares_from_phi(phi, se, v_set, np.full(len(sets), v0), mode, self.clip)

    # -- fit / transform -----------------------------------------------------------------
    def _fit(self, j):
        k = len(j.names)
        if k > MAX_PLAYERS:
            raise ParameterError(f"Shapley handles at most {MAX_PLAYERS} {j.level}s, these "
                                 f"journeys have {k}; fit at channel level (level='channel')")
        masks = journey_sets(j)
        sets, inv = unique_sorted(masks)
        conv = np.bincount(inv, j.conversions, minlength=len(sets))
        nulls = np.bincount(inv, j.nulls, minlength=len(sets))
        self.seed_ = _checks.seed_of(self.random_state)
        with one_blas_thread():
            self._build_game(sets, conv, nulls, k, j.names, j, inv)
        self.credit_mode_ = credit_mode(self.credit, self.value != "count")
        shares, base, bad, se = self._shares(sets, k)
        credit, vcredit, extra, credit_se = set_credit(j, inv, shares, base, bad, se)
        if self.credit_mode_ == "incremental":
            extra.setdefault("(baseline)", (0.0, 0.0))
        names = pd.Index(j.names.astype(str), name=j.level)
        self.credit_se_ = pd.Series(credit_se, index=names)
        diag = {"game": self.value, "credit": self.credit_mode_, "unique sets": len(sets),
                "sampled sets": int((bits_of(sets, k).sum(axis=1) > self.max_exact).sum()),
                **self._adjusted}
        if self.value == "rate" and self._unobserved[1]:
            share = self._unobserved[0] / self._unobserved[1]
            diag["unobserved coalitions"] = round(share, 4)
            if share > 0:
                warnings.warn(f"{share:.1%} of the coalitions the rate game needs were never "
                              "observed; their rate comes from the value model",
                              AttributionWarning, stacklevel=4)
        if self.ordered:
            self.position_credit_ = self._position_credit(j, shares[inv])
        return dict(conversions=credit, value=vcredit, extra=extra, diagnostics=diag)

    def _position_credit(self, j, journey_shares):
        jj, code = j.distinct()
        first_pos = np.full(len(jj), np.iinfo(np.int64).max)
        np.minimum.at(first_pos, j.touch_pair(), j.touch_position)
        order = np.lexsort((first_pos, jj))
        rank = np.empty(len(jj), dtype=np.int64)
        starts = np.searchsorted(jj[order], jj[order])
        rank[order] = np.arange(len(jj)) - starts
        credit = j.conversions[jj] * journey_shares[jj, code]
        table = pd.DataFrame({"entity": j.names[code].astype(str), "position": rank + 1,
                              "conversions": credit})
        return table.pivot_table(index="entity", columns="position", values="conversions",
                                 aggfunc="sum", fill_value=0.0)

    def _touch_weights(self, j):
        sets, inv = unique_sorted(journey_sets(j))
        shares = self._shares(sets, len(self.names_))
        self._transform_labels = (j, shares[2][inv])  # for _remainder_label of the same j
        return touch_weights_from_shares(j, shares[0][inv])

    def _remainder_label(self, j):
        def compute():
            sets, inv = unique_sorted(journey_sets(j))
            return self._shares(sets, len(self.names_))[2][inv]

        return labels_of(self, j, compute)
