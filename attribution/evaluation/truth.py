"""Causal ground truth of a simulated world, and its :class:`Truth` record.

Truth is computed from the outcome probabilities with common random numbers (the same
journeys, the same draws): Delta_k = E[p | all on] - E[p | k off] (removal), and the Shapley
value over types of v(S) = E[p | only S on] - E[p | none on], exact per exposure pattern
through the package's Shapley kernel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from attribution.evaluation.population import Population, all_types
from attribution.evaluation.world import World
from attribution.metrics import concentration, lorenz, top_share
from attribution.shapley import bits_of, shapley

#: players of a journey's game solved exactly (sampled above)
MAX_EXACT = 14
#: permutations per sampled game
N_PERMUTATIONS = 200
#: coalitions per call of the Shapley kernel (about 100 bytes each at the peak)
COALITION_BUDGET = 2**21


@dataclass
class Truth:
    """True incremental credit of a simulated scenario."""

    removal: pd.Series  # Delta_k * journeys: conversions lost when k is removed
    shapley: pd.Series  # Shapley value over types (incremental conversions)
    channel_shapley: pd.Series
    baseline: float  # conversions with every touchpoint off
    conversions: float  # expected conversions with everything on
    theta: pd.Series
    tier: str
    catalogue: pd.DataFrame = field(repr=False)
    # the simulated world (lifts, ranks, drivers); not written by to_json, so None when read
    world: World | None = field(default=None, repr=False, compare=False)
    # the simulated journeys (for lift_test); None when read from JSON
    population: Population | None = field(default=None, repr=False, compare=False)
    # simulate_journeys(drift=...): date, factors and the lifts after it; None without drift
    drift: dict | None = field(default=None, repr=False, compare=False)

    def lift_test(self, channel, fraction=0.1, random_state=None) -> pd.DataFrame:
        """A randomised holdout of ``channel`` in the simulated world
        (:func:`attribution.evaluation.experiment.lift_test`).
        """
        from attribution.evaluation.experiment import lift_test

        return lift_test(self, channel, fraction, random_state)

    @property
    def top20(self) -> float:
        """True top-20% share of the Shapley credit over exposed types."""
        return top_share(self.shapley.to_numpy(), 0.2)

    def concentration(self, p=0.2, q=0.8):
        """Concentration of the true Shapley credit (see :mod:`attribution.metrics`)."""
        return concentration(self.shapley.to_numpy(), p, q)

    def lorenz(self) -> pd.DataFrame:
        """Lorenz points of the true Shapley credit."""
        return lorenz(self.shapley.to_numpy())

    def shares(self, level: str = "touchpoint") -> pd.Series:
        """True share of the expected conversions per touchpoint (or channel), its incremental
        Shapley credit, and the ``(baseline)`` row: the conversions with every touch off. The
        shares sum to 1; compare them with a model's shares of all conversions (heuristics
        hand the baseline to the entities, incremental models keep it apart).
        """
        credit = self.channel_shapley if level == "channel" else self.shapley
        out = pd.concat([credit.astype(float), pd.Series({"(baseline)": self.baseline})])
        return out / self.conversions

    def to_frame(self) -> pd.DataFrame:
        """One row per touchpoint type: channel, stage, role, lift, removal and Shapley truth."""
        cat = self.catalogue.set_index("touchpoint")
        frame = cat.assign(theta=self.theta, removal=self.removal, shapley=self.shapley)
        return frame.reset_index()

    def to_dict(self) -> dict:
        """Plain-JSON form (see :meth:`from_dict`)."""
        return dict(tier=self.tier, baseline=self.baseline, conversions=self.conversions,
                    touchpoints=self.to_frame().to_dict(orient="records"))

    @classmethod
    def from_dict(cls, d: dict) -> Truth:
        """The inverse of :meth:`to_dict`."""
        frame = pd.DataFrame(d["touchpoints"])
        names = pd.Index(frame["touchpoint"], name="touchpoint")
        cat = frame[["touchpoint", "channel", "stage", "frequency", "role"]]
        shap = pd.Series(frame["shapley"].to_numpy(float), index=names)
        return cls(removal=pd.Series(frame["removal"].to_numpy(float), index=names),
                   shapley=shap, channel_shapley=shap.groupby(cat["channel"].to_numpy()).sum(),
                   baseline=float(d["baseline"]), conversions=float(d["conversions"]),
                   theta=pd.Series(frame["theta"].to_numpy(float), index=names),
                   tier=str(d["tier"]), catalogue=cat)

    def to_json(self, path) -> None:
        """Write :meth:`to_dict` as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def read_json(cls, path) -> Truth:
        """Read a truth written by :meth:`to_json`."""
        return cls.from_dict(json.loads(Path(path).read_text()))


