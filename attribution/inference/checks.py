"""The checks shared by the decoding of a model file and its schema (:mod:`.decode`,
:mod:`.schema`): the one-line :class:`InputError` naming the culprit, arrays of the right kind
and length, finite numbers, codes within a vocabulary, a consistent
:class:`AttributionResult`, fitted attribute names that cannot replace a method.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from attribution.inference.bootstrap import BootstrapReplicates
from attribution.journeys.validation import InputError
from attribution.result import AttributionResult

LEVELS = ("touchpoint", "channel")


def fail(where: str, problem: str):
    """Raise the :class:`InputError` of a bad model file: one line naming the culprit."""
    raise InputError(f"model file: {where} {problem}".replace("\n", " "))


def short(x, limit: int = 40) -> str:
    """``repr(x)`` cut to ``limit`` characters, for messages."""
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def vector(x, where: str, kinds: str, n: int | None = None, ndim: int = 1) -> np.ndarray:
    """Check that ``x`` is an ``ndim``-D array of a dtype kind in ``kinds`` (``n`` long)."""
    if not isinstance(x, np.ndarray) or x.ndim != ndim or x.dtype.kind not in kinds:
        got = (f"a {x.ndim}-D {x.dtype} array" if isinstance(x, np.ndarray)
               else f"a {type(x).__name__}")
        fail(where, f"is {got}, expected a {ndim}-D array of "
                    f"{'/'.join(_KIND_NAMES[k] for k in kinds)}")
    if n is not None and x.shape[0] != n:
        fail(where, f"has {x.shape[0]} entries, expected {n} (one per entity of names_)")
    return x


_KIND_NAMES = {"O": "names", "U": "strings", "f": "floats", "i": "integers", "u": "integers",
               "b": "booleans"}


def check_result(r: AttributionResult, where: str) -> AttributionResult:
    """``r`` if its fields are consistent: one finite credit per entity, channel codes that
    index the channel names, finite totals and extra rows, replicates named like it.
    """
    if not isinstance(r.model, str):
        fail(f"{where}.model", f"is {short(r.model)}, not text")
    if not (isinstance(r.level, str) and r.level in LEVELS):
        fail(f"{where}.level", f"is {short(r.level)}, not one of {LEVELS}")
    names = vector(r.names, f"{where}.names", "OU")
    k = len(names)
    for key in ("conversions", "value", "exposure"):
        finite(vector(getattr(r, key), f"{where}.{key}", "f", k), f"{where}.{key}")
    chans = vector(r.channel_names, f"{where}.channel_names", "OU")
    codes(vector(r.channel_of, f"{where}.channel_of", "iu", k), len(chans),
          f"{where}.channel_of")
    for key in ("total_conversions", "total_value"):
        number(getattr(r, key), f"{where}.{key}")
    if not isinstance(r.extra, dict):
        fail(f"{where}.extra", "is not a mapping of labels to (conversions, value)")
    for label, pair in r.extra.items():
        if not (isinstance(label, str) and isinstance(pair, (tuple, list)) and len(pair) == 2):
            fail(f"{where}.extra[{short(label)}]", "must map a label to (conversions, value)")
        for x in pair:
            number(x, f"{where}.extra[{label!r}]")
    if not (isinstance(r.diagnostics, dict) and all(isinstance(x, str) for x in r.diagnostics)):
        fail(f"{where}.diagnostics", "must map names to figures")
    reps = r.bootstrap_
    if reps is not None and not isinstance(reps, BootstrapReplicates):
        fail(f"{where}.bootstrap_", f"is a {type(reps).__name__}, not bootstrap replicates")
    if reps is not None and (len(reps.names) < k or (reps.names[:k].astype(str)
                                                     != names.astype(str)).any()):
        fail(f"{where}.bootstrap_.names", "do not start with the names of the result")
    return r


def finite(x: np.ndarray, where: str) -> np.ndarray:
    """Check that the float array ``x`` holds only finite numbers."""
    bad = np.flatnonzero(~np.isfinite(x.ravel()))
    if len(bad):
        fail(f"{where}[{int(bad[0])}]", f"is {x.ravel()[bad[0]]}; it must be finite")
    return x


def number(x, where: str):
    """Check that ``x`` is a finite int or float (not a bool)."""
    if type(x) not in (int, float) or not math.isfinite(x):
        fail(where, f"is {short(x)}, expected a finite number")
    return x


def codes(x: np.ndarray, n: int, where: str) -> np.ndarray:
    """Check that the integer array ``x`` indexes a vocabulary of ``n`` names."""
    if x.size and (x.min() < 0 or x.max() >= n):
        fail(where, f"holds codes outside [0, {n}), the {n} names they index")
    return x


def check_attribute_name(cls: type, name: str, where: str) -> None:
    """A fitted attribute ``name`` may be set on an instance of ``cls``: public, ending in
    ``_`` and not shadowing a method or property of the class.
    """
    if name.startswith("_"):
        fail(where, "is private; a model file sets only public fitted attributes (ending in "
                    "'_')")
    static = inspect.getattr_static(cls, name, None)
    if static is not None and (callable(static) or hasattr(type(static), "__get__")):
        fail(where, f"names a method or property of {cls.__name__}; a file cannot replace it")
    if not name.endswith("_"):
        fail(where, "is not a fitted attribute (their names end in '_')")
