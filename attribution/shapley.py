r"""The one Shapley kernel: exact values over subsets, or antithetic permutation sampling.

Players are entity codes 0..K-1 (K <= 64); a coalition is a uint64 bit mask. For each unique
player set T the kernel returns phi_i(T), the Shapley value of player i in the game v
restricted to the subsets of T:

    phi_i(T) = sum over S in T \\ {i} of |S|! (|T| - |S| - 1)! / |T|! [v(S + i) - v(S)],

so that sum_i phi_i(T) = v(T) - v(empty set) (efficiency). Every coalition needed by any set is
evaluated once, in one batch, by ``value_fn(masks) -> values``. Sets with more than
``max_exact`` players are estimated from permutations drawn in antithetic pairs (a permutation
and its reverse), with the standard error of each estimate.
"""

from __future__ import annotations

import functools
from math import comb
from typing import NamedTuple

import numpy as np
import pandas as pd

MAX_PLAYERS = 64
_CHUNK = 1 << 22  # subset masks built at a time
_EVAL_CHUNK = 1 << 16  # coalitions per parallel value_fn call


def bits_of(masks: np.ndarray, k: int) -> np.ndarray:
    """(n, k) boolean membership matrix of uint64 masks (bit i = player i)."""
    little = np.ascontiguousarray(masks, dtype="<u8").view(np.uint8).reshape(-1, 8)
    return np.unpackbits(little, axis=1, count=k, bitorder="little").astype(bool)


def masks_of(bits: np.ndarray) -> np.ndarray:
    """uint64 masks of an (n, k) boolean membership matrix."""
    k = bits.shape[1]
    weights = np.left_shift(np.uint64(1), np.arange(k, dtype=np.uint64))
    return (bits.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)


def _players(masks: np.ndarray, k: int, t: int) -> np.ndarray:
    """(n, t) player codes of masks that all have t members."""
    rows, cols = np.nonzero(bits_of(masks, k))
    return cols.reshape(len(masks), t)


def _subset_masks(players: np.ndarray, tags: np.ndarray) -> np.ndarray:
    """(n, 2^t) global masks of every subset of each row's players (local bit b = player b),
    each OR-ed with its row's tag.
    """
    n, t = players.shape
    bit = np.left_shift(np.uint64(1), players.astype(np.uint64))
    sub = np.zeros((n, 1 << t), dtype=np.uint64)
    sub[:, 0] = tags
    for b in range(t):
        sub[:, 1 << b: 1 << (b + 1)] = sub[:, : 1 << b] | bit[:, b: b + 1]
    return sub


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mix."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _set_keys(sets: np.ndarray, seed: np.uint64, half: int, t: int) -> np.ndarray:
    """(n, half, t) pseudo-random sort keys that depend only on (seed, set, slot)."""
    slot = np.arange(half * t, dtype=np.uint64).reshape(1, half, t)
    with np.errstate(over="ignore"):
        base = _splitmix64(_splitmix64(sets.astype(np.uint64) ^ seed)[:, None, None] + slot)
    return base


@functools.cache
def _exact_matrix(t: int) -> tuple[np.ndarray, np.ndarray]:
    """(2^t, t) matrix M with phi = v(subsets) @ M: column b holds +w(|S|) at each subset S
    with local player b and -w(|S|) at S without b (w(s) = s! (t-s-1)! / t!); and |M|.
    """
    patterns = np.arange(1 << t)
    size = np.array([bin(p).count("1") for p in range(1 << t)])  # t <= max_exact: small
    w = np.array([1.0 / (t * comb(t - 1, s)) if s < t else 0.0 for s in range(t + 1)])
    m = np.zeros((1 << t, t))
    for b in range(t):
        without = patterns[(patterns >> b) & 1 == 0]
        m[without | (1 << b), b] = w[size[without]]
        m[without, b] = -w[size[without]]
    m.setflags(write=False)
    return m, np.abs(m)


