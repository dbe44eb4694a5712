"""Markov-chain attribution by removal effects (Anderl et al. 2016), solved exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from attribution.journeys.validation import AttributionWarning, ParameterError
from attribution.models._base import AttributionModel, pair_weights
from attribution.models._ipf import balance
from attribution.models._markov_chain import ChainDesign, build_chain, removal_effects, state_paths
from attribution.models._registry import register


@register("markov")
class MarkovChain(AttributionModel):
    r"""Markov-chain removal-effect attribution of any order, solved exactly.

    States are (start), (conversion), (null) and windows of the last ``order`` touches: a path
    c_1..c_L (consecutive repeats collapsed first when ``collapse_repeats``) is one state
    (c_1..c_L) if L <= order, else the windows (c_{t-k+1}..c_t), t = k..L; consecutive equal
    states merge. Journey j adds c_j + n_j along start -> s_1 -> ... -> s_m, c_j into
    (conversion) and n_j into (null); transition probabilities are row-normalised weights.

    P(C), the probability of absorption into (conversion) from (start), solves
    (I - Q) x = r (dense LU up to 800 states; above, a sparse Krylov solve whose residual is
    checked to 1e-12, as sparse LU fills in catastrophically on these graphs; never
    simulated). ``solve_residual_`` reports the largest residual relative to the right-hand
    side. Removing entity i sends every state containing i to (null):
    RE_i = 1 - P_{-i}(C) / P(C), and credit_i = C RE_i / sum_l RE_l, so credit sums to the
    total conversions C. Value uses r_v(s) = value converting from s / weight leaving s in the
    same solve: value credit_i = V REv_i / sum_l REv_l. The sum of RE exceeds 1 when journeys
    mix entities; it is reported as a diagnostic. Reference: Anderl, Becker, von Wangenheim &
    Schumann, IJRM 2016.

    Per-journey credit (``transform``) starts from a_ji = c_j RE_i / sum_{l in D_j} RE_l and
    is balanced by iterative proportional fitting so that journeys sum to their conversions and
    entities to their credit; a touch gets its entity's journey credit split over its touches.

    ChannelAttribution collapses repeats at order 1 only; pass ``collapse_repeats=False`` to
    match it at higher orders.

    Parameters
    ----------
    order : int or "auto"
        Markov order k >= 1, or "auto": the order in 1..``max_order`` with the best
        cross-validated held-out log-loss of p(conversion | journey) =
        P(s_m -> conversion) / (P(s_m -> conversion) + P(s_m -> null)), plus
        ``penalty`` * S log(N) / (2N) for S states (BIC per observation), see ``order_scores_``.
    max_order : int
        Highest order tried by "auto".
    collapse_repeats : bool
        Merge consecutive repeats of an entity before building states.
    n_folds : int
        Folds of the order cross-validation (journeys are split as individual journeys, also
        inside aggregated rows).
    penalty : float
        Weight of the state-count penalty of "auto"; 0 picks by held-out log-loss alone.
    smoothing : float
        Beta smoothing of the held-out predictions toward the pooled rate (pseudo-journeys).
    ipf_tol, ipf_max_iter : float, int
        Convergence of the per-journey balancing in ``transform``.
    random_state : int or None
        Seed of the fold split of "auto".
    level : {None, "touchpoint", "channel"}
        Fit at this level (default: the level of the journeys).

    Attributes
    ----------
    order_ : int
    removal_effects_ : pandas.DataFrame
        Raw removal effects per entity (columns ``conversion`` and ``value``).
    removal_effects_sum_ : float
    conversion_probability_ : float
        P(C) of the fitted chain.
    transition_matrix_ : pandas.DataFrame
        Tidy: ``from``, ``to``, ``count`` (weight) and ``probability``.
    n_states_ : int
    order_scores_ : pandas.DataFrame or None
        Cross-validation table of ``order="auto"``.
    """

    def __init__(self, order=1, max_order=4, collapse_repeats=True, n_folds=5, penalty=1.0,
                 smoothing=1.0, ipf_tol=1e-10, ipf_max_iter=1000, random_state=None,
                 level=None):
        self.order = order
        self.max_order = max_order
        self.collapse_repeats = collapse_repeats
        self.n_folds = n_folds
        self.penalty = penalty
        self.smoothing = smoothing
        self.ipf_tol = ipf_tol
        self.ipf_max_iter = ipf_max_iter
        self.random_state = random_state
        self.level = level

    def _check_params(self):
        super()._check_params()
        ok_order = self.order == "auto" or (isinstance(self.order, (int, np.integer))
                                            and not isinstance(self.order, bool)
                                            and self.order >= 1)
        if not ok_order:
            raise ParameterError(f"order must be an integer >= 1 or 'auto', got {self.order!r}")
        if not (isinstance(self.max_order, (int, np.integer)) and self.max_order >= 1):
            raise ParameterError(f"max_order must be an integer >= 1, got {self.max_order!r}")
        if not (isinstance(self.n_folds, (int, np.integer)) and self.n_folds >= 2):
            raise ParameterError(f"n_folds must be an integer >= 2, got {self.n_folds!r}")
        if not (self.penalty >= 0 and self.smoothing >= 0):
            raise ParameterError("penalty and smoothing must be >= 0")

    def _source(self, j):
        """The journeys the chain is built from: aggregated when that is free, collapsed."""
        src = j.aggregate() if j.path_groups is not None else j
        return src.transform("collapse") if self.collapse_repeats else src

    def _fit(self, j):
        from attribution.models._markov_order import order_scores

        src = self._source(j)
        self.order_scores_ = None
        order = self.order
        if order == "auto":
            self.order_scores_ = order_scores(src, self.max_order, self.n_folds, self.penalty,
                                              self.smoothing, self.random_state)
            order = int(self.order_scores_.loc[self.order_scores_["selected"], "order"].iloc[0])
        self.order_ = int(order)
        paths = state_paths(src, self.order_)
        chain = build_chain(paths, src.conversions, src.nulls, src.value)
        k = len(j.names)
        base, re, rev, residual = removal_effects(paths, chain, k)
        C, V = float(j.conversions.sum()), float(j.value.sum())
        if base[0] <= 0:
            warnings.warn("no conversions in these journeys: every removal effect and all "
                          "credit are 0", AttributionWarning, stacklevel=4)
        self.conversion_probability_ = float(base[0])
        self.expected_value_ = float(base[1])
        names = pd.Index(j.names.astype(str), name=j.level)
        self.removal_effects_ = pd.DataFrame({"conversion": re, "value": rev}, index=names)
        self.removal_effects_sum_ = float(re.sum())
        self.n_states_ = paths.n_states
        self.transition_matrix_ = _tidy_transitions(paths, chain, j.names)
        credit = C * re / re.sum() if re.sum() > 0 else np.zeros(k)
        vcredit = V * rev / rev.sum() if rev.sum() > 0 else np.zeros(k)
        self.solve_residual_ = residual
        diag = {"order": self.order_, "states": self.n_states_,
                "P(conversion)": round(self.conversion_probability_, 6),
                "sum of removal effects": round(self.removal_effects_sum_, 6),
                "largest solve residual": f"{residual:.1e}"}
        return dict(conversions=credit, value=vcredit, diagnostics=diag)

    def replicate_fitter(self, base):
        """Bootstrap replicates: states built once at the fitted order, chain re-solved."""
        src = base.transform("collapse") if self.collapse_repeats else base
        paths = state_paths(src, self.order_)
        design = ChainDesign(paths)
        k = len(base.names)

        def refit(c, u, v):
            chain = design.chain(c, u, v)
            _, re, rev, _ = removal_effects(paths, chain, k)
            conv = c.sum() * re / re.sum() if re.sum() > 0 else np.zeros(k)
            val = v.sum() * rev / rev.sum() if rev.sum() > 0 else np.zeros(k)
            return dict(conversions=conv, value=val)

        return refit

    def _prepare_scoring(self, journeys):
        """Balance per-journey credit once on ``journeys`` (all the data, e.g. the merged
        statistic of a batch job) and keep each entity's balancing factor in
        ``balance_factors_``: ``transform`` then gives every journey the credit it has in
        that global balance, whichever chunk or partition it is scored in.
        """
        j = journeys.at_level(self.level_)
        re = self.removal_effects_.to_numpy()
        jj, code = j.distinct()
        factors = []
        for col, target in ((0, j.conversions), (1, j.value)):
            _, _, _, s = self._balance(jj, code, re[:, col], target, len(j.names))
            factors.append(pd.Series(s, index=j.names.astype(str)))
        names = self.removal_effects_.index
        self.balance_factors_ = pd.DataFrame(
            {"conversion": factors[0].reindex(names).fillna(0.0).to_numpy(),
             "value": factors[1].reindex(names).fillna(0.0).to_numpy()}, index=names)
        return self

    def _touch_weights(self, j):
        re = self.removal_effects_.to_numpy()
        k = len(j.names)
        jj, code = j.distinct()
        weights, info = [], {}
        fixed = getattr(self, "balance_factors_", None)
        for col, target in ((0, j.conversions), (1, j.value)):
            if fixed is not None:  # the global balance of _prepare_scoring
                f = fixed.iloc[:, col].reindex(j.names.astype(str)).fillna(0.0).to_numpy()
                a = self._shares(jj, code, re[:, col] * f, target)
                it, res = 0, float("nan")
            else:
                a, it, res = self._balance(jj, code, re[:, col], target, k)[:3]
            weights.append(pair_weights(j, a, target))
            info[("conversions", "value")[col]] = dict(iterations=it, residual=res)
        self._transform_info = {"balance": info}
        return weights[0], weights[1]

    @staticmethod
    def _shares(jj, code, score, row_targets):
        """Journey x entity credit proportional to ``score`` within each journey (equal
        shares where a journey's scores are all 0).
        """
        rt = row_targets[jj]
        denom = np.bincount(jj, score[code], minlength=len(row_targets))[jj]
        n_distinct = np.bincount(jj, minlength=len(row_targets))[jj]
        return np.where(denom > 0, rt * score[code] / np.where(denom > 0, denom, 1.0),
                        rt / n_distinct)

    def _balance(self, jj, code, re, row_targets, k):
        """Journey x entity credit: removal-effect shares, balanced to the entity totals."""
        init = self._shares(jj, code, re, row_targets)
        rt = row_targets[jj]
        present = np.zeros(k, dtype=bool)
        present[code[rt > 0]] = True
        total_re = re[present].sum()
        if total_re <= 0:
            return init, 0, 0.0, np.ones(k)
        col_targets = np.where(present, row_targets.sum() * re / total_re, 0.0)
        return balance(jj, code, init, row_targets, col_targets, self.ipf_tol,
                       self.ipf_max_iter)

    # -- plots ---------------------------------------------------------------------------
    def plot_removal_effects(self, ax=None):
        """Bar chart of the raw removal effects; returns the Axes."""
        from attribution.plotting import plot_removal_effects

        return plot_removal_effects(self, ax=ax)

    def plot_transitions(self, ax=None, top=25):
        """Heatmap of transition probabilities between the ``top`` busiest states."""
        from attribution.plotting import plot_transitions

        return plot_transitions(self, ax=ax, top=top)


def _tidy_transitions(paths, chain, entity_names) -> pd.DataFrame:
    counts = chain.counts.tocoo()
    names = np.concatenate([["(start)"], paths.names(entity_names), ["(conversion)", "(null)"]])
    out = np.asarray(chain.counts.sum(axis=1)).ravel()
    order = np.lexsort((counts.col, counts.row))
    r, c, w = counts.row[order], counts.col[order], counts.data[order]
    return pd.DataFrame({"from": names[r], "to": names[c], "count": w,
                         "probability": w / out[r]})
