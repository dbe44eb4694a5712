"""Order selection of the Markov chain by cross-validated held-out log-loss."""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.models._markov_chain import state_paths


def split_counts(counts: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Split each row's count of individual journeys over folds at random: (n_folds, n).

    Whole journeys are split multinomially; a fractional remainder goes to one random fold.
    """
    whole = np.floor(counts).astype(np.int64)
    out = rng.multinomial(whole, np.full(n_folds, 1.0 / n_folds)).T.astype(np.float64)
    frac = counts - whole
    hit = rng.integers(0, n_folds, size=len(counts))
    out[hit, np.arange(len(counts))] += frac
    return out


def weighted_auc(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC AUC of scores carrying positive and negative weights (tied scores count half), as
    sklearn's roc_auc_score with sample weights, computed over the distinct scores only.

    NaN when one class has no weight.
    """
    values, inv = np.unique(score, return_inverse=True)
    tp = np.bincount(inv.ravel(), pos, minlength=len(values))[::-1].cumsum()  # high to low
    fp = np.bincount(inv.ravel(), neg, minlength=len(values))[::-1].cumsum()
    if not len(values) or tp[-1] <= 0 or fp[-1] <= 0:
        return float("nan")
    tp, fp = np.concatenate([[0.0], tp / tp[-1]]), np.concatenate([[0.0], fp / fp[-1]])
    return float(((fp[1:] - fp[:-1]) * (tp[1:] + tp[:-1])).sum() / 2)


def order_scores(src, max_order, n_folds, penalty, smoothing, random_state) -> pd.DataFrame:
    """Held-out log-loss and AUC of p(conversion | last state) for orders 1..max_order.

    p(conversion | journey) = P(s_m -> conversion) / (P(s_m -> conversion) + P(s_m -> null))
    is the share of the training journeys ending in state s_m that converted, smoothed toward
    the pooled training rate with ``smoothing`` pseudo-journeys. The score adds
    ``penalty * S * log(N) / (2 N)`` for S states and N journeys (BIC per observation), so a
    higher order must earn its states.
    """
    rng = np.random.default_rng(random_state)
    conv_f = split_counts(src.conversions, n_folds, rng)
    null_f = split_counts(src.nulls, n_folds, rng)
    n_total = float(src.conversions.sum() + src.nulls.sum())
    rows = []
    for order in range(1, max_order + 1):
        paths = state_paths(src, order)
        last = paths.last_state
        S = paths.n_states
        loss = 0.0
        preds, pos, neg = [], [], []  # per fold and state: the prediction and its weights
        for f in range(n_folds):
            c_tr = src.conversions - conv_f[f]
            n_tr = src.nulls - null_f[f]
            cs = np.bincount(last, c_tr, minlength=S)
            ns = np.bincount(last, n_tr, minlength=S)
            p0 = c_tr.sum() / max(c_tr.sum() + n_tr.sum(), 1e-300)
            p = (cs + smoothing * p0) / np.maximum(cs + ns + smoothing, 1e-300)
            ps = np.clip(p, 1e-12, 1 - 1e-12)
            preds.append(ps)
            pos.append(np.bincount(last, conv_f[f], minlength=S))  # held-out weight per state
            neg.append(np.bincount(last, null_f[f], minlength=S))
            loss -= float((pos[-1] * np.log(ps) + neg[-1] * np.log1p(-ps)).sum())
        auc = weighted_auc(np.concatenate(preds), np.concatenate(pos), np.concatenate(neg))
        logloss = loss / max(n_total, 1e-300)
        pen = penalty * S * np.log(max(n_total, 2.0)) / (2 * max(n_total, 1.0))
        rows.append(dict(order=order, states=S, log_loss=logloss, auc=auc, penalty=pen,
                         score=logloss + pen))
    table = pd.DataFrame(rows)
    table["selected"] = False
    table.loc[int(table["score"].idxmin()), "selected"] = True
    return table
