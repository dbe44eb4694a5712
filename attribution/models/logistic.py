"""Logistic attribution (Shao & Li 2011): bagged L2 logistic regression, credit by Shapley."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from attribution.journeys.validation import AttributionWarning, ParameterError
from attribution.models import _calibrate, _checks, _covariates, _links, _value_model
from attribution.models._bags import feature_patterns, fit_bag, pair_table
from attribution.models._base import AttributionModel
from attribution.models._links import CHOICES, glm_inference, one_class
from attribution.models._pair_screen import screen_pairs
from attribution.models._registry import register
from attribution.models._set_games import (
    check_credit_params,
    credit_mode,
    in_pieces,
    labels_of,
    one_blas_thread,
    set_credit,
    shares_from_phi,
    touch_weights_from_shares,
)
from attribution.models._value_model import (
    check_interactions,
    fit_value_model,
    pairs_of,
    warn_unidentified,
    with_pairs,
)
from attribution.shapley import MAX_PLAYERS, bits_of, shapley

FEATURES = ("exposure", "count", "log1p")


@register("logistic")
class Logistic(AttributionModel):
    r"""Logistic-regression attribution (Shao & Li, KDD 2011), credit by Shapley on p-hat.

    A binomial regression of conversion on journey features (exposure indicators, touch
    counts or log1p counts) is fitted on the table of unique feature patterns with
    conversions as positive and nulls as negative sample weights: identical to a fit on the
    individual journeys, far cheaper. ``link`` sets the value model's family
    (MODELS.md, Logistic): ``"logit"``, L2 logistic regression (Shao & Li);
    ``"noisy_or"``, p = 1 - (1 - b) prod_k (1 - theta_k)^{x_k} (independent causes);
    ``"identity"``, p = b + sum_k theta_k x_k clipped to [0, 1] (additive effects);
    ``"auto"`` (default) picks the one with the lowest 5-fold held-out log-loss (each
    pattern's journeys dealt evenly over the folds) and reports the scores in
    ``link_scores_``. ``interactions`` adds pairwise terms x_a x_b to the linear predictor
    of any link (synergy: the logit tier of the simulator has it): ``"auto"`` (default)
    those that pass a score test after the main-effects fit (:mod:`._pair_screen`;
    Bonferroni at a 5% family-wise level), True for every pair of entities that occur
    together in some journey, or a list of pairs of names; their coefficients are
    ``interactions_``, they are never players (the credit stays with the entities, through
    the game). ``C`` is the inverse L2 strength of every link, on the entity coefficients at
    the scale where the link is linear (log-odds; u = -log(1 - theta) for
    noisy-OR; theta for identity), never on the intercept. Bagging (Shao & Li):
    ``n_estimators`` fits on ``max_samples`` of the journeys and ``max_features`` of the
    entities each; an entity left out of a bag is missing for that bag, not zero, so
    ``coef_`` is the mean over the bags that saw it and ``coef_std_`` their spread (Shao &
    Li's "variability"). The link is chosen once, on all journeys, before the bags.

    Coefficients are not credit. Credit is the Shapley value of each journey's entities in
    the game v(S) = p-hat(x_S) (the journey's features restricted to S), through the shared
    Shapley kernel, with ``credit="incremental"`` (p-hat(empty) to ``(baseline)``) or
    ``"total"`` as in :class:`Shapley`; the default None is incremental, or total when only
    one outcome occurs (no model, no baseline); the mode used is ``credit_mode_``.
    ``estimator`` replaces the value model by any scikit-learn classifier with
    ``predict_proba`` (no link selection, no bagging, no inference). ``inference=True``
    adds a statsmodels GLM Binomial fit with frequency weights on the same pattern table
    (unpenalised maximum likelihood, links Logit, LogC = log(1 - p) for noisy-OR, Identity;
    noisy-OR and identity within their bounds, standard errors from the observed
    information there): ``inference_.summary()`` gives coefficients on the link's linear
    scale (log-odds; log(1 - b), log(1 - theta_k); b, theta_k), standard errors and
    intervals (other packages' logistic models: docs/models.md). Journey covariates
    (``adjust``; :mod:`._covariates`) enter the value model, never get credit: v(S)
    averages p-hat(x_S, z) over the observed cells z.

    Parameters
    ----------
    features : {"exposure", "count", "log1p"}
    C : float
        Inverse L2 penalty strength (scikit-learn convention), for every link.
    link : {"auto", "logit", "noisy_or", "identity"}
    interactions : "auto", bool or list of (str, str)
        Pairwise terms of the value model (default "auto": chosen by a score test).
    estimator : scikit-learn classifier, optional
        Fitted instead of the binomial model; ``link`` must then be ``"auto"``.
    n_estimators : int
    max_samples, max_features : float in (0, 1]
    inference : bool
    credit : {None, "incremental", "total"}
    max_exact, n_permutations : int
        Shapley kernel settings (see :class:`Shapley`).
    clip : bool
    n_jobs : int or None
        Bags fitted in parallel (joblib processes), the game evaluated in threads; results
        are bit-identical for any value (BLAS runs on one thread in every fit and game
        evaluation, and the game is evaluated in fixed pieces).
    random_state : int, numpy Generator or None
        Seeds the bags and the permutations of sampled Shapley values; None draws a seed at
        fit, kept in ``seed_`` so that ``transform`` reuses the same permutations. The folds
        of ``link="auto"`` are dealt, not drawn: the same for every ``random_state``.
    level : {None, "touchpoint", "channel"}
    adjust : {None, "regression", "ipw"}
        Confounding adjustment by the journeys' covariates; None: "regression" when they
        have covariates, none otherwise (docs/models.md, journey covariates).

    Attributes
    ----------
    credit_mode_ : {"incremental", "total"}
    link_ : str
        The link fitted ("logit", "noisy_or" or "identity"; None with ``estimator``).
    link_scores_ : pandas.DataFrame or None
        With ``link="auto"``: columns link, log_loss (held-out, per journey), selected.
    coef_, coef_std_, n_bags_seen_ : pandas.Series
        Mean and standard deviation of each entity's coefficient over the bags that drew it
        (log-odds for logit, theta for noisy-OR and identity), and how many did. An entity
        no bag drew has ``coef_`` NaN; it counts as 0 in the predictions (it gets no
        credit), with a warning.
    intercept_ : float
        The log-odds of no touch (logit) or the baseline b (noisy-OR, identity).
    interactions_ : pandas.DataFrame
        One row per pairwise term: first, second (entity names), coef, coef_std,
        n_bags_seen (empty without ``interactions``).
    estimator_ : fitted ``estimator`` or None
    seed_ : int
        The seed of the fit (``random_state`` when it is an integer).
    credit_se_ : pandas.Series
    inference_ : statsmodels result or None
    covariate_coef_ : pandas.Series or None
        Coefficients of the one-hot covariate columns (None without regression adjustment).
    covariate_design_ : pandas.DataFrame or None
        The covariate cells the game averages over: their columns and ``(weight)``.
    """

    accepts_experiments = True

    def __init__(self, features="exposure", C=1.0, link="auto", interactions="auto",
                 estimator=None,
                 n_estimators=1, max_samples=1.0, max_features=1.0, inference=False,
                 credit=None, max_exact=12, n_permutations=200, clip=False, n_jobs=None,
                 random_state=None, level=None, adjust=None):
        self.adjust = adjust
        self.features = features
        self.C = C
        self.link = link
        self.interactions = interactions
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.inference = inference
        self.credit = credit
        self.max_exact = max_exact
        self.n_permutations = n_permutations
        self.clip = clip
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.level = level

    def _check_params(self):
        super()._check_params()
        _checks.choice("features", self.features, FEATURES)
        _checks.choice("link", self.link, CHOICES)
        check_credit_params(self)
        _checks.integer("n_estimators", self.n_estimators, 1)
        for name in ("max_samples", "max_features"):
            _checks.real(name, getattr(self, name), 0, 1, low_open=True)
        _checks.real("C", self.C, 0, low_open=True)
        _checks.boolean("inference", self.inference)
        check_interactions(self.interactions, auto=True)
        _covariates.check_adjust(self.adjust)
        if self.estimator is None:
            return
        if not hasattr(self.estimator, "predict_proba"):
            raise ParameterError("estimator must be a scikit-learn classifier with "
                                 f"predict_proba, got {_checks.shown(self.estimator)}")
        clash = [f"{name}={getattr(self, name)!r}" for name, default in (
            ("link", "auto"), ("interactions", "auto"), ("n_estimators", 1),
            ("max_samples", 1.0), ("max_features", 1.0), ("inference", False))
            if getattr(self, name) != default]
        if clash:
            raise ParameterError(f"estimator replaces the binomial model: {', '.join(clash)} "
                                 "cannot be used with it (the link is not selected, nothing "
                                 "is bagged or tested)")

    def _predict(self, x):
        """p-hat of player features ``x``, standardised over the covariate cells, if any."""
        return _covariates.standardised(self._predict_full, x,
                                        getattr(self, "covariate_design_", None))

    def _predict_full(self, x):
        est = getattr(self, "estimator_", None)
        if est is not None:
            return est.predict_proba(x)[:, 1] if len(x) else np.zeros(0)
        # row sums, not a matrix product: each row's bits do not depend on the other rows
        # or on BLAS threads
        pairs, pair_coef = self._pairs()
        cov = getattr(self, "covariate_coef_", None)
        cov = np.zeros(0) if cov is None else cov.to_numpy()
        return _links.probability(getattr(self, "link_", "logit"), self.intercept_,
                                  np.concatenate([self.coef_.to_numpy(), cov, pair_coef]),
                                  with_pairs(x, pairs))

    def _pairs(self):
        """Column pairs and coefficients of the pairwise terms (from ``interactions_``)."""
        table = getattr(self, "interactions_", None)
        if table is None or not len(table):
            return np.zeros((0, 2), np.int64), np.zeros(0)
        names = self.coef_.index
        pairs = np.column_stack([names.get_indexer(table["first"].astype(str)),
                                 names.get_indexer(table["second"].astype(str))])
        return pairs, np.nan_to_num(table["coef"].to_numpy(np.float64))

    def _game(self, x, masks, k):
        """Value function: v(S) = p-hat(features restricted to S). With exposure features the
        game is the same for every journey; with counts each pattern plays its own game,
        told apart by tag bits above the k player bits.
        """
        if self.features == "exposure":
            return (lambda coalitions: self._predict(bits_of(coalitions, k).astype(np.float64)),
                    None)
        tags = np.arange(len(masks), dtype=np.uint64) << np.uint64(k)
        low = np.uint64((1 << k) - 1)

        def v(coalitions):
            pattern = (coalitions >> np.uint64(k)).astype(np.int64)
            member = bits_of(coalitions & low, k)
            return self._predict(x[pattern] * member)

        return v, tags

    def _shares(self, x, masks, k):
        if self.features != "exposure" and k + int(np.ceil(np.log2(max(len(masks), 2)))) > \
                MAX_PLAYERS:
            raise ParameterError(f"too many entities ({k}) and feature patterns "
                                 f"({len(masks)}) for the Shapley kernel; fit at channel level")
        v, tags = self._game(x, masks, k)
        # the seed drawn at fit: transform redraws the permutations fit used
        rng = np.random.default_rng(getattr(self, "seed_", self.random_state))
        with one_blas_thread():
            phi, se, v_set, v_empty = shapley(masks, in_pieces(v, self.n_jobs), k,
                                              self.max_exact, self.n_permutations, rng,
                                              tags=tags)
        mode = getattr(self, "credit_mode_", None) or credit_mode(self.credit)
        return shares_from_phi(phi, se, v_set, v_empty, mode, self.clip)

    def _fit(self, j):
        k = len(j.names)
        if k > MAX_PLAYERS:
            raise ParameterError(f"Logistic handles at most {MAX_PLAYERS} {j.level}s; fit at "
                                 "channel level (level='channel')")
        x, masks, inv = feature_patterns(j, self.features)
        xz, conv, nulls, cov_names, self.covariate_design_, adjusted = _covariates.fit_table(
            j, x, inv, self.adjust)  # xz: x, or the (pattern, covariate cell) rows
        self.seed_ = _checks.seed_of(self.random_state)
        names = pd.Index(j.names.astype(str), name=j.level)
        warn_unidentified(xz, conv, nulls, names, stacklevel=5)
        self.link_, self.link_scores_, self.estimator_ = None, None, None
        design = names.append(pd.Index(cov_names))  # entities, then covariate columns
        if self.estimator is not None:
            pairs = np.zeros((0, 2), np.int64)
            self._fit_estimator(xz, conv, nulls, design)
        else:
            pairs = self._fit_bags(xz, x, conv, nulls, design, j.level)
        self.experiments_ = None
        if self._experiments_in is not None:
            self._calibrate(j, xz, None if len(cov_names) else inv, pairs, conv, nulls)
        terms = [*design, *(f"{names[a]}:{names[b]}" for a, b in pairs)]
        self.inference_ = (glm_inference(self.link_, with_pairs(xz, pairs), conv, nulls, terms)
                           if self.inference else None)
        self.coef_, self.covariate_coef_ = _covariates.split(self.coef_, k)
        self.coef_std_, self.n_bags_seen_ = (_covariates.split(self.coef_std_, k)[0],
                                             _covariates.split(self.n_bags_seen_, k)[0])
        self.credit_mode_ = credit_mode(self.credit, not one_class(conv, nulls))
        shares, base, bad, se = self._shares(x, masks, k)
        credit, vcredit, extra, credit_se = set_credit(j, inv, shares, base, bad, se)
        self.credit_se_ = pd.Series(credit_se, index=names)
        diag = {"features": self.features, "patterns": len(masks), "bags": self.n_estimators,
                "credit": self.credit_mode_, "link": self.link_ or "estimator", **adjusted}
        return dict(conversions=credit, value=vcredit, extra=extra, diagnostics=diag)

    def _calibrate(self, j, x, inv, pairs, conv, nulls):
        """Refit the value model with the lift tests as a penalty (:mod:`._calibrate`)."""
        exps = self._experiments_in
        if self.estimator is not None or (self.n_estimators, self.max_samples,
                                          self.max_features) != (1, 1, 1):
            raise ParameterError("experiments calibrate the binomial model fitted on all "
                                 "journeys: use them without estimator and without bagging")
        weights = _calibrate.row_weights(exps, j, inv, len(x), conv + nulls)
        coef = np.concatenate([self.coef_.to_numpy(), self.interactions_["coef"].to_numpy()])
        with one_blas_thread():  # the same bits in a bootstrap worker and here
            b, coef, self.experiments_ = _calibrate.calibrate(
                self.link_, self.intercept_, coef, x, pairs, _calibrate.columns_of(exps, j),
                weights, exps, conv, nulls, self.C)
        self.intercept_, self.coef_[:] = b, coef[:len(self.coef_)]
        self.interactions_["coef"] = coef[len(self.coef_):]

    def _one_outcome(self):
        warnings.warn("the journeys have only one outcome (all convert or none): the "
                      "logistic model cannot be fitted and all credit is 0",
                      AttributionWarning, stacklevel=5)

    def _fit_estimator(self, x, conv, nulls, names):
        with one_blas_thread():
            self.estimator_ = fit_value_model(clone(self.estimator), x, conv, nulls)
        est = self.estimator_
        linear = est is not None and np.shape(getattr(est, "coef_", None)) in (
            (len(names),), (1, len(names)))
        coef = np.ravel(est.coef_) if linear else np.full(len(names), np.nan)
        self.coef_ = pd.Series(coef.astype(np.float64), index=names)
        self.coef_std_ = pd.Series(np.zeros(len(names)), index=names)
        self.n_bags_seen_ = pd.Series(np.ones(len(names), dtype=np.int64), index=names)
        self.intercept_ = float(np.ravel(est.intercept_)[0]) if linear else 0.0
        self.interactions_ = pair_table(np.zeros((0, 2), np.int64), np.zeros((1, 0)), names)
        if est is None:
            self._one_outcome()
            self.link_, self.intercept_ = "logit", 0.0
            self.coef_[:] = 0.0

    def _link_and_pairs(self, xz, x, conv, nulls, names):
        """(link, pairs, the screen's fit or None); ``"auto"`` link: chosen before the screen."""
        auto = isinstance(self.interactions, str)
        pairs = pairs_of(False if auto else self.interactions, x, names)
        link = "logit" if self.link == "auto" else self.link
        if self.link == "auto" and not one_class(conv, nulls):
            with one_blas_thread():
                # folds dealt, not drawn: refits from seed_ agree with the fit
                self.link_scores_ = _value_model.link_scores(with_pairs(xz, pairs), conv,
                                                             nulls, self.C, 0)
            link = _value_model.chosen(self.link_scores_)
        if not auto or one_class(conv, nulls):
            return link, pairs, None
        with one_blas_thread():
            pairs, fitted = screen_pairs(link, xz, conv, nulls, self.C, len(names))
        return link, pairs, fitted

    def _fit_bags(self, xz, x, conv, nulls, names, level):
        """Choose link and pairs, fit the bags on the design with the pair columns; the pairs."""
        link, pairs, fitted = self._link_and_pairs(xz, x, conv, nulls, names[:x.shape[1]])
        x = with_pairs(xz, pairs)
        self.link_ = link
        full = self.n_estimators == 1 and self.max_samples == 1 and self.max_features == 1
        seeds = np.random.SeedSequence(self.seed_).spawn(self.n_estimators)
        args = (x, pairs, conv, nulls, link, self.C, self.max_samples, self.max_features)
        if full and fitted is not None:  # the screen's last fit is this one
            bags = [(fitted[1], fitted[0])]
        elif self.n_estimators == 1:  # one fit: no worker to start
            bags = [fit_bag(*args, seeds[0], full)]
        else:
            bags = Parallel(n_jobs=self.n_jobs)(delayed(fit_bag)(*args, s, full) for s in seeds)
        coefs = np.array([b[0] for b in bags])
        self.interactions_ = pair_table(pairs, coefs[:, len(names):], names)
        coefs = coefs[:, :len(names)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: never selected
            self.coef_ = pd.Series(np.nanmean(coefs, axis=0), index=names)
            self.coef_std_ = pd.Series(np.nanstd(coefs, axis=0), index=names)
        intercepts = np.array([b[1] for b in bags])
        fitted = np.isfinite(intercepts)
        self.intercept_ = float(intercepts[fitted].mean()) if fitted.any() else np.nan
        self.n_bags_seen_ = pd.Series((~np.isnan(coefs)).sum(axis=0), index=names)
        if not np.isfinite(self.intercept_):
            self._one_outcome()
            self.intercept_ = 0.0
            self.coef_[:] = 0.0
            self.interactions_["coef"] = 0.0
        never = self.n_bags_seen_.index[self.n_bags_seen_.to_numpy() == 0]
        if len(never) and fitted.any():  # (no bag fitted at all: warned above)
            warnings.warn(f"{len(never)} {level}(s) were drawn by no bag "
                          f"(max_features={self.max_features}, n_estimators="
                          f"{self.n_estimators}): {_checks.names_list(never)}; their coefficient "
                          "is unknown (coef_ NaN), counts as 0 and they get no credit",
                          AttributionWarning, stacklevel=5)
        return pairs

    def summary(self):
        """The statsmodels summary of the GLM (needs ``inference=True``)."""
        if getattr(self, "inference_", None) is None:
            raise ParameterError("fit with inference=True for a statsmodels summary")
        return self.inference_.summary()

    def _touch_weights(self, j):
        x, masks, inv = feature_patterns(j, self.features)
        shares = self._shares(x, masks, len(self.names_))
        self._transform_labels = (j, shares[2][inv])  # for _remainder_label of the same j
        return touch_weights_from_shares(j, shares[0][inv])

    def _remainder_label(self, j):
        def compute():
            x, masks, inv = feature_patterns(j, self.features)
            return self._shares(x, masks, len(self.names_))[2][inv]

        return labels_of(self, j, compute)
