"""Fitted models as JSON, without pickle: ``model.to_json()`` and :func:`load_json`.

The document holds the model's registry name, its parameters and every fitted attribute
(names ending in ``_``): numbers, strings, numpy arrays (dtype kept), pandas Series and
DataFrames, the :class:`AttributionResult` with its bootstrap replicates. A fitted
scikit-learn *linear* classifier (``sklearn.linear_model``, e.g. the default value model of
``Shapley(value="model")``) is stored as its parameters and coefficients. A statsmodels
inference result is stored as its summary text. Any other object raises an error naming the
attribute: such a model can still be saved with ``joblib.dump`` (pickle).

Loading constructs only registered models and ``sklearn.linear_model`` classes, never runs
code named by the file.
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from attribution.journeys.validation import InputError, ParameterError
from attribution.models import available_models, model_class

FORMAT = "touchpoint-attribution/model"
VERSION = 1
_SKLEARN_OK = "sklearn.linear_model"


class StoredSummary:
    """Stand-in for a statsmodels result after :func:`load_json`: ``summary()`` is its text."""

    def __init__(self, text: str):
        self.text = text

    def summary(self) -> str:
        """The summary text stored at export."""
        return self.text

    def __repr__(self) -> str:
        return self.text


def _encode(obj, where: str):
    from attribution.inference.bootstrap import BootstrapReplicates
    from attribution.result import AttributionResult

    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return {"__ndarray__": [_encode(x, where) for x in obj.tolist()], "dtype": "object"}
        kind = str(obj.dtype)
        return {"__ndarray__": [_encode(x, where) for x in obj.ravel().tolist()],
                "dtype": kind, "shape": list(obj.shape)}
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
    if cls.__module__.startswith(_SKLEARN_OK):
        state = {k: _encode(v, f"{where}.{k}") for k, v in vars(obj).items()
                 if k.endswith("_") and not k.startswith("_")}
        return {"__sklearn__": dict(cls=cls.__name__,
                                    params=_encode(obj.get_params(deep=False), where),
                                    fitted=state)}
    raise ParameterError(
        f"{where} is a {cls.__module__}.{cls.__name__}, which cannot be written as JSON (only "
        f"arrays, pandas objects and {_SKLEARN_OK} estimators can); save this model with "
        "joblib.dump instead")


def _decode(obj):
    from attribution.inference.bootstrap import BootstrapReplicates
    from attribution.result import AttributionResult

    if not isinstance(obj, dict):
        return obj
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__ndarray__" in obj:
        items = [_decode(x) for x in obj["__ndarray__"]]
        if obj["dtype"] == "object":
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out
        return np.asarray(items, dtype=obj["dtype"]).reshape(obj["shape"])
    if "__series__" in obj:
        d = obj["__series__"]
        idx = pd.Index(_decode(d["index"]), name=d["index_name"])
        return pd.Series(_decode(d["values"]), index=idx, name=d["name"])
    if "__frame__" in obj:
        d = obj["__frame__"]
        idx = pd.Index(_decode(d["index"]), name=d["index_name"])
        data = {c: _decode(v) for c, v in zip(d["columns"], d["data"], strict=True)}
        return pd.DataFrame(data, index=idx, columns=d["columns"])
    if "__tuple__" in obj:
        return tuple(_decode(x) for x in obj["__tuple__"])
    if "__list__" in obj:
        return [_decode(x) for x in obj["__list__"]]
    if "__dict__" in obj:
        return {_decode(k): _decode(v) for k, v in obj["__dict__"]}
    if "__result__" in obj:
        return AttributionResult(**{k: _decode(v) for k, v in obj["__result__"].items()})
    if "__bootstrap__" in obj:
        d = {k: _decode(v) for k, v in obj["__bootstrap__"].items()}
        return BootstrapReplicates(d["names"], d["conversions"], d["value"], d["method"],
                                   d["seed"])
    if "__summary__" in obj:
        return StoredSummary(obj["__summary__"])
    if "__sklearn__" in obj:
        d = obj["__sklearn__"]
        cls = getattr(importlib.import_module(_SKLEARN_OK), str(d["cls"]), None)
        if not isinstance(cls, type):
            raise InputError(f"unknown estimator {d['cls']!r} in the model file")
        est = cls(**_decode(d["params"]))
        for k, v in d["fitted"].items():
            setattr(est, k, _decode(v))
        return est
    raise InputError(f"unrecognised entry in the model file: keys {sorted(obj)}")


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
    """A model written by :func:`to_json`: from a path or the JSON text itself."""
    text = str(source)
    if not text.lstrip().startswith("{"):
        p = Path(source)
        if not p.exists():
            raise InputError(f"model file {str(source)!r} does not exist")
        text = p.read_text()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a model file (invalid JSON: {exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"not a model file: expected format {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise InputError(f"model file version {doc.get('version')!r}; this release reads "
                         f"version {VERSION}")
    if doc.get("model") not in available_models():
        raise InputError(f"model {doc.get('model')!r} in the file is not registered here")
    cls = model_class(doc["model"])
    model = cls(**{k: _decode(v) for k, v in doc["params"].items()})
    for k, v in doc["fitted"].items():
        setattr(model, k, _decode(v))
    return model
