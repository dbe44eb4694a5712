"""Journey simulator with causal ground truth (docs/models.md, "Ground truth").

Two independent children of ``numpy.random.SeedSequence(random_state)`` drive it
(:func:`~attribution.evaluation.world.seed_streams`):

- the **world** (:class:`~attribution.evaluation.world.World`, :func:`make_world`): the
  catalogue and the causal lift theta_k of every touchpoint type, Zipf-shaped (theta_k
  proportional to rank^-beta, beta solved so the top 20% of types hold ``target_top20`` of
  lift x *expected* exposure), with placebo types (theta = 0) and clone types (same frequency
  and lift). It depends on the seed and the world's parameters only, never on ``n_journeys``
  or ``mean_length``;
- the **journeys**: right-skewed lengths, touches drawn by frequency and ordered by stage,
  each journey's latent intent, the conversions and the event log.

Outcome tiers:

- ``"additive"``: p = b + sum_k theta_k x_k;
- ``"noisy_or"``: p = 1 - (1 - b) prod_k (1 - theta_k)^x_k;
- ``"logit"``: logit p = logit b + sum_k 4 theta_k x_k + synergy for listed pairs;
- ``"confounded"``: a latent intent raises both the baseline and the exposure to
  ``targeted`` touchpoints (``targeting`` sets how much); the event log carries it as the
  ``intent`` column unless ``observe_intent=False``;
- ``"upstream"``: an exposure to a cause type makes a later touch of its effect type
  (probability ``upstream_rate``); removing the cause removes the induced touches.

The journeys' exposures and outcome probabilities live in
:mod:`~attribution.evaluation.population`; the causal truth computed from them
(:class:`Truth`: removal effects and Shapley values over types) in
:mod:`~attribution.evaluation.truth`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from attribution.evaluation.population import Population, all_types, or_by_journey
from attribution.evaluation.truth import Truth, true_credit
from attribution.evaluation.world import (
    STAGES,
    TIERS,
    World,
    default_catalogue,
    make_world,
    seed_root,
    seed_streams,
)
from attribution.journeys.validation import ParameterError

__all__ = ["STAGES", "TIERS", "Truth", "World", "default_catalogue", "make_world",
           "simulate_journeys"]


MAX_MEAN_LENGTH = 1000  # longer journeys are not marketing journeys, and take all the memory
MAX_JOURNEYS = 100_000_000


def simulate_journeys(n_journeys=10_000, catalogue=None, tier="additive", target_top20=0.8,
                      n_placebo=1, n_clones=2, mean_length=4.0, frequency_effect_corr=0.0,
                      targeting=0.0, baseline=0.02, effect_scale=0.25, upstream_rate=0.5,
                      synergy=0.5, truth_journeys=200_000, start="2024-01-01",
                      random_state=None, observe_intent=True, span_days=60, drift=None):
    """Simulate an event log with known causal credit.

    Parameters
    ----------
    n_journeys : int
        At most 100 million.
    catalogue : pandas.DataFrame, optional
        Columns touchpoint, channel, stage, frequency, role; default
        :func:`default_catalogue` (``n_placebo``, ``n_clones``).
    tier : {"additive", "noisy_or", "logit", "confounded", "upstream"}
    target_top20 : float or None
        Top-20% share of lift x expected exposure (of journeys of mean length 4) the lifts
        are solved for (``truth.world.top20``, exact). With the default ``mean_length`` the
        additive tier's sampled truth converges to it as journeys grow; other lengths and
        tiers bend it a little. None: equal lifts (a flat truth, shaped by exposure alone).
    mean_length : float
        Mean touches per journey, 1 to 1000 (1 + negative binomial: right-skewed).
    frequency_effect_corr : float in [-1, 1]
        Correlation between a type's frequency and the rank of its lift.
    targeting : float >= 0
        Confounded tier: how strongly intent steers exposure to targeted touchpoints.
    baseline : float
        Conversion probability with no touch.
    effect_scale : float
        Lift of the strongest type (probability points).
    upstream_rate : float
        Upstream tier: probability that a cause exposure makes its effect touch.
    synergy : float
        Logit tier: log-odds bonus of each synergy pair seen together.
    truth_journeys : int
        Journeys used to compute the truth (the first ones; all if fewer).
    random_state : int, numpy.random.SeedSequence, numpy.random.Generator or None
        Seeds the world (its first child) and the journeys (its second child); see
        :func:`~attribution.evaluation.world.seed_root`.
    observe_intent : bool
        Confounded tier: add the journeys' latent intent as the ``intent`` column (True), or
        hide it (False: the confounder is unobserved). Other tiers have no intent column.
    span_days : int
        Journeys start uniformly within this many days of ``start`` (a year's log: 365).
    drift : dict, optional
        A change of the world at a known date: ``{"date": "2024-07-01", "lifts": {name:
        factor}}`` multiplies the lift theta of each named touchpoint (or of every touchpoint
        of a named channel) by its factor for the journeys that start on or after
        ``date``; the others live in the world before it. ``truth`` is the world before the
        drift, ``truth.drift`` the change (date, factors, and the drifted world's lifts).

    Returns
    -------
    events : pandas.DataFrame
        ``user_id`` (one person, one journey), ``timestamp``, ``touchpoint``, ``channel``,
        ``stage``, ``converted`` (1 on conversion rows, which have no touchpoint), ``revenue``
        and, in the confounded tier with ``observe_intent``, ``intent`` (the journey's intent
        on each of its rows): the column names of the bundled sample and the defaults of the
        ``attribution`` command.
    truth : Truth
        With ``truth.world``, the :class:`World` of the seed.
    """
    _check_sizes(n_journeys, mean_length, span_days)
    random_state = seed_root(random_state)  # one root for both children (even from None)
    world = make_world(catalogue, tier, target_top20, frequency_effect_corr, targeting,
                       baseline, effect_scale, upstream_rate, synergy, n_placebo, n_clones,
                       random_state=random_state)
    shift = drifted_world(world, drift)
    rng = np.random.default_rng(seed_streams(random_state)[1])
    n = int(n_journeys)
    pop, events = _simulate(rng, world, shift, n, mean_length, start, span_days)
    if tier == "confounded" and observe_intent:
        events["intent"] = pop.intent[events["user_id"].to_numpy()]
    truth = true_credit(pop, min(n, int(truth_journeys)), n)
    truth.population = pop
    if shift is not None:
        truth.drift = {"date": str(pd.Timestamp(shift["date"])), "lifts": shift["factors"],
                       "theta_after": pd.Series(np.array(shift["world"].theta),
                                                index=truth.theta.index)}
    return events, truth


def _check_sizes(n_journeys, mean_length, span_days):
    if not 1 <= mean_length <= MAX_MEAN_LENGTH:
        raise ParameterError(f"mean_length must be from 1 to {MAX_MEAN_LENGTH} (mean touches per "
                             f"journey), got {mean_length!r}")
    if not 0 <= n_journeys <= MAX_JOURNEYS:
        raise ParameterError(f"n_journeys must be from 0 to {MAX_JOURNEYS:_} (journeys to "
                             f"simulate), got {n_journeys!r}")
    if not (isinstance(span_days, (int, np.integer)) and span_days >= 1):
        raise ParameterError(f"span_days must be a whole number of days >= 1, got {span_days!r}")


def _simulate(rng, world, shift, n, mean_length, start, span_days):
    """The population and the event log of ``n`` journeys (the stream's order is fixed:
    touches, induced touches, the conversion draw, the order of touches, their times, the
    values).
    """
    tj, types, intent = _draw_touches(rng, world, n, mean_length)
    base = or_by_journey(tj, types, n)  # tj is sorted
    induced, ind_j, ind_t = _induced_touches(rng, world, base)
    pop = Population(world, base, induced, intent)
    draw = rng.random(n)
    j_all, t_all = _ordered_touches(rng, (tj, types), (ind_j, ind_t), _stage_rank(world))
    ts, t0 = _touch_seconds(rng, j_all, n, start, span_days)
    full = pop.exposure(all_types(len(world.catalogue)))
    p = pop.prob(full)
    if shift is not None:  # journeys that start on or after the date live in the new world
        after = t0 >= pd.Timestamp(shift["date"]).value // 10**9
        p = np.where(after, Population(shift["world"], base, induced, intent).prob(full), p)
    return pop, _events(rng, world.catalogue, j_all, t_all, ts, draw < p)


def drifted_world(world, drift):
    """``{"date", "world", "factors"}``: the world after ``drift`` (None without one)."""
    if drift is None:
        return None
    if not isinstance(drift, dict) or set(drift) != {"date", "lifts"}:
        raise ParameterError("drift must be a dict with keys 'date' and 'lifts', e.g. "
                             "{'date': '2024-07-01', 'lifts': {'tv_ad': 2.0}}")
    try:
        date = pd.Timestamp(drift["date"])
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"drift['date'] must be a date, got {drift['date']!r}") from exc
    cat = world.catalogue
    theta = np.array(world.theta)
    factors = dict(drift["lifts"])
    for name, factor in factors.items():
        hit = ((cat["touchpoint"] == name) | (cat["channel"] == name)).to_numpy()
        if not hit.any():
            raise ParameterError(f"drift['lifts'] names {name!r}, which is neither a "
                                 "touchpoint nor a channel of the catalogue")
        if not (np.isfinite(factor) and factor >= 0):
            raise ParameterError(f"drift['lifts'][{name!r}] must be a factor >= 0, "
                                 f"got {factor!r}")
        theta[hit] *= factor
    if theta.max() > 1:
        raise ParameterError(f"drift['lifts'] takes a lift to {theta.max():.3g}: lifts are "
                             "probabilities (at most 1); choose smaller factors")
    theta.setflags(write=False)
    return {"date": date, "world": replace(world, theta=theta), "factors": factors}


def _stage_rank(world):
    return world.catalogue["stage"].map({s: i for i, s in enumerate(STAGES)}).to_numpy()


def _draw_touches(rng, world, n, mean_length):
    """Journey lengths (1 + negative binomial), each touch's type drawn by frequency, and each
    journey's latent intent; with targeting > 0, intent steers touches to targeted types.

    Returns the journey of every touch (sorted), its type, and the intent of every journey.
    """
    extra = mean_length - 1
    lengths = 1 + (rng.negative_binomial(2, 2 / (2 + extra), size=n) if extra > 0
                   else np.zeros(n, dtype=np.int64))
    tj = np.repeat(np.arange(n), lengths)
    types = rng.choice(len(world.catalogue), size=len(tj), p=world.touch_probability)
    intent = rng.normal(size=n)
    if world.targeting > 0 and len(world.targeted):
        steer = np.clip(world.targeting / (1 + np.exp(-intent[tj])), 0, 1)
        swap = rng.random(len(tj)) < steer
        types = np.where(swap, rng.choice(world.targeted, size=len(tj)), types)
    return tj, types, intent


def _induced_touches(rng, world, base):
    """Upstream tier: an exposure to a cause type makes a touch of its effect type with
    probability ``upstream_rate``. Other tiers induce nothing.

    Returns the induced exposure mask of every journey, and the journey and type of every
    induced touch.
    """
    n = len(base)
    induced = np.zeros(n, dtype=np.uint64)
    ind_j, ind_t = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for c, e in world.links:
        seen = ((base >> np.uint64(c)) & np.uint64(1)).astype(bool)
        hit = seen & (rng.random(n) < world.upstream_rate)
        induced[hit] |= np.uint64(1) << np.uint64(e)
        ind_j.append(np.flatnonzero(hit))
        ind_t.append(np.full(int(hit.sum()), e, dtype=np.int64))
    return induced, np.concatenate(ind_j), np.concatenate(ind_t)


def _events(rng, cat, j_all, t_all, ts, converted):
    """The event log: each journey's touches (ordered by stage, its own before induced ones,
    random among equals: :func:`_ordered_touches`) at times ``ts``, then its conversion row
    if it converts.
    """
    n = len(converted)
    last_ts = np.zeros(n, dtype=np.int64)
    np.maximum.at(last_ts, j_all, ts)
    conv_j = np.flatnonzero(converted)
    # final positions: each journey's touches, then its conversion row (if it converts)
    counts = np.bincount(j_all, minlength=n)
    rows_per = counts + converted
    first_row = np.concatenate([[0], np.cumsum(rows_per)[:-1]])
    pos_touch = first_row[j_all] + (np.arange(len(j_all)) - (np.cumsum(counts) - counts)[j_all])
    pos_conv = first_row[conv_j] + counts[conv_j]
    total = int(rows_per.sum())
    code = np.full(total, -1, dtype=np.int64)
    code[pos_touch] = t_all
    journey = np.empty(total, dtype=np.int64)
    journey[pos_touch] = j_all
    journey[pos_conv] = conv_j
    stamp = np.empty(total, dtype=np.int64)
    stamp[pos_touch] = ts
    stamp[pos_conv] = last_ts[conv_j] + 3600
    flag = np.zeros(total, dtype=np.int64)
    flag[pos_conv] = 1
    value = np.zeros(total)
    value[pos_conv] = np.round(rng.lognormal(4.0, 0.5, size=len(conv_j)), 2)

    names = cat["touchpoint"].astype(str).to_numpy()
    chan, chan_code = np.unique(cat["channel"].astype(str).to_numpy(), return_inverse=True)
    stage, stage_code = np.unique(cat["stage"].astype(str).to_numpy(), return_inverse=True)
    safe = np.maximum(code, 0)
    return pd.DataFrame({
        "user_id": journey,
        "timestamp": pd.to_datetime(stamp, unit="s"),
        "touchpoint": pd.Categorical.from_codes(code, names),
        "channel": pd.Categorical.from_codes(np.where(code >= 0, chan_code[safe], -1), chan),
        "stage": pd.Categorical.from_codes(np.where(code >= 0, stage_code[safe], -1), stage),
        "converted": flag,
        "revenue": value,
    })


def _ordered_touches(rng, touches, induced, stage_rank):
    """Journey and type of every touch, own and induced, sorted by (journey, stage,
    induced-later, random tie-break).
    """
    (tj, types), (ind_j, ind_t) = touches, induced
    j_all = np.concatenate([tj, ind_j])
    t_all = np.concatenate([types, ind_t])
    late = np.concatenate([np.zeros(len(tj)), np.ones(len(ind_j))])  # induced come later
    # one packed key (journey, stage, induced-later, random tie-break) instead of a lexsort
    key = ((j_all.astype(np.int64) * 3 + stage_rank[t_all]) * 2 + late.astype(np.int64))
    key = (key << 20) + rng.integers(0, 1 << 20, size=len(j_all))
    order = np.argsort(key)
    return j_all[order], t_all[order]


def _touch_seconds(rng, j_all, n, start, span_days=60):
    """Time of every touch and the start of every journey (seconds since the epoch): each
    journey starts within ``span_days`` days of ``start`` and its touches follow each other
    after exponential gaps (mean one day).
    """
    gaps = rng.exponential(24 * 3600, size=len(j_all))
    first = np.r_[True, j_all[1:] != j_all[:-1]]
    t0 = pd.Timestamp(start).value // 10**9 + rng.integers(0, int(span_days) * 86_400, size=n)
    secs = np.cumsum(gaps)
    secs -= np.maximum.accumulate(np.where(first, secs - gaps, 0))
    return t0[j_all] + secs.astype(np.int64), t0
