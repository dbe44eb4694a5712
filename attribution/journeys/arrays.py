"""The arrays a :class:`~attribution.journeys.Journeys` holds: coerced, checked, read-only.

Journeys are stored in a CSR layout: journey ``j`` holds the touches
``codes[offsets[j]:offsets[j + 1]]``, each code indexing ``names``. Beside it are the
per-journey weights, the entity -> channel map and optional per-touch and per-journey arrays.
The constructor of Journeys brings each to its dtype and checks it (:func:`checked`), then
stores read-only views of them.
"""

from __future__ import annotations

import numpy as np

from attribution.journeys.times import check_time_kind
from attribution.journeys.validation import InputError, ParameterError, check_finite_nonneg

#: The array attributes of a Journeys, stored as read-only views.
ARRAYS = ("offsets", "codes", "conversions", "nulls", "value", "names", "channel_of",
          "channel_names", "stage_of", "times", "end_times", "ids", "seq")
#: What the codes of a Journeys may name.
LEVELS = ("touchpoint", "channel")


def checked(offsets, codes, conversions, nulls, value, *, names, channel_of, channel_names,
            stage_of, times, end_times, ids, seq, level, time_kind, path_groups) -> dict:
    """The constructor arguments of a Journeys (all but ``report``), coerced and checked.

    Parameters
    ----------
    offsets, codes, conversions, nulls, value, names, channel_of, channel_names, stage_of, \
times, end_times, ids, seq, level, time_kind, path_groups
        As documented on :class:`~attribution.journeys.Journeys`.

    Returns
    -------
    dict
        Attribute name -> value. The arrays (:data:`ARRAYS`) are read-only views, so the
        caller's arrays stay writeable.

    Raises
    ------
    InputError, ParameterError
        When an array has the wrong shape or values out of range, or ``level`` or ``time_kind``
        is unknown.
    """
    offsets, codes, names = _csr(offsets, codes, names)
    n, k = len(offsets) - 1, len(names)
    out = dict(offsets=offsets, codes=codes, names=names,
               conversions=_weights(conversions, "conversions", n),
               nulls=_weights(nulls, "nulls", n), value=_weights(value, "value", n))
    out["channel_of"], out["channel_names"] = _channel_map(channel_of, channel_names, names)
    out.update(stage_of=_optional(stage_of, object), times=_optional(times, np.int64),
               end_times=_optional(end_times, np.int64), ids=_optional(ids),
               seq=_optional(seq, np.int64))
    if level not in LEVELS:
        raise ParameterError(f"level must be one of {LEVELS}, got {level!r}")
    check_time_kind(time_kind)
    _check_channel_map(out["channel_of"], out["channel_names"], k)
    out.update(level=level, time_kind=time_kind, path_groups=_path_groups(path_groups, n))
    for key in ARRAYS:
        if out[key] is not None:
            out[key] = _read_only(out[key])
    return out


def offsets_of(lengths: np.ndarray) -> np.ndarray:
    """CSR offsets of consecutive ranges with the given lengths.

    Parameters
    ----------
    lengths : array of int, shape (n,)
        Length of each range.

    Returns
    -------
    array of int64, shape (n + 1,)
        ``0`` followed by the cumulative sum of ``lengths``.
    """
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def _csr(offsets, codes, names) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR layout as int64 offsets, int32 codes and str names, checked.

    Parameters
    ----------
    offsets, codes : array-like of int
        CSR offsets (from 0 to ``len(codes)``) and the entity code of every touch.
    names : sequence
        Entity names; made str.

    Returns
    -------
    offsets, codes, names : arrays
        Coerced copies (or the inputs, when they have the dtype already).

    Raises
    ------
    InputError
        When the offsets do not run from 0 to ``len(codes)``, a journey has no touch, or a code
        does not index ``names``.
    """
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    codes = np.ascontiguousarray(codes, dtype=np.int32)
    n = len(offsets) - 1
    if n < 0 or offsets[0] != 0 or offsets[-1] != len(codes):
        raise InputError("offsets must start at 0 and end at len(codes)")
    lengths = np.diff(offsets)
    if (lengths <= 0).any():
        j = int(np.flatnonzero(lengths <= 0)[0])
        raise InputError(f"journey {j} has no touch; every journey needs at least one touch")
    names = np.asarray([str(x) for x in names], dtype=object)
    k = len(names)
    if codes.size and (codes.min() < 0 or codes.max() >= k):
        raise InputError(f"touch codes must lie in [0, {k}) to index the {k} names")
    return offsets, codes, names


def _weights(x, role: str, n: int) -> np.ndarray:
    """A per-journey weight (conversions, nulls, value) as float64, finite and >= 0.

    Parameters
    ----------
    x : array-like, shape (n,), or None
        The weights; None means zeros.
    role : str
        Its name, for error messages.
    n : int
        Number of journeys.

    Returns
    -------
    array of float64, shape (n,)
    """
    if x is None:
        return np.zeros(n)
    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.shape != (n,):
        raise InputError(f"{role} must have one entry per journey ({n}), got {arr.shape}")
    return check_finite_nonneg(arr, role, role)


def _channel_map(channel_of, channel_names, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The channel code of every entity (int32) and the channel names (str).

    Without ``channel_of`` every entity is its own channel. Check the result with
    :func:`_check_channel_map`.
    """
    if channel_of is None:
        return np.arange(len(names), dtype=np.int32), names.copy()
    return (np.asarray(channel_of, dtype=np.int32),
            np.asarray([str(x) for x in channel_names], dtype=object))


def _check_channel_map(channel_of: np.ndarray, channel_names: np.ndarray, k: int) -> None:
    """Raise :class:`InputError` unless each of the ``k`` entities has a channel code that
    indexes ``channel_names``.
    """
    if channel_of.shape != (k,) or (k and (channel_of.min() < 0 or
                                           channel_of.max() >= len(channel_names))):
        raise InputError(f"channel_of must give each of the {k} names a channel code in "
                         f"[0, {len(channel_names)})")


def _optional(x, dtype=None) -> np.ndarray | None:
    """``x`` as an array (of ``dtype`` when given), or None."""
    return None if x is None else np.asarray(x, dtype=dtype)


def _path_groups(groups, n: int):
    """Which journeys share a path: (group of each of the n journeys, first journey of each
    group) as read-only int64 arrays, checked; None stays None.
    """
    if groups is None:
        return None
    group, first = (np.asarray(a, dtype=np.int64) for a in groups)
    if group.shape != (n,) or (n and (group.min() < 0 or group.max() >= len(first))):
        raise InputError(f"path_groups must give each of the {n} journeys a group in "
                         f"[0, {len(first)})")
    return _read_only(group), _read_only(first)


def _read_only(arr: np.ndarray) -> np.ndarray:
    """A read-only view of ``arr`` (``arr`` itself stays writeable)."""
    view = arr.view()
    view.flags.writeable = False
    return view
