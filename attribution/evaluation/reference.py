"""Reference rows of the benchmark: the world's TRUE outcome model pushed through the same
Shapley credit as the learned models.

A model of the exposure pattern can at best learn p(conversion | exposed to exactly S). The
reference gives that function to :class:`~attribution.models.shapley.Shapley`
(``value="model"``) as a ready-made value model, so its credit differs from the truth only by
what no value model can remove at that n: the realised conversions it allocates, and what the
exposure pattern does not show (which touches were induced, upstream tier; each journey's
intent, confounded tier).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin

from attribution.evaluation.population import Population
from attribution.models import get_model

#: quantiles of intent ~ N(0, 1) the confounded tier's probability is averaged over
INTENT_QUANTILES = norm.ppf((np.arange(64) + 0.5) / 64)
REFERENCE_MODES = ("incremental", "total")


class TrueOutcomeModel(ClassifierMixin, BaseEstimator):
    """The world's conversion probability of an exposure pattern, as a fitted classifier.

    Column ``c`` of ``X`` is exposure to catalogue type ``types[c]``. The probability is the
    world's own (:meth:`Population.prob`) with the exposed types as the journey's own
    touches (none induced); in the confounded tier it is averaged over intent ~ N(0, 1)
    (64 quantiles), the interventional p(conversion | do(S)). ``fit`` learns nothing.
    """

    def __init__(self, world=None, types=None):
        self.world = world
        self.types = types

    def fit(self, X, y=None, sample_weight=None):
        """Nothing to learn: records the classes and the number of columns."""
        self.classes_ = np.array([0.0, 1.0])
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict_proba(self, X):
        """Columns p(no conversion), p(conversion) of each exposure pattern."""
        x = np.asarray(X, dtype=np.float64) > 0
        bits = np.left_shift(np.uint64(1), np.asarray(self.types, dtype=np.uint64))
        masks = np.where(x, bits[None, :], np.uint64(0)).sum(axis=1, dtype=np.uint64)
        n = len(masks)
        pop = Population(self.world, masks, np.zeros(n, dtype=np.uint64), np.zeros(n))
        if self.world.tier == "confounded":
            p = np.zeros(n)
            for z in INTENT_QUANTILES:
                pop.intent = np.full(n, z)
                p += pop.prob(masks)
            p /= len(INTENT_QUANTILES)
        else:
            p = pop.prob(masks)
        return np.column_stack([1.0 - p, p])


def reference_models(journeys, world) -> dict:
    """``{"truth_model_incremental": ..., "truth_model_total": ...}``: unfitted Shapley
    models (touchpoint level) whose value model is the true outcome model of ``world``.
    """
    position = {t: i for i, t in enumerate(world.catalogue["touchpoint"].astype(str))}
    types = np.array([position[str(t)] for t in journeys.names], dtype=np.int64)
    return {f"truth_model_{mode}": get_model(
        "shapley", value="model", estimator=TrueOutcomeModel(world, types), credit=mode,
        level="touchpoint") for mode in REFERENCE_MODES}
