"""Journey simulator with causal ground truth (MODELS.md, Ground truth).

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
from scipy.optimize import brentq

from attribution.journeys.validation import ParameterError
from attribution.metrics import concentration, lorenz, top_share
from attribution.shapley import bits_of, shapley

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



_UPSTREAM = {"tv_ad": "search_ad", "display_ad": "product_page",
             "word_of_mouth": "online_review"}
_TARGETED = ("search_ad", "display_ad", "product_page")
_SYNERGY = (("tv_ad", "search_ad"), ("online_review", "product_page"))


def _logit(p):
    return np.log(p / (1 - p))


class _World:
    """Exposures of simulated journeys, as uint64 bit masks over types, and the tier's outcome
    probability. Sums of per-type weights over a mask are byte-table look-ups (one per 8
    types), so no (journeys x types) matrix is ever built.
    """

    def __init__(self, tier, theta, base, induced, links, intent, baseline, synergy, pairs):
        self.tier, self.theta, self.base, self.induced = tier, theta, base, induced
        self.links, self.intent, self.b, self.synergy, self.pairs = (links, intent, baseline,
                                                                     synergy, pairs)
        self._lift = _byte_tables(4 * theta if tier == "logit" else theta)
        if tier == "noisy_or":
            self._lift = _byte_tables(np.log1p(-theta))

    def exposure(self, on, rows=slice(None)):
        """Effective exposure masks when only the types in ``on`` (mask, scalar or per row)
        are switched on: an induced touch needs its own type and its cause on.
        """
        on = np.asarray(on, dtype=np.uint64)
        x = self.base[rows] & on
        if not self.links:  # no induced touches in this tier
            return x
        allowed = np.zeros_like(on)
        for c, e in self.links:
            allowed = allowed | (((on >> np.uint64(c)) & np.uint64(1)) << np.uint64(e))
        return x | (self.induced[rows] & on & allowed)

    def prob(self, x, rows=slice(None)):
        s = _weighted_sum(x, self._lift)
        if self.tier in ("additive", "upstream"):
            return np.clip(self.b + s, 0, 1)
        if self.tier == "noisy_or":
            return 1 - (1 - self.b) * np.exp(s)
        if self.tier == "logit":
            z = _logit(self.b) + s
            for i, k in self.pairs:
                both = (x >> np.uint64(i)) & (x >> np.uint64(k)) & np.uint64(1)
                z = z + self.synergy * both
            return 1 / (1 + np.exp(-z))
        b = np.clip(self.b * np.exp(0.8 * self.intent[rows]), 0, 0.5)  # confounded
        return np.clip(b + s, 0, 1)


def _byte_tables(w):
    """For each byte of a mask, the 256 sums of the weights of its set bits."""
    w = np.asarray(w, dtype=np.float64)
    w = np.concatenate([w, np.zeros(-len(w) % 8)]).reshape(-1, 8)
    bits = bits_of(np.arange(256, dtype=np.uint64), 8).astype(np.float64)
    return bits @ w.T  # (256, n_bytes)


def _weighted_sum(masks, tables):
    """sum_k w_k [bit k of mask] through the byte tables of :func:`_byte_tables`."""
    masks = np.asarray(masks, dtype=np.uint64)
    out = np.zeros(masks.shape)
    for j in range(tables.shape[1]):
        out += tables[((masks >> np.uint64(8 * j)) & np.uint64(255)).astype(np.intp), j]
    return out


def _or_by_journey(journey, types, n):
    """Per-journey OR of 1 << type over touches (``journey`` sorted)."""
    out = np.zeros(n, dtype=np.uint64)
    if len(journey):
        bit = np.left_shift(np.uint64(1), types.astype(np.uint64))
        starts = np.flatnonzero(np.r_[True, journey[1:] != journey[:-1]])
        out[journey[starts]] = np.bitwise_or.reduceat(bit, starts)
    return out


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
    k = len(cat)
    names = cat["touchpoint"].to_numpy()
    freq = cat["frequency"].to_numpy(float)
    freq = freq / freq.sum()
    stage_rank = cat["stage"].map({s: i for i, s in enumerate(STAGES)}).to_numpy()

    # -- journeys: lengths, touch types, intent, induced touches
    n = int(n_journeys)
    extra = mean_length - 1
    lengths = 1 + (rng.negative_binomial(2, 2 / (2 + extra), size=n) if extra > 0
                   else np.zeros(n, dtype=np.int64))
    tj = np.repeat(np.arange(n), lengths)
    types = rng.choice(k, size=len(tj), p=freq)
    intent = rng.normal(size=n)
    if tier == "confounded" and targeting > 0:
        targeted = np.flatnonzero(np.isin(names, _TARGETED))
        swap = rng.random(len(tj)) < np.clip(targeting / (1 + np.exp(-intent[tj])), 0, 1)
        types = np.where(swap, rng.choice(targeted, size=len(tj)), types)
    if k > 64:
        raise ParameterError(f"the catalogue has {k} touchpoint types; at most 64 are supported")
    base = _or_by_journey(tj, types, n)  # tj is sorted
    links = []
    induced = np.zeros(n, dtype=np.uint64)
    ind_j, ind_t = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if tier == "upstream":
        for c_name, e_name in _UPSTREAM.items():
            c, e = np.flatnonzero(names == c_name), np.flatnonzero(names == e_name)
            if len(c) and len(e):
                links.append((int(c[0]), int(e[0])))
                seen = ((base >> np.uint64(c[0])) & np.uint64(1)).astype(bool)
                hit = seen & (rng.random(n) < upstream_rate)
                induced[hit] |= np.uint64(1) << np.uint64(e[0])
                ind_j = np.concatenate([ind_j, np.flatnonzero(hit)])
                ind_t = np.concatenate([ind_t, np.full(int(hit.sum()), e[0])])

    # -- lifts: Zipf over ranks, clones share display_ad's lift, placebos 0
    role = cat["role"].to_numpy()
    slots = np.flatnonzero(role == "causal")
    z = np.log(freq[slots])
    z = (z - z.mean()) / (z.std() or 1.0)
    score = frequency_effect_corr * z + np.sqrt(1 - frequency_effect_corr**2) * rng.normal(
        size=len(slots))
    rank = np.empty(len(slots))
    rank[np.argsort(-score, kind="stable")] = np.arange(1, len(slots) + 1)
    anchor = np.flatnonzero(names == "display_ad")
    exposed = bits_of(base | induced, k).mean(axis=0)

    def lifts(beta):
        th = np.zeros(k)
        th[slots] = rank ** -beta
        if len(anchor):
            th[role == "clone"] = th[anchor[0]]
        return th * effect_scale / th.max()

    def gap(beta):
        return top_share(lifts(beta) * exposed, 0.2) - (target_top20 or 0.0)

    if target_top20 is None:  # flat: equal lifts; exposure alone shapes the credit
        beta = 0.0
    elif gap(0.0) > 0 or gap(30.0) < 0:
        flat = gap(0.0) + target_top20
        raise ParameterError(
            f"target_top20={target_top20} cannot be reached: with equal lifts the top 20% of "
            f"types already hold {flat:.3f} of the credit (exposure alone), and the most "
            f"concentrated lifts hold {gap(30.0) + target_top20:.3f}; choose a target between "
            "or target_top20=None for equal lifts")
    else:
        beta = brentq(gap, 0.0, 30.0, xtol=1e-10)
    theta = lifts(beta)
    pairs = [(int(np.flatnonzero(names == a)[0]), int(np.flatnonzero(names == b)[0]))
             for a, b in _SYNERGY if (names == a).any() and (names == b).any()]
    world = _World(tier, theta, base, induced, links, intent, baseline, synergy, pairs)
    p_all = world.prob(world.exposure(_ALL(k)))
    converted = rng.random(n) < p_all

    events = _events(rng, n, tj, types, ind_j, ind_t, stage_rank, cat, converted, start)
    truth = _truth(world, cat, min(n, int(truth_journeys)), n, beta)
    return events, truth


def _events(rng, n, tj, types, ind_j, ind_t, stage_rank, cat, converted, start):
    """The event log: touches ordered by stage within each journey, then conversions."""
    j_all = np.concatenate([tj, ind_j])
    t_all = np.concatenate([types, ind_t])
    late = np.concatenate([np.zeros(len(tj)), np.ones(len(ind_j))])  # induced come later
    # one packed key (journey, stage, induced-later, random tie-break) instead of a lexsort
    key = ((j_all.astype(np.int64) * 3 + stage_rank[t_all]) * 2 + late.astype(np.int64))
    key = (key << 20) + rng.integers(0, 1 << 20, size=len(j_all))
    order = np.argsort(key)
    j_all, t_all = j_all[order], t_all[order]
    gaps = rng.exponential(24 * 3600, size=len(j_all))
    first = np.r_[True, j_all[1:] != j_all[:-1]]
    t0 = pd.Timestamp(start).value // 10**9 + rng.integers(0, 60 * 86_400, size=n)
    secs = np.cumsum(gaps)
    secs -= np.maximum.accumulate(np.where(first, secs - gaps, 0))
    ts = t0[j_all] + secs.astype(np.int64)
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


def _ALL(k):
    return np.uint64((1 << k) - 1)


def _truth(world, cat, m, n, beta):
    """Removal and Shapley truth on the first ``m`` journeys, scaled to ``n`` journeys."""
    k = len(cat)
    rows = slice(0, m)
    scale = n / m
    on = _ALL(k)
    p_all = world.prob(world.exposure(on, rows), rows)
    removal = np.zeros(k)
    for i in range(k):  # one re-simulation per type, same journeys and draws
        off = on & ~(np.uint64(1) << np.uint64(i))
        removal[i] = (p_all - world.prob(world.exposure(off, rows), rows)).sum() * scale
    p_none = world.prob(world.exposure(np.uint64(0), rows), rows)
    # Shapley over types: each journey's game involves only the types it can be exposed to
    base, induced = world.base[rows], world.induced[rows]
    relevant = base | induced
    for c, e in world.links:  # a cause matters where it induced a touch
        relevant |= ((induced >> np.uint64(e)) & np.uint64(1)) << np.uint64(c)
    if world.tier == "confounded":  # the baseline differs per journey: one game each
        pattern, reps = np.arange(m), m
    else:  # journeys with the same exposures play the same game
        key = base | (induced << np.uint64(k)) if 2 * k <= 64 else np.stack([base, induced], 1)
        _, pattern = np.unique(key, axis=0 if key.ndim == 2 else None, return_inverse=True)
        pattern = pattern.ravel()
        reps = int(pattern.max()) + 1 if m else 0
    rep_row = np.zeros(reps, dtype=np.int64)
    rep_row[pattern] = np.arange(m)  # any journey of the pattern represents it
    weight = np.bincount(pattern, minlength=reps).astype(float)
    masks = relevant[rep_row]
    tags = np.arange(reps, dtype=np.uint64) << np.uint64(k)
    low = _ALL(k)

    def game(coalitions):
        r = rep_row[(coalitions >> np.uint64(k)).astype(np.int64)]
        return world.prob(world.exposure(coalitions & low, r), r)

    phi, _, _, _ = shapley(masks, game, k, max_exact=14, tags=tags)
    sh = (weight[:, None] * phi).sum(axis=0) * scale
    names = pd.Index(cat["touchpoint"], name="touchpoint")
    shap = pd.Series(sh, index=names)
    return Truth(removal=pd.Series(removal, index=names), shapley=shap,
                 channel_shapley=shap.groupby(cat["channel"].to_numpy()).sum(),
                 baseline=float(p_none.sum() * scale), conversions=float(p_all.sum() * scale),
                 theta=pd.Series(world.theta, index=names), tier=world.tier, catalogue=cat)
