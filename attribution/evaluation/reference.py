"""Reference rows of the benchmark: the world's TRUE outcome model pushed through the same
Shapley credit as the learned models, and the true outcome FORM fitted to the journeys.

A model of the exposure pattern can at best learn p(conversion | exposed to exactly S). The
reference gives that function to :class:`~attribution.models.shapley.Shapley`
(``value="model"``) as a ready-made value model, so its credit differs from the truth only by
what no value model can remove at that n: the realised conversions it allocates, and what the
exposure pattern does not show (which touches were induced, upstream tier; each journey's
intent, confounded tier). It knows the parameters, so it shows no sampling error: it is the
floor of the credit computation, not of estimation.

The sampling floor is the third row, ``truth_form_fitted``: :class:`Logistic` with the
generating family of the tier (:data:`FORMS`: identity for additive, noisy-OR, logit with the
world's synergy pairs as interactions) fitted to the n journeys, incremental credit. An
estimator told the form and nothing of the lifts is not expected to be much closer (shrinkage
can trade some bias for variance), so a learned model near this row is at what n journeys
allow. The confounded and upstream tiers have no form over exposure patterns alone (intent,
induced touches): there the row fits the additive core (identity) and carries their bias too.
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
#: the generating link of each tier's outcome (the additive core where there is none)
FORMS = {"additive": "identity", "noisy_or": "noisy_or", "logit": "logit",
         "confounded": "identity", "upstream": "identity"}
FITTED_FORM = "truth_form_fitted"


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
    """``{"truth_model_incremental": ..., "truth_model_total": ...,
    "truth_form_fitted": ...}``: unfitted Shapley models (touchpoint level) whose value model
    is the true outcome model of ``world``, and the :class:`Logistic` of its true form.
    """
    position = {t: i for i, t in enumerate(world.catalogue["touchpoint"].astype(str))}
    types = np.array([position[str(t)] for t in journeys.names], dtype=np.int64)
    models = {f"truth_model_{mode}": get_model(
        "shapley", value="model", estimator=TrueOutcomeModel(world, types), credit=mode,
        level="touchpoint") for mode in REFERENCE_MODES}
    models[FITTED_FORM] = fitted_form(journeys, world)
    return models


def fitted_form(journeys, world):
    """The unfitted :class:`Logistic` of ``world``'s outcome form (:data:`FORMS`), with the
    synergy pairs of the logit tier that occur in ``journeys`` as interactions.
    """
    names = world.catalogue["touchpoint"].astype(str).to_numpy()
    seen = set(map(str, journeys.names))
    pairs = [(names[a], names[b]) for a, b in world.pairs
             if world.tier == "logit" and {names[a], names[b]} <= seen]
    return get_model("logistic", link=FORMS[world.tier], interactions=pairs or False,
                     level="touchpoint")
