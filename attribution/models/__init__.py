"""Tier 3: attribution models, the base class with the public protocol, and the registry."""

from __future__ import annotations

from attribution.models._base import AttributionModel, Scorer, check_journeys
from attribution.models._registry import (
    available_models,
    find_class,
    get_model,
    model_class,
    register,
)
from attribution.models._value_model import BinomialModel

__all__ = ["AttributionModel", "BinomialModel", "Scorer", "available_models", "check_journeys",
           "get_model", "model_class", "register"]


def __getattr__(attr):
    return find_class(attr)
