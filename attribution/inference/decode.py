"""The values of a model file, decoded and checked one by one (see :mod:`.schema`).

:func:`to_json <attribution.inference.persist.to_json>` writes plain JSON scalars and tagged
objects (``{"__ndarray__": [...], "dtype": ..., "shape": [...]}``, ``{"__series__": ...}``,
...). :func:`decode` turns them back into Python objects and trusts none of them: each tag
takes exactly its keys, an array's declared shape must hold exactly the items stored (so
nothing is allocated beyond what the file holds), dtypes come from an allow-list, object
arrays hold only names and numbers, nesting is bounded, and estimators are only
``sklearn.linear_model`` classes. Every failure is an :class:`InputError` naming where in the
file it is (``attribute 'credit_' (values)[3]``).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from attribution.inference.bootstrap import METHODS, BootstrapReplicates
from attribution.inference.checks import (
    check_attribute_name,
    check_result,
    fail,
    short,
    vector,
)
from attribution.journeys.validation import AttributionError
from attribution.models import BinomialModel
from attribution.result import AttributionResult

SKLEARN_OK = "sklearn.linear_model"
#: deepest nesting of tagged values (a result in a dict in a tuple ... is a few levels)
MAX_DEPTH = 16
MAX_NDIM = 8
#: numeric dtypes an array may declare; also "object" (1-D, names and numbers) and "<U{n}"
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64")
FLOAT_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class StoredSummary:
    """Stand-in for a statsmodels result after :func:`load_json`: ``summary()`` is its text."""

    def __init__(self, text: str):
        self.text = text

    def summary(self) -> str:
        """The summary text stored at export."""
        return self.text

    def __repr__(self) -> str:
        return self.text


def array_dtype(arr: np.ndarray) -> str | None:
    """The dtype ``arr`` is written with, or None when it is not in the allow-list."""
    if arr.dtype == object:
        return "object"
    if arr.dtype.kind == "U":  # the narrowest width that holds the items
        return f"<U{max([1, *(len(s) for s in arr.ravel().tolist())])}"
    return arr.dtype.name if arr.dtype.name in DTYPES else None


def decode(obj, where: str, depth: int = 0):
    """The Python value of ``obj`` (parsed JSON), checked (module docstring)."""
    if depth > MAX_DEPTH:
        fail(where, f"nests deeper than {MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            fail(where, 'holds a number out of range (non-finite numbers are stored as '
                        '{"__float__": "inf"})')
        return obj
    if isinstance(obj, list):
        fail(where, "is a bare JSON list; lists, tuples and arrays are stored tagged "
                    "(__list__, __tuple__, __ndarray__)")
    tags = [k for k in obj if k in _HANDLERS]
    if len(tags) != 1:
        fail(where, f"is not a stored value (keys {short(sorted(obj), 60)})")
    tag = tags[0]
    extra = set(obj) - {tag} - _SIBLINGS.get(tag, set())
    if extra:
        fail(where, f"has unexpected key {short(sorted(extra)[0])} beside {tag}")
    return _HANDLERS[tag](obj, where, depth + 1)


def fields(obj, keys, where: str) -> dict:
    """``obj`` as a JSON object with exactly ``keys``."""
    if not isinstance(obj, dict):
        fail(where, f"is a JSON {type(obj).__name__}, expected an object with keys "
                    f"{sorted(keys)}")
    missing, extra = sorted(set(keys) - set(obj)), sorted(set(obj) - set(keys))
    if missing:
        fail(where, f"lacks key {missing[0]!r}")
    if extra:
        fail(where, f"has unexpected key {short(extra[0])}")
    return obj


def _float(obj, where, depth):
    word = obj["__float__"]
    if not isinstance(word, str) or word not in FLOAT_WORDS:
        fail(where, f"holds {short(word)} where 'nan', 'inf' or '-inf' was expected")
    return FLOAT_WORDS[word]


def _ndarray(obj, where, depth):
    items, dtype, shape = obj["__ndarray__"], obj.get("dtype"), obj.get("shape")
    if not isinstance(items, list):
        fail(where, f"has items that are a JSON {type(items).__name__}, not a list")
    if not (isinstance(dtype, str) and (dtype in DTYPES or dtype == "object"
                                         or _unicode_width(dtype))):
        fail(where, f"has dtype {short(dtype)}, not one of the allowed dtypes ("
                    f"{', '.join(DTYPES)}, <U, object)")
    if dtype == "object":
        if shape is not None and shape != [len(items)]:
            fail(where, f"declares shape {short(shape)} for an object array of {len(items)} "
                        "items; object arrays are 1-D")
        out = np.empty(len(items), dtype=object)
        out[:] = [_scalar(x, f"{where}[{i}]") for i, x in enumerate(items)]
        return out
    dims = _shape(shape, len(items), where)
    values = _typed(items, dtype, where)
    try:
        with np.errstate(over="raise", invalid="raise"):
            arr = np.array(values, dtype=dtype)
    except (OverflowError, ValueError, TypeError, FloatingPointError) as exc:
        fail(where, f"holds a value out of range for {dtype} ({exc})")
    return arr.reshape(dims)


def _unicode_width(dtype: str) -> int:
    digits = dtype[2:]
    ok = dtype.startswith("<U") and digits.isdigit() and len(digits) < 10 and int(digits) > 0
    return int(digits) if ok else 0


def _shape(shape, n: int, where: str) -> tuple:
    if not (isinstance(shape, list) and len(shape) <= MAX_NDIM
            and all(type(d) is int and d >= 0 for d in shape)):
        fail(where, f"declares shape {short(shape)}; a shape is a list of at most {MAX_NDIM} "
                    "non-negative integers")
    size = math.prod(shape)
    if size != n:
        fail(where, f"declares shape {short(shape)} ({size} items) but holds {n}")
    return tuple(shape)


def _typed(items: list, dtype: str, where: str) -> list:
    kind = "U" if dtype.startswith("<U") else np.dtype(dtype).kind
    if kind == "f":
        items = [_float(x, f"{where}[{i}]", 0) if isinstance(x, dict) and set(x) == {"__float__"}
                 else x for i, x in enumerate(items)]
    ok = _ITEM_TYPES[kind]
    for i, x in enumerate(items):
        if type(x) not in ok:
            fail(f"{where}[{i}]", f"holds {short(x)}, not a value of dtype {dtype}")
    width = max([1, *(len(s) for s in items)]) if kind == "U" else 0
    if kind == "U" and _unicode_width(dtype) != width:
        fail(where, f"declares dtype {dtype} for strings of at most {width} characters")
    return items


_ITEM_TYPES = {"b": (bool,), "i": (int,), "u": (int,), "U": (str,), "f": (int, float)}


def _scalar(x, where: str):
    if isinstance(x, dict) and set(x) == {"__float__"}:
        return _float(x, where, 0)
    if x is None or type(x) in (bool, str, int) or (type(x) is float and math.isfinite(x)):
        return x
    fail(where, f"holds {short(x)}; object arrays hold only names and numbers")


def _label(x, where: str):
    if x is None or type(x) in (bool, str, int, float):
        return x
    fail(where, f"is {short(x)}; a name is a string, a number or null")


def _series(obj, where, depth):
    d = fields(obj["__series__"], ("values", "index", "index_name", "name"), where)
    values = vector(decode(d["values"], f"{where} (values)", depth), f"{where} (values)",
                    "biufOU")
    index = vector(decode(d["index"], f"{where} (index)", depth), f"{where} (index)",
                   "biufOU", len(values))
    idx = pd.Index(index, name=_label(d["index_name"], f"{where} (index name)"))
    return pd.Series(values, index=idx, name=_label(d["name"], f"{where} (name)"))


def _frame(obj, where, depth):
    d = fields(obj["__frame__"], ("columns", "data", "index", "index_name"), where)
    cols, data = d["columns"], d["data"]
    if not (isinstance(cols, list) and all(isinstance(c, str) for c in cols)
            and len(set(cols)) == len(cols)):
        fail(f"{where} (columns)", "must be a list of distinct column names")
    if not isinstance(data, list) or len(data) != len(cols):
        fail(f"{where} (data)", f"must hold one array per column ({len(cols)})")
    index = vector(decode(d["index"], f"{where} (index)", depth), f"{where} (index)", "biufOU")
    columns = {c: vector(decode(v, f"{where}[{c!r}]", depth), f"{where}[{c!r}]", "biufOU",
                         len(index)) for c, v in zip(cols, data, strict=True)}
    idx = pd.Index(index, name=_label(d["index_name"], f"{where} (index name)"))
    return pd.DataFrame(columns, index=idx, columns=cols)


def _sequence(obj, where, depth):
    tag = "__tuple__" if "__tuple__" in obj else "__list__"
    items = obj[tag]
    if not isinstance(items, list):
        fail(where, f"holds a JSON {type(items).__name__} under {tag}, not a list")
    out = [decode(x, f"{where}[{i}]", depth) for i, x in enumerate(items)]
    return tuple(out) if tag == "__tuple__" else out


def _mapping(obj, where, depth):
    pairs = obj["__dict__"]
    if not isinstance(pairs, list):
        fail(where, f"holds a JSON {type(pairs).__name__} under __dict__, not a list of pairs")
    out = {}
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2):
            fail(f"{where}[{i}]", "is not a [key, value] pair")
        key = decode(pair[0], f"{where} (key {i})", depth)
        if not _hashable(key):
            fail(f"{where} (key {i})", f"is {short(key)}; keys are names, numbers or tuples")
        if key in out:
            fail(where, f"repeats key {short(key)}")
        out[key] = decode(pair[1], f"{where}[{key!r}]", depth)
    return out


def _hashable(key) -> bool:
    if isinstance(key, tuple):
        return all(_hashable(k) for k in key)
    return key is None or type(key) in (bool, str, int, float)


def _result(obj, where, depth):
    names = tuple(AttributionResult.__dataclass_fields__)
    d = fields(obj["__result__"], names, where)
    return check_result(AttributionResult(**{k: decode(d[k], f"{where}.{k}", depth)
                                             for k in names}), where)


def _bootstrap(obj, where, depth):
    d = fields(obj["__bootstrap__"], ("names", "conversions", "value", "method", "seed"), where)
    names = vector(decode(d["names"], f"{where}.names", depth), f"{where}.names", "OU")
    arrays = {}
    for key in ("conversions", "value"):
        a = vector(decode(d[key], f"{where}.{key}", depth), f"{where}.{key}", "f", ndim=2)
        if a.shape[0] < 1 or a.shape[1] != len(names):
            fail(f"{where}.{key}", f"has shape {a.shape}, expected (replicates >= 1, "
                                   f"{len(names)}) for the {len(names)} names")
        if not np.isfinite(a).all():
            fail(f"{where}.{key}", "holds non-finite replicate credit")
        arrays[key] = a
    method, seed = d["method"], d["seed"]
    if not (isinstance(method, str) and method in METHODS):
        fail(f"{where}.method", f"is {short(method)}, not one of {METHODS}")
    if not (seed is None or (type(seed) is int and seed >= 0)):
        fail(f"{where}.seed", f"is {short(seed)}, expected a non-negative integer or null")
    return BootstrapReplicates(names, arrays["conversions"], arrays["value"], method, seed)


def _summary(obj, where, depth):
    if not isinstance(obj["__summary__"], str):
        fail(where, "holds a summary that is not text")
    return StoredSummary(obj["__summary__"])


def _sklearn(obj, where, depth):
    d = fields(obj["__sklearn__"], ("cls", "params", "fitted"), where)
    name = d["cls"]
    cls = (getattr(importlib.import_module(SKLEARN_OK), name, None)
           if isinstance(name, str) and not name.startswith("_") else None)
    cls = BinomialModel if name == "BinomialModel" else cls
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        fail(where, f"names unknown estimator {short(name)}; only {SKLEARN_OK} estimators "
                    "and BinomialModel are read")
    params = decode(d["params"], f"{where}.params", depth)
    defaults = cls().get_params(deep=False)
    if not isinstance(params, dict) or not set(params) <= set(defaults):
        bad = sorted(set(params) - set(defaults), key=str) if isinstance(params, dict) else []
        fail(f"{where}.params", f"{'has ' + short(bad[0]) if bad else 'is not a mapping'}, "
                                f"not a parameter of {name}")
    for key, value in params.items():
        check_param(value, defaults[key], key, f"{where}.params[{key!r}]")
    try:
        est = cls(**params)
    except (TypeError, ValueError) as exc:
        fail(f"{where}.params", f"are refused by {name}: {exc}")
    if not isinstance(d["fitted"], dict):
        fail(f"{where}.fitted", "is not a JSON object")
    for key, raw in d["fitted"].items():
        at = f"{where}.{key}"
        check_attribute_name(cls, key, at)
        value = decode(raw, at, depth)
        if isinstance(value, np.ndarray) and key not in ("classes_", "feature_names_in_"):
            vector(value, at, "biuf", ndim=value.ndim)
        elif not (value is None or type(value) in (bool, str, int, float)
                  or isinstance(value, np.ndarray)):
            fail(at, f"is a {type(value).__name__}; an estimator's fitted state is arrays and "
                     "numbers")
        setattr(est, key, value)
    _check_linear(est, where)
    if isinstance(est, BinomialModel):
        try:
            est.check_state()
        except (AttributionError, AttributeError, TypeError, ValueError) as exc:
            fail(where, f"is not a valid fitted BinomialModel: {exc}")
    return est


def check_param(value, default, name: str, where: str):
    """``value`` of the parameter ``name`` if its type suits the parameter: the type of a
    bool, number or text ``default`` (a number may also be text, such as ``"auto"``, or
    null); ``random_state`` null or an integer >= 0, ``n_jobs`` null or an integer; never
    fitted state (a result, replicates, a summary).
    """
    if isinstance(value, (AttributionResult, BootstrapReplicates, StoredSummary)):
        fail(where, f"holds a {type(value).__name__}, which is fitted state, not a parameter")
    if name in ("random_state", "n_jobs") and not (value is None or type(value) is int):
        fail(where, f"is {short(value)}; {name} is null or an integer")
    if name == "random_state" and value is not None and value < 0:
        fail(where, f"is {value}; random_state is null or an integer >= 0")
    if name == "interactions" and isinstance(value, (list, tuple, bool, str)):
        return value  # "auto", a bool or pairs: the model's check_params validates them
    if isinstance(default, bool):
        if not isinstance(value, bool):
            fail(where, f"is {short(value)}, expected true or false (its default is "
                        f"{default})")
    elif isinstance(default, (int, float)):
        if not (value is None or isinstance(value, str) or type(value) in (int, float)):
            fail(where, f"is {short(value)}, expected a number (its default is {default!r})")
    elif isinstance(default, str) and not isinstance(value, str):
        fail(where, f"is {short(value)}, expected text (its default is {default!r})")
    return value


def _check_linear(est, where: str) -> None:
    """Coefficients, intercepts, classes and feature count of a linear model agree."""
    coef, n_in = getattr(est, "coef_", None), getattr(est, "n_features_in_", None)
    if n_in is not None and type(n_in) is not int:
        fail(f"{where}.n_features_in_", f"is {short(n_in)}, not a count")
    if "coef_" not in vars(est):
        return
    if not (isinstance(coef, np.ndarray) and coef.ndim in (1, 2)):
        fail(f"{where}.coef_", f"is {short(coef)}, expected a 1-D or 2-D array")
    if n_in is not None and coef.shape[-1] != n_in:
        fail(f"{where}.coef_", f"has shape {coef.shape}, which does not match "
                               f"n_features_in_={n_in}")
    rows = coef.shape[0] if coef.ndim == 2 else 1
    intercept = getattr(est, "intercept_", 0.0)
    if not (type(intercept) in (int, float) or (isinstance(intercept, np.ndarray)
                                                  and intercept.shape == (rows,))):
        fail(f"{where}.intercept_", f"is {short(intercept)}, expected {rows} intercept(s) for "
                                    f"coef_ of shape {coef.shape}")
    classes = getattr(est, "classes_", None)
    if classes is not None and not (isinstance(classes, np.ndarray) and classes.ndim == 1):
        fail(f"{where}.classes_", f"is {short(classes)}, expected a 1-D array")
    if classes is not None and coef.ndim == 2 and len(classes) != (2 if rows == 1 else rows):
        fail(f"{where}.classes_", f"has {len(classes)} classes, but coef_ has {rows} row(s)")


_HANDLERS = {"__float__": _float, "__ndarray__": _ndarray, "__series__": _series,
             "__frame__": _frame, "__tuple__": _sequence, "__list__": _sequence,
             "__dict__": _mapping, "__result__": _result, "__bootstrap__": _bootstrap,
             "__summary__": _summary, "__sklearn__": _sklearn}
_SIBLINGS = {"__ndarray__": {"dtype", "shape"}}
