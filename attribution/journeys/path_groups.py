"""Numbering helpers for grouped path strings (:mod:`~attribution.journeys.path_table`)."""

from __future__ import annotations

import numpy as np


def renumber(path: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Path indices of the kept items renumbered 0..m-1 (order kept; -1 elsewhere)."""
    used = np.zeros(int(path.max()) + 1 if len(path) else 0, dtype=bool)
    used[path[keep]] = True
    relabel = np.cumsum(used) - 1
    return np.where(keep, relabel[path], -1)


def first_occurrences(group: np.ndarray) -> np.ndarray:
    """Where each group (numbered by first appearance) first occurs: the running maximum
    grows there.
    """
    new = np.ones(len(group), dtype=bool)
    if len(group) > 1:
        np.greater(group[1:], np.maximum.accumulate(group)[:-1], out=new[1:])
    return np.flatnonzero(new)
