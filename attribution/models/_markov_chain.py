"""Higher-order Markov chains over journeys: states, weighted transitions, exact absorption.

States of order k (MODELS.md, MarkovChain): for a path c_1..c_L, one state (c_1..c_L) if
L <= k, else the sliding windows (c_{t-k+1}..c_t) for t = k..L; consecutive equal states merge.
A window is encoded as an int64, the most recent code in the lowest digit of base K + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..journeys import Journeys

DENSE_MAX = 800  # transient states up to which a dense LU is used


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
        raise ValueError(f"order {order} over {k} entities does not fit in 64-bit state keys")
    codes = j.codes.astype(np.int64) + 1
    pos = j.touch_position
    length = j.touch_length
    key = codes.copy()
    mult = 1
    for i in range(1, order):
        mult *= base
        ok = pos >= i
        idx = np.flatnonzero(ok)
        key[idx] += codes[idx - i] * mult
    keep = pos >= np.minimum(order, length) - 1
    tj = j.touch_journey[keep]
    key = key[keep]
    if len(key) > 1:  # merge consecutive equal states within a journey
        same = np.zeros(len(key), dtype=bool)
        same[1:] = (key[1:] == key[:-1]) & (tj[1:] == tj[:-1])
        key, tj = key[~same], tj[~same]
    counts = np.bincount(tj, minlength=j.n_journeys)
    offsets = np.zeros(j.n_journeys + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    local, uniq = pd.factorize(key, sort=True)
    return StatePaths(offsets, local.astype(np.int64), np.asarray(uniq, dtype=np.int64), order,
                      base)


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
    n = len(sp_.offsets) - 1
    lengths = np.diff(sp_.offsets)
    w = conversions + nulls
    st = sp_.states + 1  # row/col index of each visit
    first = sp_.offsets[:-1]
    last = sp_.offsets[1:] - 1
    # within-journey steps: visit v -> v+1 unless v is the journey's last visit
    step = np.ones(len(st), dtype=bool)
    step[last] = False
    src = np.flatnonzero(step)
    wt = np.repeat(w, lengths)
    rows = np.concatenate([np.zeros(n, dtype=np.int64), st[src], st[last], st[last]])
    cols = np.concatenate([st[first], st[src + 1], np.full(n, S + 1), np.full(n, S + 2)])
    data = np.concatenate([w, wt[src], conversions, nulls])
    nz = data > 0
    counts = sp.coo_matrix((data[nz], (rows[nz], cols[nz])), shape=(S + 1, S + 3)).tocsr()
    counts.sum_duplicates()
    val = np.bincount(st[last], weights=value, minlength=S + 1)
    return Chain(counts, val)


def absorb(q: sp.csc_matrix, rhs: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Solve (I - Q) X = rhs on the transient states in ``keep`` (others absorb into null).

    Returns X restricted to the start row (row 0) for every right-hand side column.
    Dense LU for small state spaces, sparse LU (SuperLU) otherwise; never simulates.
    """
    if keep is not None:
        idx = np.flatnonzero(keep)
        q = q[idx][:, idx]
        rhs = rhs[idx]
    m = q.shape[0]
    a = sp.identity(m, format="csc") - q
    if m <= DENSE_MAX:
        x = scipy.linalg.solve(a.toarray(), rhs, check_finite=False)
    else:
        x = spla.splu(a.tocsc()).solve(np.ascontiguousarray(rhs))
    return x[0]


def removal_effects(sp_: StatePaths, chain: Chain, n_entities: int):
    """P(C), expected value, and each entity's removal effects (conversion, value).

    Removing entity i sends every state that contains it to (null) with probability 1.
    """
    q, r, rv = chain.probabilities()
    rhs = np.column_stack([r, rv])
    base = absorb(q, rhs)
    contains = sp_.contains(n_entities)
    present = np.asarray(contains.sum(axis=0)).ravel() > 0
    p_removed = np.tile(base, (n_entities, 1))
    for i in np.flatnonzero(present):  # one exact solve per entity
        keep = np.ones(chain.n_transient, dtype=bool)
        keep[1 + contains[:, i].indices] = False
        p_removed[i] = absorb(q, rhs, keep)
    with np.errstate(divide="ignore", invalid="ignore"):
        re = np.where(base > 0, 1.0 - p_removed / base, 0.0)
    return base, re[:, 0], re[:, 1]
