"""Iterative proportional fitting of a sparse journey x entity credit matrix."""

from __future__ import annotations

import numpy as np


def balance(rows, cols, init, row_targets, col_targets, tol=1e-10, max_iter=1000):
    """Scale ``init`` (one value per (row, col) pair) until its row sums equal ``row_targets``
    and its column sums equal ``col_targets`` (Deming & Stephan 1940).

    Alternates column and row scaling and ends on rows, so row sums are exact; returns
    ``(values, iterations, residual, col_factors)`` where residual is the largest column-sum
    error relative to the total and ``col_factors`` the product of each column's scalings
    (values = init x row factor x column factor, up to one common scale). Rows or columns
    whose target is 0 get 0.
    """
    a = np.asarray(init, dtype=np.float64).copy()
    n_rows, n_cols = len(row_targets), len(col_targets)
    total = max(float(np.sum(row_targets)), 1e-300)
    residual = np.inf
    iterations = 0
    log_factors = np.zeros(n_cols)  # logs: the product can leave float range
    while iterations < max_iter:
        iterations += 1
        cs = np.bincount(cols, a, minlength=n_cols)
        step = np.divide(col_targets, cs, out=np.zeros(n_cols), where=cs > 0)
        with np.errstate(divide="ignore"):
            log_factors += np.log(step)
        a *= step[cols]
        rs = np.bincount(rows, a, minlength=n_rows)
        a *= np.divide(row_targets, rs, out=np.zeros(n_rows), where=rs > 0)[rows]
        cs = np.bincount(cols, a, minlength=n_cols)
        residual = float(np.abs(cs - col_targets).max()) / total if n_cols else 0.0
        if residual <= tol:
            break
    finite = np.isfinite(log_factors)
    top = log_factors[finite].max() if finite.any() else 0.0
    factors = np.where(finite, np.exp(log_factors - top), 0.0)  # scaled: only ratios matter
    return a, iterations, residual, factors
