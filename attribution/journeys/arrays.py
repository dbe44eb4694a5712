"""The arrays a :class:`~attribution.journeys.Journeys` holds: coerced, checked, read-only.

Journeys are stored in a CSR layout: journey ``j`` holds the touches
``codes[offsets[j]:offsets[j + 1]]``, each code indexing ``names``. Beside it are the
per-journey weights, the entity -> channel map and optional per-touch and per-journey arrays.
The constructor of Journeys brings each to its dtype and checks it (:func:`checked`), then
stores read-only views of them.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import pandas as pd

from attribution.journeys.times import check_time_kind
from attribution.journeys.validation import InputError, ParameterError, check_finite_nonneg

#: The array attributes of a Journeys, stored as read-only views.
ARRAYS = ("offsets", "codes", "conversions", "nulls", "value", "names", "channel_of",
          "channel_names", "stage_of", "times", "end_times", "ids", "seq")
#: What the codes of a Journeys may name.
LEVELS = ("touchpoint", "channel")


def checked(offsets, codes, conversions, nulls, value, *, names, channel_of, channel_names,
            stage_of, times, end_times, ids, seq, level, time_kind, path_groups,
            time_zone=None) -> dict:
    """The constructor arguments of a Journeys (all but ``report``), coerced and checked.

    Parameters
    ----------
    offsets, codes, conversions, nulls, value, names, channel_of, channel_names, stage_of, \
times, end_times, ids, seq, level, time_kind, path_groups, time_zone
        As documented on :class:`~attribution.journeys.Journeys`.

    Returns
    -------
    dict
        Attribute name -> value. The arrays (:data:`ARRAYS`) are read-only views, so the
        caller's arrays stay writeable.

    Raises
    ------
    InputError, ParameterError
        When an array is not 1-D, has the wrong length or dtype or values out of range (each
        error names the argument), or ``level``, ``time_kind`` or ``time_zone`` is unknown.
    """
    offsets, codes, names = _csr(offsets, codes, names)
    n, m, k = len(offsets) - 1, len(codes), len(names)
    out = dict(offsets=offsets, codes=codes, names=names,
               conversions=_weights(conversions, "conversions", n),
               nulls=_weights(nulls, "nulls", n), value=_weights(value, "value", n))
    out["channel_of"], out["channel_names"] = _channel_map(channel_of, channel_names, names)
    out.update(stage_of=_optional(stage_of, "stage_of", k, "name", object),
               times=_optional(times, "times", m, "touch", np.int64),
               end_times=_optional(end_times, "end_times", n, "journey", np.int64),
               ids=_optional(ids, "ids", n, "journey"),
               seq=_optional(seq, "seq", n, "journey", np.int64))
    if level not in LEVELS:
        raise ParameterError(f"level must be one of {LEVELS}, got {level!r}")
    check_time_kind(time_kind)
    out.update(level=level, time_kind=time_kind, path_groups=_path_groups(path_groups, n),
               time_zone=_time_zone(time_zone, time_kind, out["times"], out["end_times"]))
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
        CSR offsets (from 0 to ``len(codes)``) and the entity code of every touch; whole
        floats are read as integers.
    names : sequence
        Entity names, distinct; made str.

    Returns
    -------
    offsets, codes, names : arrays
        Coerced copies (or the inputs, when they have the dtype already).

    Raises
    ------
    InputError
        When an argument is not a 1-D array of integers (names: of labels), the offsets do
        not run from 0 to ``len(codes)``, a journey has no touch, a code does not index
        ``names`` or two names are the same.
    """
    offsets = _integers(offsets, "offsets", "CSR offsets")
    codes = _integers(codes, "codes", "entity codes")
    names = _names(names, "names")
    n = len(offsets) - 1
    if n < 0 or offsets[0] != 0 or offsets[-1] != len(codes):
        raise InputError(f"offsets must start at 0 and end at len(codes) = {len(codes)}, got "
                         + (f"{offsets[0]} ... {offsets[-1]}" if n >= 0 else "an empty array"))
    lengths = np.diff(offsets)
    if (lengths <= 0).any():
        j = int(np.flatnonzero(lengths <= 0)[0])
        raise InputError(f"journey {j} has no touch; every journey needs at least one touch")
    k = len(names)
    if codes.size and (codes.min() < 0 or codes.max() >= k):
        raise InputError(f"touch codes must lie in [0, {k}) to index the {k} names, got "
                         f"{codes.min()} ... {codes.max()}")
    return (np.ascontiguousarray(offsets, dtype=np.int64),
            np.ascontiguousarray(codes, dtype=np.int32), names)