def _exact_values(vals: np.ndarray, t: int) -> np.ndarray:
    """(m, t) exact Shapley values of m sets of t players from the values of their 2^t
    subsets (columns in local-bit order): one matrix product. A value within the product's
    rounding bound, n eps sum_S |v(S) M[S, b]| with n = 2^t (Higham 2002, section 3.1), is
    indistinguishable from 0 and reported as 0: a player who changes no value (a placebo)
    gets exactly 0, not +-1e-16.
    """
    m, abs_m = _exact_matrix(t)
    phi = vals @ m
    bound = (np.abs(vals) @ abs_m) * ((1 << t) * np.finfo(np.float64).eps)
    phi[np.abs(phi) <= bound] = 0.0
    return phi


def shapley(sets: np.ndarray, value_fn, k: int, max_exact: int = 12, n_permutations: int = 200,
            rng: np.random.Generator | None = None, tags: np.ndarray | None = None,
            n_jobs: int | None = None):
    """Shapley values of every player in every set.

    Parameters
    ----------
    sets : array of uint64, shape (n,)
        Unique player sets as bit masks (any order, no duplicates needed).
    value_fn : callable
        ``value_fn(masks) -> float array``: the game's value of each coalition mask.
    k : int
        Number of players (bits); at most 64.
    max_exact : int
        Sets with more players are sampled.
    n_permutations : int
        Permutations per sampled set (rounded up to an even number: antithetic pairs).
    rng : numpy Generator
        Randomness of the sampling.
    tags : array of uint64, optional
        Bits above the k player bits, OR-ed into every coalition of a set: sets with
        different tags play different games (e.g. a journey's touch counts), and
        ``value_fn`` reads the tag from the high bits.
    n_jobs : int or None
        Threads evaluating ``value_fn`` over chunks of coalitions (joblib); the values, and so
        the results, do not depend on it.

    Returns
    -------
    phi : array (n, k)
        Shapley value of each player in each set (0 for players outside the set).
    se : array (n, k)
        Standard error of sampled values (0 where exact).
    v_set, v_empty : arrays (n,)
        v(T) of each set and v of its empty coalition (its tag alone).
    """
    if k > MAX_PLAYERS:
        raise ValueError(f"the Shapley kernel handles at most {MAX_PLAYERS} players, got {k}")
    sets = np.asarray(sets, dtype=np.uint64)
    n = len(sets)
    tags = np.zeros(n, dtype=np.uint64) if tags is None else np.asarray(tags, dtype=np.uint64)
    low = np.uint64((1 << k) - 1) if k < 64 else np.uint64(2**64 - 1)
    if k < 64 and (tags & low).any():
        raise ValueError("tags must not use the k player bits")
    sets = sets | tags
    size = bits_of(sets & low, k).sum(axis=1) if n else np.zeros(0, dtype=int)
    rng = rng if rng is not None else np.random.default_rng(0)

    # 1. the coalitions: every subset of each small set, permutation prefixes of the others
    exact = _exact_plan(sets, tags, size, low, k, max_exact)
    sampled = [(int(t), np.flatnonzero(size == t)) for t in np.unique(size) if t > max_exact]
    # one seed from rng; each set's permutations are a hash of (seed, set), so a set gets the
    # same estimate whichever other sets are in the call (a chunk, a partition, the whole)
    seed = np.uint64(rng.integers(0, 2**63)) if sampled else np.uint64(0)
    draws = [_permutations(sets, tags, idx, t, low, k, seed, n_permutations)
             for t, idx in sampled]
    # 2. each distinct coalition evaluated once
    v_set, v_empty, *rest = _evaluate([sets, tags] + [g.coalitions for g in exact]
                                      + [d.prefix for d in draws], value_fn, n_jobs)
    # 3. the values
    phi = np.zeros((n, k))
    se = np.zeros((n, k))
    for g, vals in zip(exact, rest[:len(exact)], strict=True):
        phi[g.idx[:, None], g.players] = _exact_values(vals, g.t)
    for d, vals in zip(draws, rest[len(exact):], strict=True):
        _sampled_values(phi, se, d, vals, v_empty, k)
    return phi, se, v_set, v_empty


class _ExactGroup(NamedTuple):
    """Sets of ``t`` players whose values are computed exactly, from every subset."""

    t: int
    idx: np.ndarray  # the sets' rows
    players: np.ndarray  # (m, t) player codes of each set
    coalitions: np.ndarray  # (m, 2^t) masks of every subset (local bit b = player b), tagged


