"""Path transforms (the ones fractribution offers, vectorised over the CSR arrays).

``journeys.transform(name, **params)`` with ``name`` one of

- ``"collapse"`` (alias ``"exposure"``): merge consecutive repeats,
  ``a > a > b > a`` -> ``a > b > a``;
- ``"first"``: keep the first occurrence of each touchpoint, ``a > b > a > c`` -> ``a > b > c``;
- ``"frequency"``: first occurrences, renamed with their count, ``a > b > a`` -> ``a(2) > b(1)``
  (the new names keep their channel and stage);
- ``"trim"`` (``n``): keep the last ``n`` touches;
- ``"drop_unless_only"`` (``name``): remove ``name`` from journeys that also hold something else;
- ``"drop_if_last"`` (``name``): remove the trailing run of ``name`` unless the journey is only
  ``name``.

No transform empties a journey. Each one records the touches it removed in ``report_``.
"""

from __future__ import annotations

import numpy as np

from attribution.journeys.validation import InputError, ParameterError

TRANSFORMS = ("collapse", "exposure", "first", "frequency", "trim", "drop_unless_only",
              "drop_if_last")


def apply_transform(j, kind, /, **params):
    """Apply the transform named ``kind`` (module docstring) to journeys ``j``."""
    fn = _DISPATCH.get(kind)
    if fn is None:
        raise ParameterError(f"unknown transform {kind!r}; choose one of {', '.join(TRANSFORMS)}")
    import inspect

    expected = [p for p in inspect.signature(fn).parameters if p != "j"]
    if set(params) != set(expected):
        raise ParameterError(f"transform {kind!r} takes {expected or 'no parameters'}, got "
                             f"{sorted(params)}")
    return fn(j, **params)


def _code_of(j, name):
    hits = np.flatnonzero(j.names == str(name))
    if not hits.size:
        raise InputError(f"{j.level} {name!r} is not in these journeys; known: "
                         f"{', '.join(map(str, j.names[:20]))}")
    return int(hits[0])


def collapse(j):
    """Merge consecutive repeats of an entity: ``a > a > b`` -> ``a > b``."""
    c = j.codes
    keep = np.ones(j.n_touches, dtype=bool)
    np.not_equal(c[1:], c[:-1], out=keep[1:])
    keep[j.offsets[:-1]] = True  # a journey's first touch
    return j.with_touches(keep, "collapse")


def _first_occurrence(j):
    key = j.touch_journey * len(j.names) + j.codes
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    keep = np.zeros(j.n_touches, dtype=bool)
    keep[first] = True
    count = np.zeros(j.n_touches, dtype=np.int64)
    count[first] = counts
    return keep, count


def first(j):
    """Keep the first occurrence of each entity in a journey."""
    keep, _ = _first_occurrence(j)
    return j.with_touches(keep, "first")


def frequency(j):
    """First occurrences, renamed with their count in the journey: ``a(2)``."""
    keep, count = _first_occurrence(j)
    pair = j.codes[keep].astype(np.int64) * (int(count.max()) + 1) + count[keep]
    uniq, new_codes = np.unique(pair, return_inverse=True)
    base, cnt = np.divmod(uniq, int(count.max()) + 1)
    names = [f"{j.names[b]}({n})" for b, n in zip(base, cnt, strict=True)]
    out = j.with_touches(keep, "frequency")
    return out.replace(codes=new_codes.astype(np.int32), names=names,
                        channel_of=j.channel_of[base],
                        stage_of=None if j.stage_of is None else j.stage_of[base])


def trim(j, n):
    """Keep the last ``n`` touches of each journey."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"trim needs n >= 1 (touches to keep), got {n!r}")
    keep = j.touch_position >= (j.lengths - n)[j.touch_journey]
    return j.with_touches(keep, f"trim({n})")


def drop_unless_only(j, name):
    """Remove ``name`` from journeys that also hold something else."""
    c = _code_of(j, name)
    is_c = j.codes == c
    only = np.bincount(j.touch_journey[is_c], minlength=j.n_journeys) == j.lengths
    keep = ~is_c | only[j.touch_journey]
    return j.with_touches(keep, f"drop_unless_only({name})")


def drop_if_last(j, name):
    """Remove the trailing run of ``name`` unless the journey is only ``name``."""
    c = _code_of(j, name)
    pos = j.touch_position
    last_other = np.maximum.reduceat(np.where(j.codes != c, pos, -1), j.offsets[:-1])
    lo = last_other[j.touch_journey]
    keep = (pos <= lo) | (lo < 0)
    return j.with_touches(keep, f"drop_if_last({name})")


_DISPATCH = {
    "collapse": collapse,
    "exposure": collapse,
    "first": first,
    "frequency": frequency,
    "trim": trim,
    "drop_unless_only": drop_unless_only,
    "drop_if_last": drop_if_last,
}
