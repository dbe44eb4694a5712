"""Journeys reshaped: some journeys, some touches, one journey per distinct path, or the
touches recoded as channels.

Each function takes a :class:`~attribution.journeys.Journeys` and returns a new one (through
:meth:`~attribution.journeys.Journeys.replace`); the CSR ranges move by vectorised index
arithmetic, never a loop over journeys.
"""

from __future__ import annotations

import numpy as np

from attribution.journeys import paths as _paths
from attribution.journeys.arrays import offsets_of
from attribution.journeys.validation import InputError


def select(journeys, which):
    """The journeys at the given positions or boolean mask, in that order.

    Parameters
    ----------
    journeys : Journeys
    which : array of int or bool, or slice
        Positions (negative ones count from the end), or a mask over the journeys.

    Returns
    -------
    Journeys
        With their touches, weights, times, ids and seq; ``path_groups`` is forgotten.

    Raises
    ------
    InputError
        When ``which`` is not 1-D integers, a mask of the right length or a slice, or a
        position is out of range.
    """
    idx = positions(which, journeys.n_journeys)
    lengths = journeys.lengths[idx]
    take = _paths.ranges(journeys.offsets[idx], lengths)

    def sub(a):
        return None if a is None else a[idx]

    return journeys.replace(offsets=offsets_of(lengths), codes=journeys.codes[take],
                            conversions=journeys.conversions[idx], nulls=journeys.nulls[idx],
                            value=journeys.value[idx],
                            times=None if journeys.times is None else journeys.times[take],
                            end_times=sub(journeys.end_times), ids=sub(journeys.ids),
                            seq=sub(journeys.seq), path_groups=None)


def positions(which, n: int) -> np.ndarray:
    """The journey positions ``which`` selects among ``n``: positions, a boolean mask, or a
    slice, as a 1-D array of int64 in [0, n).
    """
    if isinstance(which, slice):
        return np.arange(n)[which]
    try:
        arr = np.asarray(which)
    except (TypeError, ValueError):  # ragged nested sequences
        arr = np.asarray(None)
    if arr.ndim == 1 and arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "biu":
        raise InputError(f"select needs a 1-D array of journey positions (integers) or a "
                         f"boolean mask, got {type(which).__name__} {which!r:.40}"
                         + (f" of dtype {arr.dtype}" if arr.ndim == 1 else ""))
    if arr.dtype.kind == "b":
        if arr.shape != (n,):
            raise InputError(f"a boolean mask for select needs one entry per journey ({n}), "
                             f"got {len(arr)}")
        return np.flatnonzero(arr)
    bad = (arr < -n) | (arr >= n)
    if bad.any():
        raise InputError(f"select: position {arr[np.argmax(bad)]} is out of range for "
                         f"{n} journeys (positions run from {-n} to {n - 1})")
    return np.where(arr < 0, arr + n, arr).astype(np.int64, copy=False)


def keep_touches(journeys, keep: np.ndarray, step: str, **extra):
    """The touches where ``keep`` is true, the removed ones counted in the report.

    Parameters
    ----------
    journeys : Journeys
    keep : array of bool, shape (n_touches,)
        No journey may lose all its touches.
    step : str
        The report step the removed touches are counted under.
    **extra
        Further constructor arguments to change (see ``Journeys.replace``).

    Returns
    -------
    Journeys
    """
    counts = np.add.reduceat(keep.astype(np.int64), journeys.offsets[:-1])
    report = list(journeys.report_records)
    report.append(dict(step=step, item="touches removed", count=int((~keep).sum())))
    return journeys.replace(offsets=offsets_of(counts), codes=journeys.codes[keep],
                            times=None if journeys.times is None else journeys.times[keep],
                            report=report, **extra)


def aggregate(journeys):
    """One journey per distinct path, in order of first appearance, weights summed.

    Parameters
    ----------
    journeys : Journeys
        Its ``path_groups`` are used when known; otherwise the paths are grouped by hashing.

    Returns
    -------
    Journeys
        Without times, end times, ids or seq; every journey is its own path group.
    """
    group, first = journeys.path_groups or _paths.group_identical_paths(journeys.offsets,
                                                                         journeys.codes)
    g = len(first)
    lengths = journeys.lengths[first]
    codes = journeys.codes[_paths.ranges(journeys.offsets[first], lengths)]
    report = list(journeys.report_records) + [dict(step="aggregate", item="unique paths",
                                                   count=g)]

    def total(w):
        return np.bincount(group, weights=w, minlength=g)

    return journeys.replace(offsets=offsets_of(lengths), codes=codes,
                            conversions=total(journeys.conversions),
                            nulls=total(journeys.nulls), value=total(journeys.value),
                            times=None, end_times=None, ids=None, seq=None, report=report,
                            path_groups=(np.arange(g), np.arange(g)), time_zone=None)


def channel_level(journeys):
    """The journeys with every touch recoded as its touchpoint's channel.

    Parameters
    ----------
    journeys : Journeys
        At touchpoint level.

    Returns
    -------
    Journeys
        At channel level, without stages; consecutive touches of one channel stay separate.
    """
    report = list(journeys.report_records) + [dict(step="at_level", item="channel", count=0)]
    return journeys.replace(codes=journeys.channel_of[journeys.codes],
                            names=journeys.channel_names,
                            channel_of=np.arange(len(journeys.channel_names)), stage_of=None,
                            level="channel", report=report)
