"""Bounded solves of the absorbing chain: the size limit of the removal effects, the sparse
solver of their systems, and their progress bar.

The removal effects solve one system (I - Q) x = r per entity, each of up to S transient
states. Their cost grows with S x K (states x entities): order 3 over one journey of 50,000
touches and 3,000 touchpoints is 49,979 states and 3,000 solves. The earlier solver did not
finish even the first of them in 10 minutes (BiCGSTAB breaks down on such a path graph, then
GMRES ran 1,000 restarts of 2.5 s); :class:`SparseSolver` does all of them in about 2
minutes, and :func:`check_work` refuses the fit before the first solve (150M state-solves),
naming what to change. :func:`progress_bar` shows the solves when there are many.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from attribution.journeys.validation import ParameterError

# Largest S x K (states x entities with a removal solve) that removal_effects solves; above
# it, a ParameterError before the first solve. Sparse removal solves cost 1-4 us per state
# (S = 3,000-59,000 states, K = 12-3,000 entities, on 2 busy cores), so the limit is about
# one to three minutes; the pathological case above is 150M.
MAX_SOLVE_WORK = 50_000_000
SOLVE_MAXITER = 500  # iterations of one Krylov attempt (GMRES: in restarts of GMRES_RESTART)
GMRES_RESTART = 50
RESIDUAL_TOL = 1e-12  # largest accepted |(I - Q) x - r| / max|r| of a sparse solve
SHARE_ILU_ITERS = 100  # a full solve needing more BiCGSTAB iterations precondition removals
ILU_DROP_TOL = 1e-4  # incomplete LU of spla.spilu: drop tolerance and fill bound
ILU_FILL = 10.0
PROGRESS_MIN_WORK = 1_000_000  # S x K from which a progress bar is shown (progress=None)
PROGRESS_DELAY = 1.0  # seconds before the bar appears (none for a quick loop)


def check_work(n_states: int, n_entities: int, order: int) -> int:
    """S x K of the removal effects; a :class:`ParameterError` above :data:`MAX_SOLVE_WORK`."""
    work = int(n_states) * int(n_entities)
    if work > MAX_SOLVE_WORK:
        raise ParameterError(
            f"order {order} gives {n_states:,} states, and the removal effects need one solve "
            f"of up to that size per entity ({n_entities:,} entities): {work:,} state-solves, "
            f"above the limit of {MAX_SOLVE_WORK:,} (minutes of solving or more). Lower "
            "`order` (or `max_order` with order='auto'), fit at level='channel', keep "
            "collapse_repeats=True, or raise the limit "
            "attribution.models._markov_solve.MAX_SOLVE_WORK")
    return work


def progress_bar(total: int, work: int, progress: bool | None):
    """A tqdm bar (stderr) over ``total`` removal solves: shown when ``progress`` is True, or
    None and ``work`` >= :data:`PROGRESS_MIN_WORK`; never when TQDM_DISABLE is set."""
    from tqdm.auto import tqdm

    show = work >= PROGRESS_MIN_WORK if progress is None else bool(progress)
    off = os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    return tqdm(total=total, desc="Markov removal effects", unit="solve", leave=False,
                disable=off or not show, delay=PROGRESS_DELAY)


def _residual(a, x, b) -> float:
    """Largest |a x - b| relative to max|b| (b is in currency units for value); nan if x is."""
    scale = max(float(np.abs(b).max()) if len(b) else 0.0, 1e-300)
    return float(np.abs(a @ x - b).max()) / scale if len(b) else 0.0


def _ilu(a):
    """An incomplete LU of ``a`` as a preconditioner, or None when it is singular."""
    try:
        f = spla.spilu(a.tocsc(), drop_tol=ILU_DROP_TOL, fill_factor=ILU_FILL)
    except RuntimeError:  # "Factor is exactly singular"
        return None
    return spla.LinearOperator(a.shape, f.solve, dtype=a.dtype)


def _bicgstab(a, b, x0, m, maxiter) -> tuple[np.ndarray, float, int]:
    its = [0]

    def count(_):
        its[0] += 1

    with np.errstate(all="ignore"):  # a failing attempt may overflow: its residual says so
        x, _ = spla.bicgstab(a, b, x0=x0, M=m, rtol=1e-14, atol=0.0, maxiter=maxiter,
                             callback=count)
        return x, _residual(a, x, b), its[0]


def _gmres(a, b, x0, m) -> tuple[np.ndarray, float]:
    with np.errstate(all="ignore"):
        restart = max(1, min(GMRES_RESTART, SOLVE_MAXITER))  # at most SOLVE_MAXITER steps
        x, _ = spla.gmres(a, b, x0=x0, M=m, rtol=1e-14, atol=0.0, restart=restart,
                          maxiter=max(1, SOLVE_MAXITER // restart))
        return x, _residual(a, x, b)


class SparseSolver:
    """(I - Q) X = rhs for the full chain (:meth:`solve` with no ``keep``) and each removal.

    A removal keeps the system's size: the rows of the removed states become identity rows
    with a zero right-hand side, so X is 0 there, as when they absorb into (null). Each column
    is solved by BiCGSTAB warm-started from the full solution, then, if its residual is over
    :data:`RESIDUAL_TOL`, by BiCGSTAB and then GMRES preconditioned with an incomplete LU of
    the system, every attempt bounded by :data:`SOLVE_MAXITER` iterations; a solve that still
    misses the tolerance is a :class:`ParameterError`, never a silent answer. Krylov solvers
    converge in a few dozen products on the well-mixed (de Bruijn-like) graphs of short
    journeys, where a sparse LU fills in catastrophically (order 4 over 12 channels: 50M
    fill-in entries, 15-50 s per solve); the incomplete LU takes over where they break down
    (long journeys of distinct states: a path graph, on which it is exact). When the full
    solve needs many iterations, its incomplete LU preconditions every removal.
    """

    def __init__(self, q, rhs: np.ndarray):
        m = q.shape[0]
        self.a = (sp.identity(m, format="csr") - q.tocsr()).tocsr()
        self.a.sum_duplicates()
        self.rhs = rhs
        row = np.repeat(np.arange(m), np.diff(self.a.indptr))
        self.row, self.diag = row, (self.a.indices == row).astype(self.a.dtype)
        self.x = None  # the full solution: the removals' warm start
        self.shared = None  # the removals' preconditioner (an ILU of the full system)
        self.slow = False  # the full solve was slow: factor self.shared before the removals
        self.budget = SOLVE_MAXITER  # iterations of a removal's first attempt
        self.misses = self.removals = 0  # removals whose first attempt failed in a row, all

    def solve(self, keep: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """X at the start row for every right-hand side column, and the largest residual."""
        if keep is None:
            x, res, its = self._columns(self.a, self.rhs, None)
            # a removal is the full system with a few rows cut: its first attempt gets a few
            # times the full solve's iterations (a failing one would waste SOLVE_MAXITER)
            self.budget = SOLVE_MAXITER if self.slow else min(SOLVE_MAXITER, 2 * its + 20)
            self.x = x
            return x[0], res
        if self.slow and self.shared is None:
            self.shared = _ilu(self.a)
        cut = ~keep[self.row]
        data = self.a.data.copy()
        data[cut] = self.diag[cut]
        a = sp.csr_matrix((data, self.a.indices, self.a.indptr), shape=self.a.shape)
        self.removals += 1  # first the shared attempt, unless it failed on the last 3 removals
        first = self.misses < 3 or self.removals % 8 == 0  # (long paths), bar every 8th
        x, res, _ = self._columns(a, self.rhs * keep[:, None], self.x * keep[:, None], first)
        return x[0], res

    def _columns(self, a, rhs, x0, first=True):
        """Solve each column of ``rhs``: X, the largest residual and the most iterations of
        the accepted attempts (SOLVE_MAXITER when GMRES was needed)."""
        out, worst, most, ilu = np.empty_like(rhs), 0.0, 0, False
        for c in range(rhs.shape[1]):
            b = np.ascontiguousarray(rhs[:, c])
            start = None if x0 is None else np.ascontiguousarray(x0[:, c])
            res = np.inf
            if first and ilu is False:  # (after a failed column: its own ILU at once)
                x, res, its = _bicgstab(a, b, start, self.shared,
                                        SOLVE_MAXITER if x0 is None else self.budget)
                self.slow |= x0 is None and its > SHARE_ILU_ITERS and self.shared is None
                self.misses = 0 if res <= RESIDUAL_TOL else self.misses + (x0 is not None)
            if not res <= RESIDUAL_TOL:
                ilu = _ilu(a) if ilu is False else ilu
                if x0 is None:  # the full system: its ILU preconditions the removals
                    self.shared, self.slow = ilu, False
                x, res, its = _bicgstab(a, b, start, ilu, SOLVE_MAXITER)
            if not res <= RESIDUAL_TOL:
                x, res = _gmres(a, b, x if np.isfinite(x).all() else start, ilu)
                its = SOLVE_MAXITER
            if not res <= RESIDUAL_TOL:
                raise ParameterError(
                    f"the sparse solve of {a.shape[0]:,} transient states did not converge: "
                    f"residual {res:.1e} of the right-hand side (tolerance {RESIDUAL_TOL:.0e}) "
                    f"after {SOLVE_MAXITER} iterations of BiCGSTAB and of GMRES with an "
                    "incomplete-LU preconditioner. Lower `order`, fit at level='channel', "
                    "keep collapse_repeats=True, or raise "
                    "attribution.models._markov_solve.SOLVE_MAXITER")
            out[:, c], worst, most = x, max(worst, res), max(most, its)
        return out, worst, most
