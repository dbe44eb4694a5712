r"""Balancing a sparse row x column credit matrix to row and column totals.

The matrix has a fixed *support* (the (row, column) pairs with positive initial credit: for
Markov credit, journey x entity). Iterative proportional fitting (:func:`balance`, Deming &
Stephan 1940) scales it until rows sum to their amounts and columns to their targets; it
converges only when some matrix on the support has those totals. Whether one does is a
transportation (max-flow) question, answered exactly by :func:`decompose`:

A set ``A`` of rows can only give credit to its neighbours ``N(A)``, so at most
``min(a(A), t(N(A)))`` of it can be placed, and ``max_A [a(A) - t(N(A))]`` cannot be placed at
all (max-flow min-cut; Gale 1957, Hall's condition). :func:`decompose` splits the rows and
columns into blocks of decreasing density ``lambda = a(block) / t(block)`` (the density, or
principal-partition, decomposition of the bipartite support; Fujishige 1980): the densest
set of rows with its neighbours first, then the densest of the rest, and so on. Within a
block credit can be placed in full after scaling, and never across blocks: the rows of a
block with ``lambda > 1`` keep ``1 / lambda`` of their amounts (the rest cannot be placed),
the columns of a block with ``lambda < 1`` receive ``lambda`` of their targets (the rest of
the target stays unmet), and nothing flows from a row to a denser block's columns. The
placed total is then the max flow (it equals the cut of the dense blocks), and the split is
the fair one: within a block every row, and every column, meets the same fraction.

Each split is one max flow (scipy's Dinic on integer capacities: two passes, the second on
the residual network at 2^20 times finer units, so the cut is found to about 2^-50 of the
total), and the split is accepted by its exact value ``a(A) - lambda t(N(A))`` in floating
point. :func:`balance_feasible` runs the decomposition, then IPF on each block's support.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

_UNITS = 2.0**30  # integer capacity units of the first max-flow pass (int32 flows)
_INF = np.int64(2**31 - 1)
_MAX_STEP = 4.0  # largest change of a log column factor in one Newton step


def balance(rows, cols, init, row_targets, col_targets, tol=1e-10, max_iter=1000):
    """The biproportional fit of ``init`` (one value > 0 per (row, col) pair): values
    ``init x row factor x column factor`` whose row sums are ``row_targets`` and column sums
    ``col_targets`` (the matrix iterative proportional fitting converges to; Deming & Stephan
    1940), for totals that can be met (:func:`decompose`).

    Found by Newton's method on the dual (Sinkhorn's scaling problem as a convex program in
    the log column factors ``u``: minimise ``sum_r a_r log sum_c init_rc e^u_c - sum_c t_c
    u_c``, rows scaled exactly at every step), with a trust region (no factor changes by
    more than e^4 in a step) and a backtracking line search; it converges in a handful of
    steps also where the totals are nearly tight and IPF crawls. Stops one step after the
    largest column error relative to the total is at most ``tol`` (that step takes it to
    rounding), or after ``max_iter`` steps. Returns ``(values, iterations, residual,
    col_factors)``; rows are exact, ``col_factors`` are ``e^u`` scaled to a largest of 1
    (0 for columns without a pair). Pairs whose row or column target is 0 get 0.
    """
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    init = np.asarray(init, dtype=np.float64)
    a, t = np.asarray(row_targets, dtype=np.float64), np.asarray(col_targets, dtype=np.float64)
    total = max(float(a.sum()), 1e-300)
    keep = (init > 0) & (a[rows] > 0) & (t[cols] > 0)
    order = np.flatnonzero(keep)[np.argsort(rows[keep], kind="stable")]
    r, c, logs = rows[order], cols[order], np.log(init[order])
    used, col = np.unique(c, return_inverse=True)  # the columns Newton solves for
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]]) if len(r) else np.zeros(0, int)
    row_of = r[starts]
    u = np.zeros(len(used))

    def scaled(u):
        z = logs + u[col]
        top = np.maximum.reduceat(z, starts) if len(z) else np.zeros(0)
        e = np.exp(z - np.repeat(top, np.diff(np.r_[starts, len(z)])))
        s = np.add.reduceat(e, starts) if len(z) else np.zeros(0)
        x = a[r] * e / np.repeat(s, np.diff(np.r_[starts, len(z)]))
        return x, float(a[row_of] @ (top + np.log(s)) - t[used] @ u)

    x, dual = scaled(u)
    residual, iterations, polish = np.inf, 0, False
    while True:
        got = np.bincount(c, x, minlength=len(t))
        residual = float(np.abs(got - t).max()) / total if len(t) else 0.0
        if iterations >= max_iter or not len(x) or residual <= 1e-15:
            break
        if residual <= tol:  # converged: one more (quadratic) step takes it to rounding
            if polish:
                break
            polish = True
        iterations += 1
        grad = got[used] - t[used]
        q = sp.csr_array((x / np.sqrt(a[r]), (r, col)), shape=(len(a), len(used)))
        hess = np.diag(got[used]) - (q.T @ q).toarray()
        ridge = 1e-13 * max(float(np.diag(hess).max()), 1e-300)
        step = _solve_psd(hess + ridge * np.eye(len(used)), -grad)
        longest = float(np.abs(step).max()) if len(step) else 0.0
        if longest > _MAX_STEP:  # a trust region: no factor moves by more than e^4 a step,
            step *= _MAX_STEP / longest  # so no step lands where the softmax saturates
        if not np.isfinite(step).all():  # only for totals that cannot be met
            break
        slope, alpha = float(grad @ step), 1.0
        for _ in range(60):  # backtracking: the dual decreases (Armijo), or, where its
            x_new, dual_new = scaled(u + alpha * step)  # change is below rounding, the error
            err = np.abs(np.bincount(col, x_new, minlength=len(used)) - t[used]).max()
            flat = abs(dual_new - dual) <= 1e-13 * (abs(dual) + total)
            if (dual_new <= dual + 1e-4 * alpha * slope or (flat and err < residual * total)
                    or alpha < 1e-12):
                break
            alpha *= 0.5
        if not np.isfinite(dual_new):
            break
        u, x, dual = u + alpha * step, x_new, dual_new
    values = np.zeros(len(rows))
    values[order] = x
    factors = np.zeros(len(t))
    if len(used):
        factors[used] = np.exp(u - u.max())
    return values, iterations, residual, factors


def _solve_psd(m: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``m^-1 b`` for a symmetric positive semi-definite ``m`` (least squares if singular)."""
    try:
        return np.linalg.solve(m, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(m, b, rcond=None)[0]


def decompose(rows, cols, amounts, targets, rel_tol=1e-12):
    """The density decomposition of the support (module docstring).

    ``rows``, ``cols``: the support pairs; ``amounts`` per row, ``targets`` per column (both
    >= 0). Returns ``(row_block, col_block, density)``: blocks are numbered in order of
    decreasing density ``density[b] = a(rows of b) / t(columns of b)`` (inf when the columns'
    targets are all 0); rows with amount 0 get block -1; columns no row with an amount
    reaches form the last block, of density 0. A split is kept when its excess
    ``a(A) - density t(N(A))`` exceeds ``rel_tol`` times the amounts being split, and a
    density within ``rel_tol`` of 1 is 1 (the totals agree up to rounding).
    """
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    amounts = np.asarray(amounts, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    row_block = np.full(len(amounts), -1, dtype=np.int64)
    col_block = np.full(len(targets), -1, dtype=np.int64)
    density = []
    live = amounts[rows] > 0
    stack = [(np.unique(rows[live]), np.unique(cols[live]))] if live.any() else []
    while stack:  # one pass per block or split (at most about 2 per column): not per row
        r, e = stack.pop()
        dense, lam = _densest(rows, cols, amounts, targets, r, e, rel_tol)
        if dense is None:
            row_block[r] = col_block[e] = len(density)
            density.append(1.0 if abs(lam - 1.0) <= rel_tol else lam)  # 1 up to rounding
            continue
        in_r = np.zeros(len(amounts), dtype=bool)
        in_r[dense] = True
        near = np.zeros(len(targets), dtype=bool)
        near[cols[in_r[rows]]] = True
        e_dense = e[near[e]]
        stack.append((r[~in_r[r]], e[~near[e]]))  # sparser: popped after the denser part
        stack.append((dense, e_dense))
    rest = col_block < 0
    if rest.any():
        col_block[rest] = len(density)
        density.append(0.0)
    return row_block, col_block, np.asarray(density, dtype=np.float64)


def _densest(rows, cols, amounts, targets, r, e, rel_tol):
    """Rows ``A`` within (r, e) that are denser than (r, e) as a whole, with that density;
    ``A`` is None when no subset is denser (the pair is one block).

    ``A`` maximises ``a(A) - lambda t(N(A))`` at the density ``lambda`` of (r, e), a min cut
    of source -> row (amount), row -> column (unbounded), column -> sink (lambda target).
    """
    a_total, t_total = float(amounts[r].sum()), float(targets[e].sum())
    if t_total <= 0:
        return None, np.inf
    lam = a_total / t_total
    if len(r) < 2:
        return None, lam
    in_r = np.zeros(len(amounts), dtype=bool)
    in_r[r] = True
    in_e = np.zeros(len(targets), dtype=bool)
    in_e[e] = True
    keep = in_r[rows] & in_e[cols]
    pr, pc = rows[keep], cols[keep]
    source_side = _min_cut_rows(r, e, pr, pc, amounts[r] / a_total, lam * targets[e] / a_total)
    if not source_side.any() or source_side.all():
        return None, lam
    dense = r[source_side]
    near = np.zeros(len(targets), dtype=bool)
    near[pc[np.isin(pr, dense)]] = True
    # rows whose neighbours all lie in N(A) belong to A (they only raise its excess)
    outside = np.zeros(len(amounts), dtype=bool)
    outside[pr[~near[pc]]] = True
    dense = r[~outside[r]]
    excess = float(amounts[dense].sum()) - lam * float(targets[near].sum())
    if excess <= rel_tol * a_total or len(dense) == len(r):
        return None, lam
    return dense, lam


def _min_cut_rows(r, e, pr, pc, supply, demand):
    """Source side (as a mask over ``r``) of a minimum cut of the flow network with row
    capacities ``supply`` and column capacities ``demand`` (both summing to about 1)."""
    n_r, n_e = len(r), len(e)
    row_node = np.full(int(r.max()) + 1, -1, dtype=np.int64)
    row_node[r] = 1 + np.arange(n_r)
    col_node = np.full(int(e.max()) + 1, -1, dtype=np.int64)
    col_node[e] = 1 + n_r + np.arange(n_e)
    sink = n_r + n_e + 1
    u = np.concatenate([np.zeros(n_r, dtype=np.int64), row_node[pr], col_node[e]])
    v = np.concatenate([row_node[r], col_node[pc], np.full(n_e, sink)])
    exact = np.concatenate([supply, np.full(len(pr), np.inf), demand])
    shape = (sink + 1, sink + 1)
    # pass 1: 2^30 units; pass 2: the residual network in 2^b times finer units, its
    # capacities capped at the most the pass can still add (so they fit in int32)
    cap = np.where(np.isinf(exact), _INF, np.floor(np.minimum(exact, 1.0) * _UNITS))
    flow = _flow_on(u, v, cap.astype(np.int64), shape)
    b = max(0, 30 - int(np.ceil(np.log2(n_r + n_e + 2))))
    fine = np.floor(np.minimum(exact, 1.0) * _UNITS * 2.0**b)
    forward = np.where(np.isinf(exact), _INF, fine - flow * 2.0**b)
    # pass 2 adds at most the pass-1 cut's rounding: under 2^b per cut edge
    limit = float((n_r + n_e + 1) * 2**b)
    uu, vv = np.concatenate([u, v]), np.concatenate([v, u])
    cap2 = np.minimum(np.concatenate([forward, flow * 2.0**b]), limit).astype(np.int64)
    graph = sp.csr_array((cap2.astype(np.int32), (uu, vv)), shape=shape)
    result = maximum_flow(graph, 0, sink)
    left = (graph.astype(np.int64) - result.flow.astype(np.int64)).tocoo()
    pos = left.data > 0
    residual = sp.csr_array((left.data[pos], (left.row[pos], left.col[pos])), shape=shape)
    reach = breadth_first_order(residual, 0, directed=True, return_predecessors=False)
    side = np.zeros(shape[0], dtype=bool)
    side[reach] = True
    return side[1: n_r + 1]


def _flow_on(u, v, cap, shape) -> np.ndarray:
    """Max flow through each edge (u, v) with integer capacities ``cap``."""
    graph = sp.csr_array((cap.astype(np.int32), (u, v)), shape=shape)
    flow = maximum_flow(graph, 0, shape[0] - 1).flow
    return np.asarray(flow[u, v], dtype=np.float64).ravel()


def balance_feasible(rows, cols, score, amounts, targets, tol=1e-10, max_iter=1000):
    """Credit per support pair, proportional to ``score`` within each row, balanced to the
    row ``amounts`` and column ``targets`` as far as they can be met (module docstring).

    Returns a dict: ``row_block``/``col_block`` and ``density`` of :func:`decompose`,
    ``row_fill``/``col_fill`` (the fraction of each block's amounts placed and of its targets
    met), ``factors`` (each column's balancing factor, the largest of each block 1: a row's
    credit is proportional to score x factor over its pairs in its own block; 1 for columns
    no row reaches), ``values`` (per pair), ``iterations`` (the most any block took) and
    ``residual`` (the largest column error against the met targets, relative to the total
    amount). Blocks share no row or column: each is balanced on its own, in its own scale.
    """
    row_block, col_block, density = decompose(rows, cols, amounts, targets)
    with np.errstate(divide="ignore"):
        row_fill = np.minimum(1.0, 1.0 / density)  # inf -> 0, 0 -> 1
    col_fill = np.minimum(1.0, density)
    rb = row_block[rows]
    active = (rb >= 0) & (rb == col_block[cols])
    amount = np.zeros(len(amounts))
    placed = row_block >= 0
    amount[placed] = amounts[placed] * row_fill[row_block[placed]]
    target = targets * col_fill[col_block]
    den = np.bincount(rows[active], score[active], minlength=len(amounts))
    init = amount[rows] * score / np.where(den > 0, den, 1.0)[rows]
    total = max(float(amounts.sum()), 1e-300)
    values, factors, iterations = np.zeros(len(rows)), np.ones(len(targets)), 0
    for b in np.unique(rb[active]):  # one Newton solve per block (a few blocks, not rows)
        pick = active & (rb == b)
        r_ids, r = np.unique(rows[pick], return_inverse=True)
        c_ids, c = np.unique(cols[pick], return_inverse=True)
        part = max(float(amount[r_ids].sum()), 1e-300)
        v, steps, _, f = balance(r, c, init[pick], amount[r_ids], target[c_ids],
                                 tol * total / part, max_iter)
        values[pick] = v
        factors[c_ids] = np.where(f > 0, f, 1.0)
        iterations = max(iterations, steps)
    got = np.bincount(cols, values, minlength=len(targets))
    residual = float(np.abs(got - target).max()) / total if len(targets) else 0.0
    return dict(row_block=row_block, col_block=col_block, density=density,
                row_fill=row_fill, col_fill=col_fill, factors=factors, values=values,
                iterations=iterations, residual=residual)