class _Draws(NamedTuple):
    """Sets of one size whose values are estimated from antithetic permutations."""

    idx: np.ndarray  # the sets' rows
    perm: np.ndarray  # (m, 2 half, t) players in each permutation's order
    prefix: np.ndarray  # (m, 2 half, t) tagged masks of each permutation's prefixes
    half: int  # permutation pairs per set


def _exact_plan(sets, tags, size, low, k, max_exact) -> list[_ExactGroup]:
    """The sets of 1 to ``max_exact`` players, by size, in chunks of at most about ``_CHUNK``
    coalitions, with the masks of all their subsets.
    """
    groups = []
    for t in np.unique(size):
        idx = np.flatnonzero(size == t)
        if t == 0 or t > max_exact:
            continue
        players = _players(sets[idx] & low, k, int(t))
        step = max(1, _CHUNK >> int(t))
        for s in range(0, len(idx), step):
            sub = _subset_masks(players[s: s + step], tags[idx[s: s + step]])
            groups.append(_ExactGroup(int(t), idx[s: s + step], players[s: s + step], sub))
    return groups


def _permutations(sets, tags, idx, t, low, k, seed, n_permutations) -> _Draws:
    """Antithetic permutations (each with its reverse) of the players of the sets ``idx``,
    all of ``t`` players, and the masks of their prefixes.
    """
    half = max(1, (n_permutations + 1) // 2)
    players = _players(sets[idx] & low, k, t)
    keys = _set_keys(sets[idx], seed, half, t)
    order = np.argsort(keys, axis=2)
    order = np.concatenate([order, order[:, :, ::-1]], axis=1)  # (m, 2 half, t)
    perm = np.take_along_axis(np.repeat(players[:, None, :], 2 * half, axis=1), order, axis=2)
    bit = np.left_shift(np.uint64(1), perm.astype(np.uint64))
    prefix = np.bitwise_or.accumulate(bit, axis=2) | tags[idx, None, None]
    return _Draws(idx, perm, prefix, half)


def _evaluate(needed, value_fn, n_jobs) -> list[np.ndarray]:
    """The values of the masks of ``needed`` (a list of arrays), each shaped like its mask
    array: ``value_fn`` is called once on every distinct mask, in order of first appearance
    (a hash factorisation: faster than sorting and searching), in chunks over threads with
    ``n_jobs``.
    """
    flat = np.concatenate([m.ravel() for m in needed])
    codes, uniq = pd.factorize(flat)
    uniq = np.asarray(uniq, dtype=np.uint64)
    if n_jobs is not None and n_jobs != 1 and len(uniq) > 2 * _EVAL_CHUNK:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(value_fn)(uniq[s: s + _EVAL_CHUNK]) for s in range(0, len(uniq), _EVAL_CHUNK))
        values = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    else:
        values = np.asarray(value_fn(uniq), dtype=np.float64)
    if values.shape != uniq.shape:
        raise ValueError("value_fn must return one value per coalition")
    out, start = [], 0
    for m in needed:
        out.append(values[codes[start: start + m.size]].reshape(m.shape))
        start += m.size
    return out


def _sampled_values(phi, se, draws: _Draws, vals, v_empty, k) -> None:
    """Fill ``phi`` and ``se`` for the sets of ``draws``: the mean of the antithetic pairs'
    marginal contributions, and its standard error.
    """
    idx, perm, half = draws.idx, draws.perm, draws.half
    start = np.broadcast_to(v_empty[idx, None, None], vals.shape[:2] + (1,))
    before = np.concatenate([start, vals[:, :, :-1]], axis=2)
    contrib = vals - before  # marginal contribution of perm[..., i]
    per_player = np.zeros((len(idx), 2 * half, k))
    np.put_along_axis(per_player, perm, contrib, axis=2)
    pairs = 0.5 * (per_player[:, :half] + per_player[:, half:])  # antithetic averages
    phi[idx] = pairs.mean(axis=1)
    se[idx] = pairs.std(axis=1, ddof=1) / np.sqrt(half) if half > 1 else np.inf
