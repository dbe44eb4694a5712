"""Shao & Li's (2011) simple probabilistic model: first- and second-order conversion rates."""

from __future__ import annotations

import numpy as np

from attribution.journeys.validation import ParameterError
from attribution.models._base import AttributionModel
from attribution.models._registry import register
from attribution.models._set_games import (
    journey_sets,
    set_credit,
    touch_weights_from_shares,
    unique_sorted,
)
from attribution.shapley import MAX_PLAYERS, bits_of


@register("shao_li")
class ShaoLiProbabilistic(AttributionModel):
    r"""Shao & Li's (2011) simple probabilistic model.

    With P(y|x_i) the conversion rate of journeys exposed to entity i and P(y|x_i, x_j) that
    of journeys exposed to both i and j, entity i of a converting journey with distinct set T
    gets

        C(x_i) = P(y|x_i) + 1 / (2 (|T| - 1)) sum_{j in T, j != i}
                 [P(y|x_i, x_j) - P(y|x_i) - P(y|x_j)]

    (the sum over the journey's other entities; C(x_i) = P(y|x_i) when |T| = 1). Scores are
    clipped at 0 and normalised within the journey so the journey's credit sums to c_j
    (equal split if all are 0); this normalisation is ours, Shao & Li report the raw C(x_i).
    Compared with other packages in docs/models.md.

    Parameters
    ----------
    level : {None, "touchpoint", "channel"}
    """

    def _shares(self, sets, k):
        member = bits_of(sets, k).astype(np.float64)
        p1, p2 = self.p1_, self.p2_
        t = member.sum(axis=1, keepdims=True)
        pair = member @ (p2 - p1[:, None] - p1[None, :]).T  # sum over j in T (incl. i)
        pair -= np.diag(p2 - 2 * p1)[None, :]  # remove the j = i term
        score = member * (p1[None, :] + np.where(t > 1, pair / (2 * np.maximum(t - 1, 1)), 0))
        score = np.maximum(score, 0.0)
        total = score.sum(axis=1, keepdims=True)
        return np.where(total > 0, score / np.where(total > 0, total, 1.0), member / t)

    def _fit(self, j):
        k = len(j.names)
        if k > MAX_PLAYERS:
            raise ParameterError(f"ShaoLiProbabilistic handles at most {MAX_PLAYERS} entities")
        sets, inv = unique_sorted(journey_sets(j))
        conv = np.bincount(inv, j.conversions, minlength=len(sets))
        tot = conv + np.bincount(inv, j.nulls, minlength=len(sets))
        member = bits_of(sets, k).astype(np.float64)
        both_c = member.T @ (member * conv[:, None])
        both_n = member.T @ (member * tot[:, None])
        self.p2_ = np.divide(both_c, both_n, out=np.zeros_like(both_c), where=both_n > 0)
        self.p1_ = np.diag(self.p2_).copy()
        shares = self._shares(sets, k)
        credit, vcredit, extra, _ = set_credit(j, inv, shares, np.zeros(len(sets)),
                                               np.zeros(len(sets), bool), np.zeros_like(shares))
        return dict(conversions=credit, value=vcredit, extra=extra)

    def _touch_weights(self, j):
        sets, inv = unique_sorted(journey_sets(j))
        return touch_weights_from_shares(j, self._shares(sets, len(self.names_))[inv])
