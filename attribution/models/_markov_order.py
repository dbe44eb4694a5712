"""Order selection of the Markov chain by cross-validated held-out log-loss."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

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
        preds, ys, ws = [], [], []
        for f in range(n_folds):
            c_tr = src.conversions - conv_f[f]
            n_tr = src.nulls - null_f[f]
            cs = np.bincount(last, c_tr, minlength=S)
            ns = np.bincount(last, n_tr, minlength=S)
            p0 = c_tr.sum() / max(c_tr.sum() + n_tr.sum(), 1e-300)
            p = (cs + smoothing * p0) / np.maximum(cs + ns + smoothing, 1e-300)
            pj = np.clip(p[last], 1e-12, 1 - 1e-12)
            loss -= float((conv_f[f] * np.log(pj) + null_f[f] * np.log1p(-pj)).sum())
            preds += [pj, pj]
            ys += [np.ones(len(pj)), np.zeros(len(pj))]
            ws += [conv_f[f], null_f[f]]
        y, w = np.concatenate(ys), np.concatenate(ws)
        keep = w > 0
        try:
            auc = roc_auc_score(y[keep], np.concatenate(preds)[keep], sample_weight=w[keep])
        except ValueError:  # one class only
            auc = float("nan")
        logloss = loss / max(n_total, 1e-300)
        pen = penalty * S * np.log(max(n_total, 2.0)) / (2 * max(n_total, 1.0))
        rows.append(dict(order=order, states=S, log_loss=logloss, auc=auc, penalty=pen,
                         score=logloss + pen))
    table = pd.DataFrame(rows)
    table["selected"] = False
    table.loc[int(table["score"].idxmin()), "selected"] = True
    return table
