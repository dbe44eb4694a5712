"""Fitted models as JSON, without pickle: :func:`to_json` and :func:`load_json`.

The document holds the model's registry name, its parameters and every fitted attribute
(names ending in ``_``): numbers, strings, numpy arrays (dtype kept), pandas Series and
DataFrames, the :class:`AttributionResult` with its bootstrap replicates. A fitted
scikit-learn *linear* classifier (``sklearn.linear_model``) and the binomial value model of
``Shapley(value="model")`` (:class:`~attribution.models.BinomialModel`, any link) are stored
as their parameters and coefficients. A statsmodels inference result is stored as its
summary text. Any other object raises :class:`UnwritableModelError` (an :class:`InputError`)
naming the parameter or attribute: such a model can still be saved with ``joblib.dump``
(pickle).

Loading never runs code named by the file and trusts nothing in it: the document is checked
against the schema of :mod:`attribution.inference.schema` (format and version, a registered
model and its own class, the parameters the class takes, only the fitted attributes its code
sets, arrays whose declared shape matches the items stored and the vocabulary, dtypes from an
allow-list, bounded nesting). Whatever is wrong raises :class:`InputError` naming the culprit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from attribution.inference.bootstrap import BootstrapReplicates
from attribution.inference.decode import SKLEARN_OK, StoredSummary, array_dtype
from attribution.inference.schema import FORMAT, VERSION, read_document
from attribution.journeys.validation import InputError, ParameterError
from attribution.models import BinomialModel
from attribution.result import AttributionResult

__all__ = ["FORMAT", "VERSION", "StoredSummary", "UnwritableModelError", "load_json",
           "to_json"]
#: longest excerpt of a source shown in an error message
_SHOWN = 80


class UnwritableModelError(ParameterError, InputError):
    """The model holds something JSON cannot represent (an estimator outside
    ``sklearn.linear_model`` and :class:`BinomialModel`, an array of an unlisted dtype ...):
    an :class:`InputError` to :func:`to_json` and a :class:`ParameterError` (the setting that
    put it there), naming the parameter or attribute.
    """


def _encode(obj, where: str):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, where)
    if isinstance(obj, pd.Series):
        return {"__series__": dict(values=_encode(obj.to_numpy(), where),
                                   index=_encode(obj.index.to_numpy(), where),
                                   index_name=obj.index.name, name=obj.name)}
    if isinstance(obj, pd.DataFrame):
        return {"__frame__": dict(columns=[str(c) for c in obj.columns],
                                  data=[_encode(obj[c].to_numpy(), where) for c in obj.columns],
                                  index=_encode(obj.index.to_numpy(), where),
                                  index_name=obj.index.name)}
    if isinstance(obj, (list, tuple)):
        return {"__tuple__" if isinstance(obj, tuple) else "__list__":
                [_encode(x, f"{where}[{i}]") for i, x in enumerate(obj)]}
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, where), _encode(v, f"{where}[{k!r}]")]
                             for k, v in obj.items()]}
    if isinstance(obj, AttributionResult):
        fields = {f: _encode(getattr(obj, f), f"{where}.{f}")
                  for f in obj.__dataclass_fields__}
        return {"__result__": fields}
    if isinstance(obj, BootstrapReplicates):
        return {"__bootstrap__": {k: _encode(v, where) for k, v in vars(obj).items()}}
    if isinstance(obj, StoredSummary) or type(obj).__module__.startswith("statsmodels"):
        return {"__summary__": str(obj.summary())}
    cls = type(obj)
    if cls.__module__.startswith(SKLEARN_OK) or cls is BinomialModel:
        state = {k: _encode(v, f"{where}.{k}") for k, v in vars(obj).items()
                 if k.endswith("_") and not k.startswith("_")}
        return {"__sklearn__": dict(cls=cls.__name__,
                                    params=_encode(obj.get_params(deep=False), where),
                                    fitted=state)}
    raise UnwritableModelError(
        f"{where} is a {cls.__module__}.{cls.__name__}, which cannot be written as JSON (only "
        f"arrays, pandas objects, {SKLEARN_OK} estimators and BinomialModel can); save this "
        "model with joblib.dump instead")


def _encode_array(obj: np.ndarray, where: str) -> dict:
    kind = array_dtype(obj)
    if kind is None:
        raise UnwritableModelError(f"{where} is an array of dtype {obj.dtype}, which cannot "
                                   "be written as JSON; save this model with joblib.dump "
                                   "instead")
    if kind == "object":
        if obj.ndim != 1:
            raise UnwritableModelError(f"{where} is a {obj.ndim}-D object array; only 1-D "
                                       "object arrays (of names) can be written as JSON")
        return {"__ndarray__": [_encode(x, where) for x in obj.tolist()], "dtype": "object"}
    return {"__ndarray__": [_encode(x, where) for x in obj.ravel().tolist()],
            "dtype": kind, "shape": list(obj.shape)}


def to_json(model, path=None) -> str | None:
    """The JSON document of ``model`` (returned, or written to ``path``)."""
    params = model.get_params(deep=False)
    fitted = {k: v for k, v in vars(model).items()
              if k.endswith("_") and not k.startswith("_") and k not in params}
    doc = {"format": FORMAT, "version": VERSION, "model": model.name,
           "class": type(model).__name__,
           "params": {k: _encode(v, f"parameter {k}") for k, v in params.items()},
           "fitted": {k: _encode(v, f"attribute {k}") for k, v in fitted.items()}}
    text = json.dumps(doc, allow_nan=False)
    if path is None:
        return text
    Path(path).write_text(text)
    return None


def load_json(source):
    """A model written by :func:`to_json`.

    Parameters
    ----------
    source : str, path-like, bytes or file object
        The JSON text itself (a string starting with ``{``), or a path to it, or an open
        file.

    Raises
    ------
    InputError
        When the source cannot be read or the document is not a valid model file; the
        message names the culprit (file, key, parameter or attribute).
    """
    return read_document(_parse(_read(source)))


def _show(source) -> str:
    """``source`` for a message; a long path keeps its end, where the file name is."""
    text = str(source)
    return repr(text if len(text) <= _SHOWN else "..." + text[-_SHOWN:])


def _read(source) -> str:
    """The text of ``source``: the JSON itself, a path, bytes or an open file."""
    if hasattr(source, "read"):
        try:
            source = source.read()
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the model file object: {exc}") from exc
        if isinstance(source, str):
            return source
    if isinstance(source, (bytes, bytearray)):
        try:
            return bytes(source).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"model file is not UTF-8 text ({exc.reason} at byte "
                             f"{exc.start})") from exc
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return source
    if not isinstance(source, (str, Path)) and not hasattr(source, "__fspath__"):
        raise InputError(f"load_json needs a path, an open file or the JSON text, got "
                         f"{type(source).__name__}")
    problem, text = _read_path(source)
    if problem:
        raise InputError(f"model file {_show(source)} {problem}")
    return text


def _read_path(source) -> tuple[str, str]:
    """(what is wrong with the file at ``source``, or "", and its text)."""
    try:
        p = Path(source)
        if not p.exists():
            return "does not exist", ""
        if p.is_dir():
            return "is a directory, not a file", ""
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return f"is not UTF-8 text ({exc.reason} at byte {exc.start})", ""
    except (OSError, ValueError) as exc:  # permissions, a name too long, a NUL in the name
        why = getattr(exc, "strerror", None) or str(exc)  # not the name again, maybe long
        return f"cannot be read ({type(exc).__name__}: {why})", ""
    return ("is empty", "") if not text.strip() else ("", text)


def _reject_constant(name: str):
    raise InputError(f"not a model file: the JSON holds {name}, which is not JSON (non-finite "
                     'numbers are stored as {"__float__": "nan"})')


def _parse(text: str) -> dict:
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a model file (invalid JSON: {exc})") from exc
    except RecursionError as exc:
        raise InputError("not a model file: the JSON nests too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        if isinstance(exc, InputError):
            raise
        raise InputError(f"not a model file (unreadable JSON: {exc})") from exc
    if not isinstance(doc, dict):
        raise InputError(f"not a model file: expected a JSON object with format {FORMAT!r}, "
                         f"got a JSON {type(doc).__name__}")
    return doc
