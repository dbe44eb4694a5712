"""Higher-order Markov chains over journeys: states, weighted transitions, exact absorption.

States of order k (MODELS.md, MarkovChain): for a path c_1..c_L, one state (c_1..c_L) if
L <= k, else the sliding windows (c_{t-k+1}..c_t) for t = k..L; consecutive equal states merge.
A window is encoded as an int64, the most recent code in the lowest digit of base K + 1.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from attribution.journeys import Journeys
from attribution.journeys.validation import ParameterError
from attribution.models._markov_solve import SparseSolver, check_work, progress_bar

DENSE_MAX = 800  # transient states up to which a dense LU is used
# BLAS threads of the removal-effect solves (None: leave BLAS alone). These systems are small:
# threading their LU costs more in synchronisation than it gains, the more so on a busy
# machine (the removal effects of order 3 over 9 channels, 731 states, on 2 busy cores:
# 0.07-0.14 s with one BLAS thread, 0.5-1.0 s with two; benchmarks/bench_markov.py); so do
# the vector products of the sparse Krylov solves.
SOLVE_THREADS: int | None = 1
KEY_TABLE_MIN = 1 << 16  # state-key spaces up to this size (or 8 keys a slot) use a table
DENSE_TABLE_MAX = 2**21  # transition tables up to this many cells are counted densely


@dataclass
class StatePaths:
    """Each journey as a sequence of state indices (CSR), plus what the states are."""

    offsets: np.ndarray  # (n_journeys + 1,)
    states: np.ndarray  # (n_visits,) state index 0..S-1
    keys: np.ndarray  # (S,) encoded windows, sorted
    order: int
    base: int

    @property
    def n_states(self) -> int:
        return len(self.keys)

    @property
    def last_state(self) -> np.ndarray:
        return self.states[self.offsets[1:] - 1]

    def digits(self) -> np.ndarray:
        """(S, order) entity codes of each state's window, oldest first; -1 = empty slot."""
        d = np.empty((self.n_states, self.order), dtype=np.int64)
        rest = self.keys.copy()
        for i in range(self.order):
            d[:, self.order - 1 - i] = rest % self.base - 1
            rest //= self.base
        return d

    def names(self, entity_names, sep=" > ") -> np.ndarray:
        d = self.digits()
        out = []
        for row in d:  # one per state (not per journey): the state space is small
            out.append(sep.join(str(entity_names[c]) for c in row if c >= 0))
        return np.asarray(out, dtype=object)

    def contains(self, n_entities: int) -> sp.csc_matrix:
        """Boolean (S, K) matrix: state s contains entity i."""
        d = self.digits()
        s, slot = np.nonzero(d >= 0)
        m = sp.coo_matrix((np.ones(len(s), dtype=bool), (s, d[s, slot])),
                          shape=(self.n_states, n_entities))
        return m.tocsc()


def state_paths(j: Journeys, order: int) -> StatePaths:
    """Encode the journeys' (already collapsed or not) paths as order-k state sequences."""
    k = len(j.names)
    base = k + 1
    if order < 1:
        raise ValueError("order must be >= 1")
    if order * np.log2(base) >= 62:
        top = int(np.ceil(62 / np.log2(base))) - 1
        raise ParameterError(f"order={order} over {k} entities makes states that do not fit in "
                             f"64-bit keys; use order <= {top} (or order='auto')")
    key = j.codes.astype(np.int64)
    key += 1
    offsets = j.offsets
    if order > 1:
        lengths = j.lengths.astype(np.int32)
        pos = np.arange(j.n_touches, dtype=np.int32)
        pos -= np.repeat(offsets[:-1].astype(np.int32), lengths)
        mult = 1
        for i in range(1, order):
            mult *= base
            idx = np.flatnonzero(pos >= i)
            key[idx] += (j.codes[idx - i].astype(np.int64) + 1) * mult
        keep = pos >= np.repeat(np.minimum(order, lengths) - 1, lengths)
        del pos
        kept = np.add.reduceat(keep.astype(np.int64), offsets[:-1])
        key = key[keep]
        offsets = np.zeros(j.n_journeys + 1, dtype=np.int64)
        np.cumsum(kept, out=offsets[1:])
    # merge consecutive equal states within a journey
    same = np.zeros(len(key), dtype=bool)
    np.equal(key[1:], key[:-1], out=same[1:])
    same[offsets[:-1]] = False
    if same.any():
        kept = np.add.reduceat((~same).astype(np.int64), offsets[:-1])
        key = key[~same]
        offsets = np.zeros(j.n_journeys + 1, dtype=np.int64)
        np.cumsum(kept, out=offsets[1:])
    del same
    uniq, local = _index_keys(key, base**order)
    return StatePaths(offsets, local, uniq, order, base)