def true_credit(pop: Population, m: int, n: int) -> Truth:
    """Removal and Shapley truth on the first ``m`` journeys, scaled to ``n`` journeys.

    Parameters
    ----------
    pop : Population
        The simulated journeys' exposures, in their world (tier, lifts, catalogue).
    m : int
        Journeys the truth is computed on (the first ones).
    n : int
        Journeys the truth is scaled to.

    Returns
    -------
    Truth
    """
    world, catalogue = pop.world, pop.world.catalogue
    k = len(catalogue)
    rows = slice(0, m)
    scale = n / m
    on = all_types(k)
    p_all = pop.prob(pop.exposure(on, rows), rows)
    removal = np.zeros(k)
    for i in range(k):  # one re-simulation per type, same journeys and draws
        off = on & ~(np.uint64(1) << np.uint64(i))
        removal[i] = (p_all - pop.prob(pop.exposure(off, rows), rows)).sum() * scale
    p_none = pop.prob(pop.exposure(np.uint64(0), rows), rows)
    names = pd.Index(catalogue["touchpoint"], name="touchpoint")
    shap = pd.Series(_shapley_over_types(pop, m, k) * scale, index=names)
    return Truth(removal=pd.Series(removal, index=names), shapley=shap,
                 channel_shapley=shap.groupby(catalogue["channel"].to_numpy()).sum(),
                 baseline=float(p_none.sum() * scale), conversions=float(p_all.sum() * scale),
                 theta=pd.Series(np.array(world.theta), index=names), tier=world.tier,
                 catalogue=catalogue.copy(), world=world)


def _shapley_over_types(pop: Population, m: int, k: int) -> np.ndarray:
    """The Shapley value of each type summed over the first ``m`` journeys.

    Each journey's game involves only the types it can be exposed to; journeys with the same
    exposures play the same game (one game each in the confounded tier, whose baseline
    differs per journey), so each game is solved once and weighted by its journeys.
    """
    base, induced = pop.base[:m], pop.induced[:m]
    relevant = base | induced
    for c, e in pop.world.links:  # a cause matters where it induced a touch
        relevant |= ((induced >> np.uint64(e)) & np.uint64(1)) << np.uint64(c)
    if pop.world.tier == "confounded":
        pattern, reps = np.arange(m), m
    else:
        key = base | (induced << np.uint64(k)) if 2 * k <= 64 else np.stack([base, induced], 1)
        _, pattern = np.unique(key, axis=0 if key.ndim == 2 else None, return_inverse=True)
        pattern = pattern.ravel()
        reps = int(pattern.max()) + 1 if m else 0
    rep_row = np.zeros(reps, dtype=np.int64)
    rep_row[pattern] = np.arange(m)  # any journey of the pattern represents it
    weight = np.bincount(pattern, minlength=reps).astype(float)
    tags = np.arange(reps, dtype=np.uint64) << np.uint64(k)
    low = all_types(k)

    def game(coalitions):
        r = rep_row[(coalitions >> np.uint64(k)).astype(np.int64)]
        return pop.prob(pop.exposure(coalitions & low, r), r)

    sets = relevant[rep_row]
    phi = np.zeros((reps, k))
    for part in _batches(sets, k):  # the same values as one call, in bounded memory
        phi[part] = shapley(sets[part], game, k, max_exact=MAX_EXACT,
                            n_permutations=N_PERMUTATIONS, tags=tags[part])[0]
    return (weight[:, None] * phi).sum(axis=0)


def _batches(sets, k, budget=None):
    """Consecutive slices of ``sets`` whose games have about ``budget`` coalitions each
    (2^t for t <= MAX_EXACT players, N_PERMUTATIONS of t prefixes above), so the truth's
    memory does not grow with the number of journeys. The kernel's values of a set do not
    depend on the other sets of its call (sampled ones are hashed from the set).
    """
    budget = COALITION_BUDGET if budget is None else budget
    size = bits_of(sets, k).sum(axis=1)
    cost = np.where(size <= MAX_EXACT, 2.0 ** np.minimum(size, MAX_EXACT),
                    float(N_PERMUTATIONS) * size)
    group = (np.cumsum(cost) - cost) // budget
    edges = np.flatnonzero(np.diff(group)) + 1
    return [slice(a, b) for a, b in zip(np.r_[0, edges], np.r_[edges, len(sets)], strict=True)]
