"""Multi-touch attribution: score how much each touchpoint and channel contributed.

>>> import attribution as at
>>> j = at.Journeys.from_paths(df, path="path", conversions="total_conversions")  # doctest: +SKIP
>>> at.compare(["first", "last", "linear"], j)                                     # doctest: +SKIP
"""

from __future__ import annotations

from ._validation import (
    AttributionError,
    AttributionWarning,
    ColumnTypeError,
    DroppedDataWarning,
    EmptyInputError,
    InputError,
    MissingColumnError,
    ParameterError,
    UnknownModelError,
)
from .bootstrap import bootstrap
from .compare import compare
from .journeys import Journeys
from .models import available_models, get_model, register
from .persist import load_json
from .results import AttributionResult

__version__ = "0.1.0.dev0"

_LAZY = {
    "FirstTouch": "heuristic", "LastTouch": "heuristic", "Linear": "heuristic",
    "PositionBased": "heuristic", "TimeDecay": "heuristic",
    "MarkovChain": "markov", "Shapley": "shapley", "Logistic": "logistic",
    "ShaoLiProbabilistic": "logistic",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".models.{_LAZY[name]}", __name__), name)
    if name in ("datasets", "stats", "simulate", "metrics", "plotting", "harness"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'attribution' has no attribute {name!r}")


__all__ = [
    "AttributionError", "AttributionResult", "AttributionWarning", "ColumnTypeError",
    "DroppedDataWarning",
    "EmptyInputError", "InputError", "Journeys", "MissingColumnError", "ParameterError",
    "UnknownModelError", "available_models", "bootstrap", "compare", "get_model", "load_json",
    "register",
    *_LAZY,
]
