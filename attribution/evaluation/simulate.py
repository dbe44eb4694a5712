"""Journey simulator with causal ground truth (docs/models.md, "Ground truth").

Touchpoint types carry causal lifts theta_k, Zipf-shaped (theta_k proportional to k^-beta, beta
solved so the true top-20% share of incremental conversions hits ``target_top20``), with
placebo types (theta = 0) and clone types (same frequency and lift). Journeys have
right-skewed lengths; touches are drawn by frequency and ordered by stage. Outcome tiers:

- ``"additive"``: p = b + sum_k theta_k x_k;
- ``"noisy_or"``: p = 1 - (1 - b) prod_k (1 - theta_k)^x_k;
- ``"logit"``: logit p = logit b + sum_k 4 theta_k x_k + synergy for listed pairs;
- ``"confounded"``: a latent intent raises both the baseline and the exposure to
  ``targeted`` touchpoints (``targeting`` sets how much);
- ``"upstream"``: an exposure to a cause type makes a later touch of its effect type
  (probability ``upstream_rate``); removing the cause removes the induced touches.

The world's exposures and outcome probabilities live in :mod:`~attribution.evaluation.world`;
the causal truth computed from them (:class:`Truth`: removal effects and Shapley values over
types) in :mod:`~attribution.evaluation.truth`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from attribution.evaluation.truth import Truth, true_credit
from attribution.evaluation.world import World, all_types, or_by_journey
from attribution.journeys.validation import ParameterError
from attribution.metrics import top_share
from attribution.shapley import bits_of

__all__ = ["STAGES", "TIERS", "Truth", "default_catalogue", "simulate_journeys"]

TIERS = ("additive", "noisy_or", "logit", "confounded", "upstream")
STAGES = ("pre", "during", "post")

_CATALOGUE = [  # touchpoint, channel, stage, relative frequency
    ("tv_ad", "tv", "pre", 3.0), ("display_ad", "web", "pre", 4.0),
    ("blog_article", "web", "pre", 1.5), ("online_review", "web", "pre", 1.5),
    ("word_of_mouth", "social", "pre", 0.8), ("social_post", "social", "pre", 3.0),
    ("search_ad", "web", "pre", 2.5), ("radio_spot", "audio", "pre", 1.0),
    ("product_page", "web", "during", 3.0), ("store_clerk", "store", "during", 1.0),
    ("app_browse", "app", "during", 1.5), ("add_to_cart", "web", "during", 1.2),
    ("checkout", "web", "during", 0.8), ("store_visit", "store", "during", 0.9),
    ("order_confirmation", "email", "post", 1.0), ("customer_service", "call_centre", "post", 0.6),
    ("follow_up_email", "email", "post", 1.2), ("loyalty_programme", "email", "post", 0.7),
]


def default_catalogue(n_placebo: int = 1, n_clones: int = 2) -> pd.DataFrame:
    """The default catalogue plus ``n_placebo`` placebo and ``n_clones`` clone types.

    Clones copy ``display_ad``'s channel, stage and frequency (``display_ad_clone1``...);
    placebos are web banners nobody reacts to. Columns: touchpoint, channel, stage,
    frequency, role (``causal``, ``placebo`` or ``clone``).
    """
    rows = [dict(touchpoint=t, channel=c, stage=s, frequency=f, role="causal")
            for t, c, s, f in _CATALOGUE]
    for i in range(n_clones):
        rows.append(dict(touchpoint=f"display_ad_clone{i + 1}", channel="web", stage="pre",
                         frequency=4.0, role="clone"))
    for i in range(n_placebo):
        rows.append(dict(touchpoint=f"placebo_banner{i + 1}", channel="web", stage="pre",
                         frequency=2.0, role="placebo"))
    return pd.DataFrame(rows)


_UPSTREAM = {"tv_ad": "search_ad", "display_ad": "product_page",
             "word_of_mouth": "online_review"}
_TARGETED = ("search_ad", "display_ad", "product_page")
_SYNERGY = (("tv_ad", "search_ad"), ("online_review", "product_page"))


def simulate_journeys(n_journeys=10_000, catalogue=None, tier="additive", target_top20=0.8,
                      n_placebo=1, n_clones=2, mean_length=4.0, frequency_effect_corr=0.0,
                      targeting=0.0, baseline=0.02, effect_scale=0.25, upstream_rate=0.5,
                      synergy=0.5, truth_journeys=200_000, start="2024-01-01",
                      random_state=None):
    """Simulate an event log with known causal credit.

    Parameters
    ----------
    n_journeys : int
    catalogue : pandas.DataFrame, optional
        Columns touchpoint, channel, stage, frequency, role; default
        :func:`default_catalogue` (``n_placebo``, ``n_clones``).
    tier : {"additive", "noisy_or", "logit", "confounded", "upstream"}
    target_top20 : float or None
        True top-20% share of incremental conversions the lifts are solved for (exact in the
        additive tier; the other tiers bend it). None: equal lifts (a flat truth, shaped by
        exposure alone).
    mean_length : float
        Mean touches per journey (1 + negative binomial: right-skewed).
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
    random_state : int or None

    Returns
    -------
    events : pandas.DataFrame
        ``journey_id``, ``timestamp``, ``touchpoint``, ``channel``, ``stage``, ``converted``
        (1 on conversion rows, which have no touchpoint) and ``value``.
    truth : Truth
    """
    if tier not in TIERS:
        raise ParameterError(f"tier must be one of {TIERS}, got {tier!r}")
    if not -1 <= frequency_effect_corr <= 1:
        raise ParameterError("frequency_effect_corr must lie in [-1, 1]")
    if mean_length < 1:
        raise ParameterError("mean_length must be >= 1")
    rng = np.random.default_rng(random_state)
    cat = (catalogue if catalogue is not None else default_catalogue(n_placebo, n_clones))
    cat = cat.reset_index(drop=True)
    k, n = len(cat), int(n_journeys)
    names = cat["touchpoint"].to_numpy()
    freq = cat["frequency"].to_numpy(float)
    freq = freq / freq.sum()
    tj, types, intent = _draw_touches(rng, n, names, freq, mean_length,
                                      targeting if tier == "confounded" else 0.0)
    if k > 64:
        raise ParameterError(f"the catalogue has {k} touchpoint types; at most 64 are supported")
    base = or_by_journey(tj, types, n)  # tj is sorted
    links, induced, ind_j, ind_t = _induced_touches(rng, names, base, tier, upstream_rate)
    theta = _lifts(rng, cat, freq, bits_of(base | induced, k).mean(axis=0), target_top20,
                   frequency_effect_corr, effect_scale)
    pairs = [(int(np.flatnonzero(names == a)[0]), int(np.flatnonzero(names == b)[0]))
             for a, b in _SYNERGY if (names == a).any() and (names == b).any()]
    world = World(tier, theta, base, induced, links, intent, baseline, synergy, pairs)
    converted = rng.random(n) < world.prob(world.exposure(all_types(k)))
    events = _events(rng, cat, (tj, types), (ind_j, ind_t), converted, start)
    return events, true_credit(world, cat, min(n, int(truth_journeys)), n)


def _draw_touches(rng, n, names, freq, mean_length, targeting):
    """Journey lengths (1 + negative binomial), each touch's type drawn by frequency, and each
    journey's latent intent; with ``targeting`` > 0, intent steers touches to targeted types.

    Returns the journey of every touch (sorted), its type, and the intent of every journey.
    """
    extra = mean_length - 1
    lengths = 1 + (rng.negative_binomial(2, 2 / (2 + extra), size=n) if extra > 0
                   else np.zeros(n, dtype=np.int64))
    tj = np.repeat(np.arange(n), lengths)
    types = rng.choice(len(names), size=len(tj), p=freq)
    intent = rng.normal(size=n)
    if targeting > 0:
        targeted = np.flatnonzero(np.isin(names, _TARGETED))
        swap = rng.random(len(tj)) < np.clip(targeting / (1 + np.exp(-intent[tj])), 0, 1)
        types = np.where(swap, rng.choice(targeted, size=len(tj)), types)
    return tj, types, intent


def _induced_touches(rng, names, base, tier, upstream_rate):
    """Upstream tier: an exposure to a cause type makes a touch of its effect type with
    probability ``upstream_rate``. Other tiers induce nothing.

    Returns the (cause, effect) links, the induced exposure mask of every journey, and the
    journey and type of every induced touch.
    """
    n = len(base)
    links = []
    induced = np.zeros(n, dtype=np.uint64)
    ind_j, ind_t = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if tier != "upstream":
        return links, induced, ind_j, ind_t
    for c_name, e_name in _UPSTREAM.items():
        c, e = np.flatnonzero(names == c_name), np.flatnonzero(names == e_name)
        if len(c) and len(e):
            links.append((int(c[0]), int(e[0])))
            seen = ((base >> np.uint64(c[0])) & np.uint64(1)).astype(bool)
            hit = seen & (rng.random(n) < upstream_rate)
            induced[hit] |= np.uint64(1) << np.uint64(e[0])
            ind_j = np.concatenate([ind_j, np.flatnonzero(hit)])
            ind_t = np.concatenate([ind_t, np.full(int(hit.sum()), e[0])])
    return links, induced, ind_j, ind_t


def _lifts(rng, cat, freq, exposed, target_top20, frequency_effect_corr, effect_scale):
    """The lift of every type: Zipf over the ranks of the causal types, the exponent solved
    so the top 20% of types hold ``target_top20`` of lift x exposure; clones share
    display_ad's lift, placebos have none.
    """
    names, role = cat["touchpoint"].to_numpy(), cat["role"].to_numpy()
    slots = np.flatnonzero(role == "causal")
    z = np.log(freq[slots])
    z = (z - z.mean()) / (z.std() or 1.0)
    score = frequency_effect_corr * z + np.sqrt(1 - frequency_effect_corr**2) * rng.normal(
        size=len(slots))
    rank = np.empty(len(slots))
    rank[np.argsort(-score, kind="stable")] = np.arange(1, len(slots) + 1)
    anchor = np.flatnonzero(names == "display_ad")

    def lifts(beta):
        th = np.zeros(len(cat))
        th[slots] = rank ** -beta
        if len(anchor):
            th[role == "clone"] = th[anchor[0]]
        return th * effect_scale / th.max()

    def gap(beta):
        return top_share(lifts(beta) * exposed, 0.2) - (target_top20 or 0.0)

    if target_top20 is None:  # flat: equal lifts; exposure alone shapes the credit
        return lifts(0.0)
    if gap(0.0) > 0 or gap(30.0) < 0:
        flat = gap(0.0) + target_top20
        raise ParameterError(
            f"target_top20={target_top20} cannot be reached: with equal lifts the top 20% of "
            f"types already hold {flat:.3f} of the credit (exposure alone), and the most "
            f"concentrated lifts hold {gap(30.0) + target_top20:.3f}; choose a target between "
            "or target_top20=None for equal lifts")
    return lifts(brentq(gap, 0.0, 30.0, xtol=1e-10))


def _events(rng, cat, touches, induced, converted, start):
    """The event log: each journey's touches ordered by stage (its own before induced ones,
    random among equals), then its conversion row if it converts.
    """
    n = len(converted)
    stage_rank = cat["stage"].map({s: i for i, s in enumerate(STAGES)}).to_numpy()
    j_all, t_all = _ordered_touches(rng, touches, induced, stage_rank)
    ts = _touch_seconds(rng, j_all, n, start)
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
        "journey_id": journey,
        "timestamp": pd.to_datetime(stamp, unit="s"),
        "touchpoint": pd.Categorical.from_codes(code, names),
        "channel": pd.Categorical.from_codes(np.where(code >= 0, chan_code[safe], -1), chan),
        "stage": pd.Categorical.from_codes(np.where(code >= 0, stage_code[safe], -1), stage),
        "converted": flag,
        "value": value,
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


def _touch_seconds(rng, j_all, n, start):
    """Time of every touch (seconds since the epoch): each journey starts within 60 days of
    ``start`` and its touches follow each other after exponential gaps (mean one day).
    """
    gaps = rng.exponential(24 * 3600, size=len(j_all))
    first = np.r_[True, j_all[1:] != j_all[:-1]]
    t0 = pd.Timestamp(start).value // 10**9 + rng.integers(0, 60 * 86_400, size=n)
    secs = np.cumsum(gaps)
    secs -= np.maximum.accumulate(np.where(first, secs - gaps, 0))
    return t0[j_all] + secs.astype(np.int64)
