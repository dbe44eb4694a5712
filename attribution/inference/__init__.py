"""Tier 4, inference on fitted models: bootstrap intervals and JSON persistence.

Both act on models through the public protocol of :class:`attribution.models.AttributionModel`
(docs/architecture.md), so a model registered by a user works here unchanged.
"""

from attribution.inference.bootstrap import bootstrap
from attribution.inference.persist import load_json, to_json

__all__ = ["bootstrap", "load_json", "to_json"]
