"""Markov-chain attribution by removal effects (Anderl et al. 2016), solved exactly."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from attribution.journeys.paths import group_identical_paths
from attribution.journeys.validation import AttributionWarning, ParameterError
from attribution.models import _checks
from attribution.models._allocate import pair_weights
from attribution.models._base import AttributionModel
from attribution.models._ipf import balance_feasible
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
    is balanced (the biproportional fit IPF converges to) so that journeys sum to their
    conversions and entities to ``credit_``, fixed at fit on the fitted journeys. Where no
    split of the journeys can meet ``credit_`` (an entity met only in non-converting journeys,
    single-touch journeys that convert more than their entity's credit), the part that cannot
    be placed is found exactly (a max-flow density decomposition, ``_ipf.py``), goes to
    ``(unallocated)`` rows (one per journey concerned, position -1), per entity in
    ``unallocated_``, with a warning; the rest is balanced exactly. A touch gets its entity's
    journey credit split over its touches.

    ChannelAttribution collapses repeats at order 1 only; pass ``collapse_repeats=False`` to
    match it at higher orders. Other packages' Markov models compared: docs/models.md.

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
        Convergence of the per-journey balancing (largest entity error relative to the total
        conversions or value; Newton steps), run at fit.
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
    unallocated_ : pandas.DataFrame
        Per entity, the conversion and value credit of ``credit_`` that no split of the
        fitted journeys can put on touches (0 where the balance is feasible): ``transform``
        of the fitted journeys gives each entity ``credit_ - unallocated_`` on its touches,
        and the total on ``(unallocated)`` rows.
    balance_factors_, balance_blocks_, balance_report_ : pandas.DataFrame
        The per-journey balance fixed at fit: each entity's factor, its block of the density
        decomposition (with the fraction of the block's journeys' credit placed and of its
        entities' credit met), and the Newton steps, residual (over all entities, relative to
        the total) and unallocated total for conversions and value.
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
        if not (isinstance(self.order, str) and self.order == "auto"):
            try:
                _checks.integer("order", self.order, 1)
            except ParameterError:
                raise ParameterError("order must be an integer >= 1 or 'auto', got "
                                     f"{_checks.shown(self.order)}") from None
        _checks.integer("max_order", self.max_order, 1)
        _checks.integer("n_folds", self.n_folds, 2)
        _checks.boolean("collapse_repeats", self.collapse_repeats)
        _checks.real("penalty", self.penalty, 0)
        _checks.real("smoothing", self.smoothing, 0)
        _checks.real("ipf_tol", self.ipf_tol, 0, low_open=True)
        _checks.integer("ipf_max_iter", self.ipf_max_iter, 1)
        _checks.random_state(self.random_state)

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
        diag.update(self._fit_balance(src))
        return dict(conversions=credit, value=vcredit, diagnostics=diag)

    def replicate_fitter(self, base):
        """Bootstrap replicates: states built once at the fitted order, chain re-solved."""
        src = base.transform("collapse") if self.collapse_repeats else base
        paths = state_paths(src, self.order_)
        design = ChainDesign(paths)
        k = len(base.names)

        def refit(c, u, v):
            chain = design.chain(c, u, v)
            _, re, rev, _ = removal_effects(paths, chain, k, progress=False)
            conv = c.sum() * re / re.sum() if re.sum() > 0 else np.zeros(k)
            val = v.sum() * rev / rev.sum() if rev.sum() > 0 else np.zeros(k)
            return dict(conversions=conv, value=val)

        return refit

    def _fit_balance(self, src) -> dict:
        """Balance per-journey credit on ``src`` toward the removal-effect credit of its
        conversions and value (``C RE_i / sum RE``), as far as it can be met (``_ipf.py``);
        keep what ``transform`` needs per entity. Returns summary lines.
        """
        re = self.removal_effects_.to_numpy()
        names = self.removal_effects_.index
        jj, code = src.distinct()
        factors, blocks, lost, report, lines = {}, {}, {}, {}, {}
        for col, amount in enumerate((src.conversions, src.value)):
            label = ("conversion", "value")[col]
            total, rsum = float(amount.sum()), float(re[:, col].sum())
            target = total * re[:, col] / rsum if rsum > 0 else np.zeros(len(names))
            score = _pair_scores(jj, code, re[:, col], src.n_journeys)
            pick = (amount[jj] > 0) & (score > 0)
            rows, first, group_amount = _support_groups(jj[pick], code[pick], amount)
            out = balance_feasible(rows, code[pick][first], score[pick][first], group_amount,
                                   target, self.ipf_tol, self.ipf_max_iter)
            factors[label] = out["factors"]
            blocks[f"{label}_block"] = out["col_block"]
            blocks[f"{label}_journey_fill"] = out["row_fill"][out["col_block"]]
            blocks[f"{label}_entity_fill"] = out["col_fill"][out["col_block"]]
            lost[label] = target * (1.0 - out["col_fill"][out["col_block"]])
            unallocated = float(lost[label].sum())
            report[label] = (out["iterations"], out["residual"], unallocated)
            lines[f"per-touch balance ({label})"] = (
                f"{out['iterations']} steps, residual {out['residual']:.1e}")
            if unallocated > 0:
                lines[f"unallocated per touch ({label})"] = (
                    f"{unallocated:,.6g} ({unallocated / max(total, 1e-300):.2%})")
        self.balance_factors_ = pd.DataFrame(factors, index=names)
        self.balance_blocks_ = pd.DataFrame(blocks, index=names)
        self.unallocated_ = pd.DataFrame(lost, index=names)
        self.balance_report_ = pd.DataFrame(report, index=["iterations", "residual",
                                                           "unallocated"]).T
        return lines

    def _warn_balance(self, lost: float):
        """Warn (from ``transform``, in words that are the same for every chunk) when its
        output has unallocated rows, or the balance fixed at fit did not converge.
        """
        rep = self.balance_report_
        if lost > 0:
            top = self.unallocated_.sum(axis=1).sort_values(ascending=False, kind="stable")
            top = ", ".join(str(k) for k in top[top > 0].index[:3])
            warnings.warn(
                "no split of the fitted journeys meets credit_: "
                f"{rep.loc['conversion', 'unallocated']:.6g} of "
                f"{self.result_.total_conversions:.6g} conversions and "
                f"{rep.loc['value', 'unallocated']:.6g} of {self.result_.total_value:.6g} "
                f"value cannot be put on touches (most owed to {top}; unallocated_); they are "
                "on (unallocated) rows (docs/models.md)", AttributionWarning, stacklevel=5)
        if (rep["residual"] > self.ipf_tol).any():
            warnings.warn(
                f"the per-journey balance stopped after {int(rep['iterations'].max())} steps "
                f"with an entity error of {rep['residual'].max():.1e} of the total "
                f"(ipf_tol={self.ipf_tol}): per-touch credit misses credit_ by that much",
                AttributionWarning, stacklevel=5)

    def _touch_weights(self, j):
        re = self.removal_effects_.to_numpy()
        jj, code = j.distinct()
        weights, info = [], {}
        for col, target in ((0, j.conversions), (1, j.value)):
            label = ("conversion", "value")[col]
            credit, lost = self._pair_credit(jj, code, j.n_journeys, re[:, col], target, label)
            weights.append(pair_weights(j, credit, target))
            it, res, _ = self.balance_report_.loc[label]
            info[("conversions", "value")[col]] = dict(iterations=int(it), residual=float(res),
                                                       unallocated=lost)
        self._transform_info = {"balance": info}
        self._warn_balance(info["conversions"]["unallocated"] + info["value"]["unallocated"])
        return weights[0], weights[1]

    def _pair_credit(self, jj, code, n, re, target, label):
        """Credit of each distinct (journey, entity) pair in the balance fixed at fit: a
        journey's block is the last (least dense) block among its entities; it keeps its
        block's fraction of its conversions (the rest is unallocated), split over its
        entities in that block in proportion to RE x factor. Returns the pairs' credit and
        the total left unallocated.
        """
        score = _pair_scores(jj, code, re, n)
        block = np.where(score > 0, self.balance_blocks_[f"{label}_block"].to_numpy()[code], -1)
        own = np.maximum.reduceat(block, np.searchsorted(jj, np.arange(n)))[jj]  # >= 1 pair
        active = (block >= 0) & (block == own)
        w = np.where(active, score * self.balance_factors_[label].to_numpy()[code], 0.0)
        den = np.bincount(jj, w, minlength=n)[jj]
        fill = np.zeros(n)
        fill[jj[active]] = self.balance_blocks_[f"{label}_journey_fill"].to_numpy()[code[active]]
        credit = np.divide(target[jj] * fill[jj] * w, den, out=np.zeros(len(w)), where=den > 0)
        return credit, float(target @ (1.0 - fill))

    def _remainder_label(self, j):
        """The part of a journey's credit the balance cannot place is ``(unallocated)``."""
        return np.full(j.n_journeys, "(unallocated)", dtype=object)

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


def _pair_scores(jj, code, re, n):
    """Initial weight of each distinct (journey, entity) pair: the entity's removal effect,
    or 1 for every entity of a journey whose removal effects are all 0 (an equal split).
    """
    score = re[code]
    has = np.bincount(jj, score, minlength=n) > 0
    return np.where(has[jj], score, 1.0)


def _support_groups(jj, code, amount):
    """Journeys (of the pairs ``jj``, ``code``, sorted by journey) grouped by their set of
    entities: ``(rows, first, group_amount)`` where ``first`` marks the pairs of each group's
    first journey, ``rows`` their group and ``group_amount`` the groups' summed amounts.
    """
    new = np.r_[True, jj[1:] != jj[:-1]] if len(jj) else np.zeros(0, dtype=bool)
    sel, loc = jj[new], np.cumsum(new) - 1
    offsets = np.zeros(len(sel) + 1, dtype=np.int64)
    np.cumsum(np.bincount(loc, minlength=len(sel)), out=offsets[1:])
    group, firsts = group_identical_paths(offsets, code)
    is_first = np.zeros(len(sel), dtype=bool)
    is_first[firsts] = True
    first = is_first[loc]
    return group[loc[first]], first, np.bincount(group, amount[sel], minlength=len(firsts))
