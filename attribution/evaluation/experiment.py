"""Randomised lift tests inside a simulated world (the ground truth of calibration).

:func:`lift_test` runs the experiment a marketer would: a random ``fraction`` of the people
is held out of a channel (its touches are switched off for them, as ghost ads or a geo
holdout do), everyone's outcome is drawn in the world, and the difference of the conversion
rates, scaled to all the people, estimates the conversions the channel adds. Because the
holdout is random, the estimate is unbiased in every tier, the confounded one included: it
measures the channel's causal effect, which observational attribution cannot separate from
the intent of the people the channel reaches.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.evaluation.population import all_types
from attribution.evaluation.world import seed_root
from attribution.journeys.validation import ParameterError


def lift_test(truth, channel, fraction=0.1, random_state=None) -> pd.DataFrame:
    """Hold ``channel`` out of a random ``fraction`` of the simulated journeys.

    Parameters
    ----------
    truth : Truth
        The truth of :func:`~attribution.evaluation.simulate.simulate_journeys` (it holds
        the simulated journeys; a truth read from JSON does not).
    channel : str
        A channel of the catalogue (every touchpoint of it is held out) or one touchpoint.
    fraction : float in (0, 1)
        Share of the people in the holdout group.
    random_state : int, numpy Generator or None
        Seeds the assignment and the outcome draws (independent of the simulation's).

    Returns
    -------
    pandas.DataFrame
        One row, a lift-test table (:func:`attribution.read_experiments`):
        ``channel`` (or ``touchpoint`` when the name is a touchpoint), ``incremental`` (the
        estimated conversions the channel adds over all the simulated journeys), ``se``, the
        group sizes ``treated`` and ``holdout``, and ``true_incremental``: the expected
        conversions lost when the channel is removed from every journey (the removal effect,
        computed from the world's probabilities, which the estimate is unbiased for). In a
        drift world (``simulate_journeys(drift=...)``) the test runs in the world before
        the drift, on all the simulated people.
    """
    pop = getattr(truth, "population", None)
    if pop is None:
        raise ParameterError("this truth holds no simulated journeys (read from JSON?): run "
                             "lift_test on the truth that simulate_journeys returned")
    if not (isinstance(fraction, (int, float)) and 0 < fraction < 1):
        raise ParameterError(f"fraction must lie in (0, 1) (the share held out), got "
                             f"{fraction!r}")
    cat = pop.world.catalogue
    level = "channel" if (cat["channel"] == channel).any() else "touchpoint"
    hit = (cat[level] == channel).to_numpy()
    if not hit.any():
        known = ", ".join(map(str, cat["channel"].unique()))
        raise ParameterError(f"{channel!r} is neither a channel nor a touchpoint of the "
                             f"simulated catalogue (channels: {known})")
    rng = np.random.default_rng(seed_root(random_state))
    on = all_types(len(cat))
    off = on & ~np.uint64(sum(1 << int(i) for i in np.flatnonzero(hit)))
    n = len(pop.base)
    held = rng.random(n) < fraction
    p_on, p_off = pop.prob(pop.exposure(on)), pop.prob(pop.exposure(off))
    converted = rng.random(n) < np.where(held, p_off, p_on)
    n1, n0 = int((~held).sum()), int(held.sum())
    if min(n1, n0) < 2:
        raise ParameterError(f"the holdout leaves {n0} people out and {n1} in; simulate more "
                             "journeys or choose another fraction")
    r1, r0 = converted[~held].mean(), converted[held].mean()
    se = np.sqrt(r1 * (1 - r1) / (n1 - 1) + r0 * (1 - r0) / (n0 - 1))
    return pd.DataFrame({level: [str(channel)], "incremental": [n * (r1 - r0)],
                         "se": [n * se], "treated": [n1], "holdout": [n0],
                         "true_incremental": [float((p_on - p_off).sum())]})
