"""One scenario of the concentration grid: the simulated world and its journeys, shared by the
harness (:mod:`attribution.evaluation.harness`) and the benchmarks that rerun its scenarios.

A scenario is (tier, target top-20% share or ``"flat"``, mean length, frequency-effect
correlation, seed, journeys); targeting is 0.5 everywhere. ``"flat"`` scenarios use
:func:`scenario_catalogue`'s equal frequencies and no concentration target.
"""

from __future__ import annotations

import pandas as pd

from attribution.evaluation.simulate import default_catalogue, simulate_journeys
from attribution.journeys import Journeys

#: how strongly exposure follows the outcome's drivers, in every scenario
TARGETING = 0.5


def scenario_catalogue(target) -> pd.DataFrame:
    """The default catalogue; for the ``"flat"`` level equal frequencies and (in the
    simulator) equal lifts, so that neither lifts nor exposure make a Pareto.
    """
    cat = default_catalogue()
    if target == "flat":
        cat["frequency"] = 1.0
    return cat


def simulate_scenario(tier, target_top20, mean_length, frequency_effect_corr, seed,
                      n_journeys):
    """``(events, truth)`` of one scenario (:func:`simulate_journeys`); a ParameterError
    where it cannot be built (e.g. a target below what exposure alone concentrates).
    """
    return simulate_journeys(
        n_journeys, catalogue=scenario_catalogue(target_top20), tier=tier,
        target_top20=None if target_top20 == "flat" else target_top20,
        mean_length=mean_length, frequency_effect_corr=frequency_effect_corr,
        targeting=TARGETING, random_state=seed)


def scenario_journeys(events, **covariates) -> Journeys:
    """The simulated event log read as journeys (with ``covariates`` when given). Reading
    it drops nothing (checked on every tier); were anything dropped, the reader's
    DroppedDataWarning would say so.
    """
    return Journeys.from_events(events, journey="user_id", time="timestamp",
                                touchpoint="touchpoint", channel="channel", stage="stage",
                                conversion="converted", value="revenue", **covariates)
