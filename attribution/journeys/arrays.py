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
    n = len(offsets) - 1
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
    """The channel code of every entity (int32) and the channel names (str), checked.

    Without both every entity is its own channel; one without the other is an error.
    """
    if channel_of is None and channel_names is None:
        return np.arange(len(names), dtype=np.int32), names.copy()
    if channel_of is None or channel_names is None:
        given, other = (("channel_of", "channel_names") if channel_names is None
                        else ("channel_names", "channel_of"))
        raise ParameterError(f"{given} needs {other}: pass both (a channel code per name and "
                             f"the channel names) or neither (every name its own channel)")
    if np.ndim(channel_names) != 1:
        raise ParameterError(f"channel_names must be a sequence of names, got {channel_names!r}")
    codes = np.asarray(channel_of)
    if not (codes.dtype.kind in "iu" or (codes.dtype.kind == "f"
                                         and bool(np.all(codes == np.round(codes))))):
        raise InputError(f"channel_of must hold integer channel codes, got dtype {codes.dtype}")
    codes = codes.astype(np.int64)
    channel_names = np.asarray([str(x) for x in channel_names], dtype=object)
    _check_channel_map(codes, channel_names, names)
    return codes.astype(np.int32), channel_names


def _check_channel_map(channel_of: np.ndarray, channel_names: np.ndarray,
                       names: np.ndarray) -> None:
    """Raise :class:`InputError` unless every entity of ``names`` has a channel code that
    indexes ``channel_names``, naming the first that has none.
    """
    k, n_ch = len(names), len(channel_names)
    if channel_of.shape != (k,):
        raise InputError(f"channel_of must give a channel code to each of the {k} names, got "
                         f"{channel_of.size} code(s); every touchpoint needs its channel")
    bad = (channel_of < 0) | (channel_of >= n_ch)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"channel_of gives {names[i]!r} the code {channel_of[i]}, which is "
                         f"not a channel: there are {n_ch} channel names (codes 0 to {n_ch - 1})")


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
