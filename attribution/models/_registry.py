"""The registry of models: names (``"first"``, ``"markov"``, ...) to classes."""

from __future__ import annotations

import importlib

from attribution.journeys.validation import ParameterError, UnknownModelError
from attribution.models._base import AttributionModel

_REGISTRY: dict[str, type] = {}
# modules that register models when imported
_MODULES = ("heuristic", "last_non_direct", "markov", "shapley", "logistic", "shao_li",
            "hazard")


def register(name: str):
    """Class decorator: make a model available under ``name`` (CLI, :func:`compare`, batch
    scoring, Dask, bootstrap, JSON persistence). The class must subclass
    :class:`~attribution.models.AttributionModel`; see docs/architecture.md.
    """
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"a model name must be a non-empty string, got {name!r}")

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, AttributionModel)):
            raise ParameterError(f"register({name!r}) needs a subclass of "
                                 f"attribution.models.AttributionModel, got {cls!r}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _load_all() -> None:
    for mod in _MODULES:
        importlib.import_module(f"attribution.models.{mod}")


def available_models() -> list[str]:
    """Names of the registered models."""
    _load_all()
    return sorted(_REGISTRY)


def model_class(name: str) -> type:
    """The class registered as ``name``; :class:`UnknownModelError` lists the names."""
    _load_all()
    cls = _REGISTRY.get(name)
    if cls is None:
        raise UnknownModelError(f"unknown model {name!r}; available: "
                                f"{', '.join(sorted(_REGISTRY))}")
    return cls


def get_model(name, **params):
    """Instantiate the model registered as ``name`` with ``params``."""
    cls = model_class(name)
    valid = cls._get_param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ParameterError(f"model {name!r} has no parameter(s) {', '.join(unknown)}; its "
                             f"parameters are {', '.join(valid)}")
    return cls(**params)


def find_class(attr: str) -> type:
    _load_all()
    for cls in _REGISTRY.values():
        if cls.__name__ == attr:
            return cls
    raise AttributeError(f"module 'attribution.models' has no attribute {attr!r}")