def _index_keys(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct keys (all in [0, size)) and each key's index among them.

    A small key space (order 1-4 over a dozen channels) is marked in a table, O(n); a large one
    is sorted.
    """
    if size <= max(KEY_TABLE_MIN, 8 * len(key)):
        seen = np.zeros(size, dtype=bool)
        seen[key] = True
        uniq = np.flatnonzero(seen)
        rank = np.cumsum(seen, dtype=np.int32 if len(uniq) < 2**31 else np.int64)
        rank -= 1
        return uniq.astype(np.int64, copy=False), rank[key]
    uniq = np.unique(key)
    return uniq, np.searchsorted(uniq, key).astype(np.int32 if len(uniq) < 2**31 else np.int64)


@dataclass
class Chain:
    """Weighted transitions: rows 0 = (start), 1..S = states; columns also S+1 = (conversion),
    S+2 = (null). ``value`` is the value of journeys converting from each row."""

    counts: sp.csr_matrix  # (S + 1, S + 3)
    value: np.ndarray  # (S + 1,)

    @property
    def n_transient(self) -> int:
        return self.counts.shape[0]

    def probabilities(self):
        out = np.asarray(self.counts.sum(axis=1)).ravel()
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        p = sp.diags(inv) @ self.counts
        t = self.n_transient
        q = p[:, :t].tocsc()
        r = np.asarray(p[:, t].todense()).ravel()
        rv = self.value * inv
        return q, r, rv


def build_chain(sp_: StatePaths, conversions, nulls, value) -> Chain:
    """Transition weights: each journey adds c + n along start -> s_1 -> ... -> s_m, c into
    (conversion), n into (null)."""
    S = sp_.n_states
    st = sp_.states  # state s is row/column s + 1
    first = sp_.offsets[:-1]
    last = sp_.offsets[1:] - 1
    w = conversions + nulls
    shape = (S + 1, S + 3)
    end = st[last] + 1
    # within-journey steps: visit v -> v + 1, weighted 0 from a journey's last visit
    step_w = np.repeat(w, np.diff(sp_.offsets))[:-1]
    step_w[last[:-1]] = 0.0
    step_key = st[:-1].astype(np.int64)
    step_key += 1
    step_key *= shape[1]
    step_key += st[1:]
    step_key += 1
    if shape[0] * shape[1] <= DENSE_TABLE_MAX:  # small state space: count into a dense table
        table = np.bincount(step_key, step_w, minlength=shape[0] * shape[1])
        table = table.astype(np.float64, copy=False).reshape(shape)  # float also when empty
        del step_key, step_w
        table[0, 1:S + 1] += np.bincount(st[first], w, minlength=S)
        table[:, S + 1] += np.bincount(end, conversions, minlength=S + 1)
        table[:, S + 2] += np.bincount(end, nulls, minlength=S + 1)
        counts = sp.csr_matrix(table)
    else:
        counts = _sparse_counts(shape, step_key, step_w, st[first] + 1, w, end, conversions,
                                nulls)
    counts.sum_duplicates()
    val = np.bincount(end, weights=value, minlength=S + 1)
    return Chain(counts, val)


def _sparse_counts(shape, step_key, step_w, start, w, end, conversions, nulls):
    """The transition counts of a large state space as a sparse matrix, one kind of
    transition at a time (keeps the peak memory small)."""
    def piece(rows, cols, data):
        nz = data > 0
        return sp.csr_matrix((data[nz], (rows[nz], cols[nz])), shape=shape)

    nz = step_w > 0
    key = step_key[nz]
    counts = sp.csr_matrix((step_w[nz], (key // shape[1], key % shape[1])), shape=shape)
    del key, nz
    n = len(start)
    counts = counts + piece(np.zeros(n, dtype=np.int64), start, w)
    counts = counts + piece(end, np.full(n, shape[1] - 2), conversions)
    return counts + piece(end, np.full(n, shape[1] - 1), nulls)


class ChainDesign:
    """The transition counts of fixed state paths as a linear map of the journeys' weights.

    :func:`build_chain` with new (conversions, nulls, value) equals :meth:`chain` here; the
    map is built once (a sparse journeys -> transitions incidence matrix and the CSR layout of
    the counts), so re-weighting costs one sparse product (bootstrap replicates).
    """

    def __init__(self, sp_: StatePaths):
        S = sp_.n_states
        n = len(sp_.offsets) - 1
        st = sp_.states
        first, last = sp_.offsets[:-1], sp_.offsets[1:] - 1
        step = np.ones(len(st), dtype=bool)
        step[last] = False
        src = np.flatnonzero(step)
        journey_of = np.repeat(np.arange(n), np.diff(sp_.offsets))
        ncols = S + 3
        key = np.concatenate([(st[first] + 1).astype(np.int64),
                              (st[src] + 1).astype(np.int64) * ncols + st[src + 1] + 1])
        rows_of = np.concatenate([np.arange(n), journey_of[src]])
        ukey, inv = np.unique(key, return_inverse=True)
        self.incidence = sp.csr_matrix((np.ones(len(inv)), (inv.ravel(), rows_of)),
                                       shape=(len(ukey), n))
        self.end = st[last] + 1
        ends = np.arange(S + 1)
        r = np.concatenate([ukey // ncols, ends, ends])
        c = np.concatenate([ukey % ncols, np.full(S + 1, S + 1), np.full(S + 1, S + 2)])
        self.order = np.lexsort((c, r))
        self.indices = c[self.order].astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=S + 1))])
        self.shape = (S + 1, ncols)

    def chain(self, conversions, nulls, value) -> Chain:
        """The :class:`Chain` of these weights (same counts as :func:`build_chain`)."""
        n_rows = self.shape[0]
        data = np.concatenate([self.incidence @ (conversions + nulls),
                               np.bincount(self.end, conversions, minlength=n_rows),
                               np.bincount(self.end, nulls, minlength=n_rows)])[self.order]
        # copies: eliminate_zeros works in place on the index arrays it was given
        counts = sp.csr_matrix((data, self.indices.copy(), self.indptr.copy()), shape=self.shape)
        counts.eliminate_zeros()
        return Chain(counts, np.bincount(self.end, weights=value, minlength=n_rows))


@functools.cache
def _blas_pools():
    """The BLAS thread pools loaded in this process (found once: scipy loads its BLAS when it
    is imported, before the first solve)."""
    return ThreadpoolController().select(user_api="blas")


def _capped_blas():
    """A context capping BLAS at :data:`SOLVE_THREADS` threads (a no-op when it is None)."""
    if SOLVE_THREADS is None:
        return contextlib.nullcontext()
    return _blas_pools().limit(limits=SOLVE_THREADS)


def _solve_dense(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """LU solve of a x = b with BLAS capped; x and the largest residual relative to b."""
    with _capped_blas():
        x = scipy.linalg.solve(a, b, check_finite=False)
        scale = np.maximum(np.abs(b).max(axis=0), 1e-300)
        return x, float((np.abs(a @ x - b).max(axis=0) / scale).max())


def absorb(q: np.ndarray, rhs: np.ndarray, keep: np.ndarray | None = None):
    """Solve (I - Q) X = rhs on the transient states in ``keep`` (others absorb into null) by
    dense LU (BLAS capped at :data:`SOLVE_THREADS` threads); never simulates.

    Returns X at the start row (row 0) for every right-hand side column, and the largest
    residual of the solve. Chains over :data:`DENSE_MAX` states are solved by
    :class:`~attribution.models._markov_solve.SparseSolver` (:func:`removal_effects`).
    """
    if keep is None:
        qd, b = q, rhs
    else:
        idx = np.flatnonzero(keep)
        qd, b = q[np.ix_(idx, idx)], rhs[idx]
    x, residual = _solve_dense(np.eye(len(qd)) - qd, b)
    return x[0], residual


def removal_effects(sp_: StatePaths, chain: Chain, n_entities: int, progress=None):
    """P(C), expected value, and each entity's removal effects (conversion, value).

    Removing entity i sends every state that contains it to (null) with probability 1: one
    solve per entity present. Refused before the first solve (a ParameterError) when states x
    entities is over :data:`~attribution.models._markov_solve.MAX_SOLVE_WORK`; a tqdm bar
    shows the solves when there are many (``progress``: None = by size, True, False).
    """
    contains = sp_.contains(n_entities)
    present = np.flatnonzero(np.diff(contains.indptr))
    work = check_work(sp_.n_states, len(present), sp_.order)
    q, r, rv = chain.probabilities()
    rhs = np.column_stack([r, rv])
    if q.shape[0] <= DENSE_MAX:  # every solve is dense: densify once (indexing a dense copy
        solve = functools.partial(absorb, q.toarray(), rhs)  # costs less than sparse)
    else:
        solve = SparseSolver(q, rhs).solve
    with _capped_blas(), progress_bar(len(present), work, progress) as bar:
        base, worst = solve()
        p_removed = np.tile(base, (n_entities, 1))
        for i in present:
            keep = np.ones(chain.n_transient, dtype=bool)
            keep[1 + contains[:, i].indices] = False
            p_removed[i], res = solve(keep)
            worst = max(worst, res)
            bar.update()
    with np.errstate(divide="ignore", invalid="ignore"):
        re = np.where(base > 0, 1.0 - p_removed / base, 0.0)
    return base, re[:, 0], re[:, 1], worst