def _weights(x, role: str, n: int) -> np.ndarray:
    """A per-journey weight (conversions, nulls, value) as float64, finite and >= 0.

    Parameters
    ----------
    x : array-like, shape (n,), or None
        The weights (numbers or booleans); None means zeros.
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
    arr = np.ascontiguousarray(_vector(x, role, "numbers"), dtype=np.float64)
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
    channel_names = _names(channel_names, "channel_names")
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


def _optional(x, name: str, size: int, per: str, dtype=None) -> np.ndarray | None:
    """``x`` as a 1-D array of ``size`` entries (integers when ``dtype`` is int64, else of
    ``dtype``), one per ``per``; None stays None.
    """
    if x is None:
        return None
    if dtype is np.int64:
        arr = _integers(x, name, "integers").astype(np.int64, copy=False)
    else:
        arr = _vector(x, name, "labels", numeric=False)
        arr = arr if dtype is None else arr.astype(dtype, copy=False)
    if len(arr) != size:
        raise InputError(f"{name} must have one entry per {per} ({size}), got {len(arr)}")
    return arr


def _vector(x, name: str, what: str, numeric: bool = True) -> np.ndarray:
    """``x`` as a 1-D numpy array; of numbers (``numpy`` kinds b, i, u, f) when ``numeric``,
    an object array holding only numbers being made float64.
    """
    try:
        arr = None if x is None or isinstance(x, (str, bytes, dict)) else np.asarray(x)
    except (TypeError, ValueError):  # ragged nested sequences
        arr = None
    if arr is None or arr.ndim != 1:
        got = f"shape {arr.shape}" if arr is not None else f"{type(x).__name__} {x!r:.40}"
        raise InputError(f"{name} must be a 1-D array of {what}, got {got}")
    if not numeric:
        return arr
    if arr.dtype.kind == "O" and pd.api.types.infer_dtype(arr, skipna=False) in (
            "integer", "floating", "mixed-integer-float", "empty"):
        arr = arr.astype(np.float64)
    if arr.dtype.kind not in "biuf":
        odd = arr[:1].tolist()
        if arr.dtype.kind == "O":  # show an item that is not a number
            odd = [x for x in arr.tolist() if isinstance(x, bool)
                   or not isinstance(x, numbers.Number)][:1]
        raise InputError(f"{name} must hold {what}, got dtype {arr.dtype}"
                         + (f" holding {odd[0]!r:.40}" if odd else "")
                         + "; pass a numeric array")
    return arr


def _integers(x, name: str, what: str) -> np.ndarray:
    """``x`` as a 1-D array of integers: its own integer dtype, or int64 from whole floats."""
    arr = _vector(x, name, what)
    if arr.dtype.kind == "b":
        raise InputError(f"{name} must hold {what} (integers), got booleans; pass integers")
    if arr.dtype.kind == "f":
        bad = ~(np.abs(arr) < 2.0**63) | (arr != np.floor(arr))  # NaN and inf are bad too
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{name} must hold {what} (whole numbers), but position {i} "
                             f"holds {float(arr[i])!r}; pass integers")
        arr = arr.astype(np.int64)
    elif arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise InputError(f"{name} holds {arr.max()}, beyond what int64 holds")
    return arr


def _names(names, what: str) -> np.ndarray:
    """Entity (or channel) names as a 1-D object array of distinct str."""
    arr = _vector(names, what, "names", numeric=False)
    out = np.asarray([str(x) for x in arr], dtype=object)
    dup = pd.Index(out).duplicated()
    if dup.any():
        raise InputError(f"{what} must be distinct, but {out[np.argmax(dup)]!r} appears more "
                         f"than once; rename or merge those entities")
    return out


def _time_zone(zone, time_kind: str, times, end_times) -> str | None:
    """The zone of datetimes (a name pandas reads, such as "Europe/Paris"), checked."""
    if zone is None:
        return None
    if not isinstance(zone, str):
        raise ParameterError(f"time_zone must be a zone name such as 'Europe/Paris' or None, "
                             f"got {type(zone).__name__} {zone!r:.40}")
    if time_kind != "datetime" or (times is None and end_times is None):
        raise ParameterError(f"time_zone={zone!r} is the zone of datetimes, but these journeys "
                             f"have {'no times' if time_kind == 'datetime' else 'steps'}; "
                             f"pass time_zone=None")
    return _known_zone(zone)


@functools.lru_cache(maxsize=64)
def _known_zone(zone: str) -> str:
    """``zone`` when pandas knows it, else :class:`ParameterError`."""
    try:
        pd.Timestamp(0).tz_localize(zone)
    except Exception as exc:  # zoneinfo, pytz and dateutil each raise their own
        raise ParameterError(f"time_zone={zone!r} is not a time zone; pass a name such as "
                             f"'Europe/Paris' or 'UTC', or an offset such as '+01:00'") from exc
    return zone


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


def frozen(value):
    """``value`` with its numpy arrays (also inside a tuple) made read-only, in place."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, tuple):
        for item in value:
            frozen(item)
    return value
