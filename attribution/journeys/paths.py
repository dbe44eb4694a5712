"""Paths in the CSR layout: touch ranges, positions, distinct pairs, exact grouping of
identical paths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PAIR_TABLE_MIN = 1 << 16  # (journey, code) tables up to this size are always counted densely
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s + n)`` for every (s, n) pair, vectorised (one output-sized
    array: steps of 1 with a jump at each range's head, then a cumulative sum in place).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    nz = lengths > 0
    starts = np.asarray(starts, dtype=np.int64)[nz]
    lengths = lengths[nz]
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    out = np.ones(total, dtype=np.int64)
    heads = np.cumsum(lengths) - lengths
    out[0] = starts[0]
    out[heads[1:]] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    np.cumsum(out, out=out)
    return out


def touch_journey(offsets: np.ndarray) -> np.ndarray:
    """Journey index of each touch of a CSR layout."""
    lengths = np.diff(offsets)
    return np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)


def touch_position(offsets: np.ndarray) -> np.ndarray:
    """0-based position of each touch inside its journey."""
    lengths = np.diff(offsets)
    return np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths)


def distinct_pairs(tj: np.ndarray, codes: np.ndarray, k: int, return_counts: bool = False):
    """The distinct (journey, code) pairs, sorted by journey then code (and how many touches
    each pair has, with ``return_counts``).

    ``tj`` must be non-decreasing (touches in journey order). Without counts and with few
    codes (a table of at most 4 slots a touch) the pairs are marked in a table, O(n);
    otherwise the keys, nearly sorted, are sorted by a stable (radix/timsort) sort.
    """
    k = max(k, 1)
    key = tj.astype(np.int64) * k
    key += codes
    size = (int(tj[-1]) + 1) * k if len(tj) else 0
    if not return_counts and (size <= PAIR_TABLE_MIN or size <= 4 * len(key)):
        seen = np.zeros(size, dtype=bool)
        seen[key] = True
        return np.divmod(np.flatnonzero(seen), k)
    key.sort(kind="stable")
    keep = np.ones(len(key), dtype=bool)
    keep[1:] = key[1:] != key[:-1]
    jj, code = np.divmod(key[keep], k)
    if not return_counts:
        return jj, code
    return jj, code, np.diff(np.flatnonzero(keep), append=len(key))


def path_hashes(offsets: np.ndarray, codes: np.ndarray):
    """``(lengths, h1, h2)`` of every journey's code sequence: its length and two independent
    polynomial hashes. Equal paths have equal triples; :func:`group_identical_paths` checks
    members touch by touch, so a collision never merges different paths.
    """
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    pos = touch_position(offsets)
    maxlen = int(lengths.max()) if n else 0
    x = codes.astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        p1 = np.cumprod(np.full(max(maxlen, 1), _P1, dtype=np.uint64))
        p2 = np.cumprod(np.full(max(maxlen, 1), _P2, dtype=np.uint64))
        h1 = np.zeros(n, dtype=np.uint64)
        h2 = np.zeros(n, dtype=np.uint64)
        nonempty = lengths > 0
        if codes.size:
            starts = offsets[:-1][nonempty]
            h1[nonempty] = np.add.reduceat(x * p1[pos], starts)
            h2[nonempty] = np.add.reduceat(x ^ p2[pos], starts) * _P1 + np.add.reduceat(
                x * p2[pos], starts
            )
    return lengths, h1, h2


def group_identical_paths(offsets: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group journeys with identical code sequences.

    Returns ``(group, first)``: the group of every journey (groups numbered in order of first
    appearance) and the index of the first journey of each group.  Grouping hashes each path with
    two independent polynomial hashes plus its length, then checks every member touch-by-touch
    against its group's first journey, so the result is exact; on a hash collision it falls back
    to grouping by the path's bytes.
    """
    n = len(offsets) - 1
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lengths, h1, h2 = path_hashes(offsets, codes)
    pos = touch_position(offsets)
    order = np.lexsort((h2, h1, lengths))
    s_len, s1, s2 = lengths[order], h1[order], h2[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (s_len[1:] != s_len[:-1]) | (s1[1:] != s1[:-1]) | (s2[1:] != s2[:-1])
    sorted_group = np.cumsum(new) - 1
    n_groups = int(sorted_group[-1]) + 1
    first = np.full(n_groups, n, dtype=np.int64)
    np.minimum.at(first, sorted_group, order)
    group = np.empty(n, dtype=np.int64)
    group[order] = sorted_group
    # renumber groups by first appearance
    rank = np.argsort(first, kind="stable")
    relabel = np.empty(n_groups, dtype=np.int64)
    relabel[rank] = np.arange(n_groups)
    group = relabel[group]
    first = first[rank]
    # exact check against the group's first journey
    rep = first[group]
    tj = touch_journey(offsets)
    if not np.array_equal(codes, codes[offsets[rep][tj] + pos]):
        return _group_by_bytes(offsets, codes)
    return group, first


def _group_by_bytes(offsets, codes):  # pragma: no cover - only on a 128-bit hash collision
    keys = [codes[offsets[i]:offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]
    group, uniques = pd.factorize(pd.Series(keys, dtype=object))
    first = np.full(len(uniques), len(keys), dtype=np.int64)
    np.minimum.at(first, group, np.arange(len(keys)))
    return group.astype(np.int64), first


