"""Multi-touch attribution: score how much each touchpoint and channel contributed.

>>> import attribution as at
>>> j = at.Journeys.from_paths(df, path="path", conversions="total_conversions")  # doctest: +SKIP
>>> at.compare(["first", "last", "linear"], j)                                     # doctest: +SKIP
"""

from __future__ import annotations

from attribution.changes import detect_changes
from attribution.epochs import EpochFits, fit_by_epoch
from attribution.evaluation.compare import calibrate, compare
from attribution.evaluation.lookbacks import compare_lookbacks
from attribution.experiments import read_experiments
from attribution.inference.bootstrap import bootstrap
from attribution.inference.persist import load_json, to_json
from attribution.journeys import Journeys
from attribution.journeys.validation import (
    AttributionError,
    AttributionWarning,
    ColumnTypeError,
    DroppedDataWarning,
    EmptyInputError,
    InputError,
    MissingColumnError,
    NotFittedError,
    ParameterError,
    UnknownModelError,
)
from attribution.models import available_models, get_model, register
from attribution.result import AttributionResult

__version__ = "0.1.0.dev0"

_LAZY = {
    "FirstTouch": "heuristic", "LastTouch": "heuristic", "Linear": "heuristic",
    "PositionBased": "heuristic", "TimeDecay": "heuristic",
    "MarkovChain": "markov", "Shapley": "shapley", "Logistic": "logistic",
    "ShaoLiProbabilistic": "shao_li", "AdditiveHazard": "hazard",
    "LastNonDirect": "last_non_direct",
}


# submodules reachable as attributes (``at.metrics.accuracy``) without importing them eagerly
_MODULES = ("datasets", "metrics", "plotting", "shapley", "journeys", "models", "inference",
            "scale", "evaluation", "report")


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".models.{_LAZY[name]}", __name__), name)
    if name in _MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'attribution' has no attribute {name!r}")


__all__ = [
    "AttributionError", "AttributionResult", "AttributionWarning", "ColumnTypeError",
    "DroppedDataWarning",
    "EmptyInputError", "InputError", "Journeys", "MissingColumnError", "NotFittedError",
    "ParameterError",
    "UnknownModelError", "available_models", "bootstrap", "calibrate", "compare",
    "compare_lookbacks", "detect_changes", "EpochFits", "fit_by_epoch", "read_experiments",
    "get_model", "load_json",
    "to_json",
    "register",
    *_LAZY,
]
