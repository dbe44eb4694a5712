"""The simulated world: what a seed fixes before any journey is drawn.

A :class:`World` is the touchpoint catalogue (types, channels, stages, frequencies, roles), the
outcome tier and its parameters, and the causal lift of every type (which types are the
drivers, and by how much). It is a function of the seed (and of these parameters) alone: it is
drawn from its own child of ``numpy.random.SeedSequence(seed)`` and its Zipf exponent is solved
against the *expected* exposure of the journey generator, never against sampled journeys, so
the number of journeys and their mean length do not change it. The journeys are drawn from the
other child (:func:`seed_streams`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import integrate, stats
from scipy.optimize import brentq

from attribution.journeys.validation import ParameterError
from attribution.metrics import top_share

__all__ = ["STAGES", "TIERS", "World", "default_catalogue", "length_pgf", "make_world",
           "seed_root", "seed_streams"]

TIERS = ("additive", "noisy_or", "logit", "confounded", "upstream")
STAGES = ("pre", "during", "post")
UPSTREAM = {"tv_ad": "search_ad", "display_ad": "product_page",
            "word_of_mouth": "online_review"}
TARGETED = ("search_ad", "display_ad", "product_page")
SYNERGY = (("tv_ad", "search_ad"), ("online_review", "product_page"))

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


def seed_root(random_state) -> np.random.SeedSequence:
    """The root seed sequence of ``random_state``: an int, a
    :class:`numpy.random.SeedSequence` (copied, so never consumed), a
    :class:`numpy.random.Generator` (a seed is drawn from it) or None (fresh entropy).
    """
    if isinstance(random_state, np.random.Generator):
        random_state = random_state.integers(0, 2**63, size=4).tolist()
    if isinstance(random_state, np.random.SeedSequence):
        return np.random.SeedSequence(random_state.entropy, spawn_key=random_state.spawn_key)
    return np.random.SeedSequence(random_state)


def seed_streams(random_state) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """The world's and the journeys' seed sequences: the two children of
    :func:`seed_root` ``(random_state)``. The same int or SeedSequence always gives the same
    two; to share fresh entropy between calls, pass them one ``seed_root(None)``.
    """
    world, journeys = seed_root(random_state).spawn(2)
    return world, journeys


@dataclass(frozen=True, eq=False)
class World:
    """Everything a seed fixes: the catalogue, the tier and the causal lifts.

    ``a == b`` compares every field exactly (arrays bit for bit).

    Attributes
    ----------
    tier : str
    catalogue : pandas.DataFrame
        touchpoint, channel, stage, frequency, role; row ``k`` is type ``k``.
    touch_probability : array, shape (k,)
        Probability that a journey's own touch is of type ``k`` (the frequencies, normalised;
        before the confounded tier's targeting).
    expected_exposure : array, shape (k,)
        Probability that a journey of mean length ``reference_length`` meets type ``k``
        (computed from the generator's length distribution and ``touch_probability``, with
        the confounded tier's targeting integrated over intent and the upstream tier's
        induced touches). The lifts are solved against it.
    rank : array of int, shape (k,)
        Rank of each causal type's lift (1 = strongest); 0 for clones and placebos.
    beta : float
        Zipf exponent of the lifts (0 for equal lifts).
    theta : array, shape (k,)
        Causal lift of each type.
    links, pairs : tuple of (int, int)
        Upstream (cause, effect) types; synergy pairs of the logit tier.
    targeted : array of int
        Types the confounded tier's intent steers touches to.
    target_top20, baseline, effect_scale, targeting, upstream_rate, synergy, reference_length
        The parameters of :func:`make_world` (``targeting`` 0 outside the confounded tier).
    """

    tier: str
    catalogue: pd.DataFrame
    touch_probability: np.ndarray
    expected_exposure: np.ndarray
    rank: np.ndarray
    beta: float
    theta: np.ndarray
    links: tuple
    pairs: tuple
    targeted: np.ndarray
    target_top20: float | None
    baseline: float
    effect_scale: float
    targeting: float
    upstream_rate: float
    synergy: float
    reference_length: float

    def __eq__(self, other):
        if not isinstance(other, World):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            same = (a.equals(b) if isinstance(a, pd.DataFrame) else
                    np.array_equal(a, b) if isinstance(a, np.ndarray) else
                    (a is None and b is None) or a == b)
            if not same:
                return False
        return True

    __hash__ = None

    @property
    def names(self) -> np.ndarray:
        """Touchpoint names, in type order."""
        return self.catalogue["touchpoint"].to_numpy()

    @property
    def lifts(self) -> pd.Series:
        """``theta`` by touchpoint."""
        return pd.Series(self.theta, index=pd.Index(self.names, name="touchpoint"))

    @property
    def top20(self) -> float:
        """Top-20% share of ``theta x expected_exposure`` (``target_top20`` by construction)."""
        return top_share(self.theta * self.expected_exposure, 0.2)

    @property
    def drivers(self) -> list:
        """The types in that top 20%, strongest first."""
        w = self.theta * self.expected_exposure
        n_top = int(np.ceil(0.2 * len(w) - 1e-12))
        return [str(t) for t in self.names[np.argsort(-w, kind="stable")[:n_top]]]


def make_world(catalogue=None, tier="additive", target_top20=0.8, frequency_effect_corr=0.0,
               targeting=0.0, baseline=0.02, effect_scale=0.25, upstream_rate=0.5,
               synergy=0.5, n_placebo=1, n_clones=2, reference_length=4.0,
               random_state=None) -> World:
    """The :class:`World` of ``random_state`` (its first :func:`seed_streams` child).

    The parameters are those of :func:`attribution.evaluation.simulate.simulate_journeys`,
    which calls this with its own: a world depends on neither ``n_journeys`` nor
    ``mean_length``. ``reference_length`` is the mean journey length whose expected exposure
    the lifts are solved against (the simulator's default ``mean_length``, 4): journeys of
    that mean length have a true top-20% share that converges to ``target_top20`` in the
    additive tier; shorter or longer journeys bend it a little.
    """
    if tier not in TIERS:
        raise ParameterError(f"tier must be one of {TIERS}, got {tier!r}")
    if not -1 <= frequency_effect_corr <= 1:
        raise ParameterError("frequency_effect_corr must lie in [-1, 1]")
    if not reference_length >= 1:
        raise ParameterError("reference_length must be >= 1")
    cat = (catalogue if catalogue is not None else default_catalogue(n_placebo, n_clones))
    cat = cat.reset_index(drop=True).copy()
    k = len(cat)
    if k > 64:
        raise ParameterError(f"the catalogue has {k} touchpoint types; at most 64 are supported")
    names = cat["touchpoint"].to_numpy()
    freq = cat["frequency"].to_numpy(float)
    freq = freq / freq.sum()
    targeting = float(targeting) if tier == "confounded" else 0.0
    targeted = np.flatnonzero(np.isin(names, TARGETED))
    links = tuple(_index_pairs(names, UPSTREAM.items())) if tier == "upstream" else ()
    exposure = _expected_exposure(freq, targeted, targeting, links, upstream_rate,
                                  float(reference_length))
    rng = np.random.default_rng(seed_streams(random_state)[0])
    rank, beta, theta = _lifts(rng, cat, freq, exposure, target_top20, frequency_effect_corr,
                               effect_scale)
    arrays = [a.copy() for a in (freq, exposure, rank, theta, targeted)]
    for a in arrays:
        a.setflags(write=False)
    freq, exposure, rank, theta, targeted = arrays
    return World(tier=tier, catalogue=cat, touch_probability=freq, expected_exposure=exposure,
                 rank=rank, beta=beta, theta=theta, links=links,
                 pairs=tuple(_index_pairs(names, SYNERGY)), targeted=targeted,
                 target_top20=target_top20, baseline=float(baseline),
                 effect_scale=float(effect_scale), targeting=targeting,
                 upstream_rate=float(upstream_rate), synergy=float(synergy),
                 reference_length=float(reference_length))


def _index_pairs(names, pairs):
    """Type indices of the (a, b) name pairs whose two names are in the catalogue."""
    for a, b in pairs:
        if (names == a).any() and (names == b).any():
            yield int(np.flatnonzero(names == a)[0]), int(np.flatnonzero(names == b)[0])


def length_pgf(s, mean_length):
    """E[s^L] for the journey length L = 1 + NegativeBinomial(2, p) with mean ``mean_length``."""
    p = 2 / (2 + mean_length - 1)
    return s * (p / (1 - (1 - p) * s)) ** 2


def _expected_exposure(freq, targeted, targeting, links, upstream_rate, length):
    """Probability that a journey of mean length ``length`` meets each type (:class:`World`).

    A journey meets type k unless none of its L touches is of type k: 1 - E[(1 - p_k)^L].
    In the confounded tier p_k depends on the intent z ~ N(0, 1) (a touch is steered to a
    random targeted type with probability min(targeting * sigmoid(z), 1)): integrated over
    z. In the upstream tier an effect type is also met through its cause's induced touch.
    """
    def missed(z):
        steer = np.minimum(targeting / (1 + np.exp(-z)), 1.0)
        p = (1 - steer) * freq
        p[targeted] += steer / len(targeted)
        return length_pgf(1 - p, length) * stats.norm.pdf(z)

    if targeting > 0 and len(targeted):
        kink = [-np.log(targeting - 1)] if targeting > 1 else None  # steering saturates
        exposure = 1 - integrate.quad_vec(missed, -12, 12, points=kink, epsabs=1e-13,
                                          epsrel=1e-12)[0]
    else:
        exposure = 1 - length_pgf(1 - freq, length)
    for c, e in links:  # own touch of e, or a touch of c (without e) that induces e
        no_e = length_pgf(1 - freq[e], length)
        exposure[e] += upstream_rate * (no_e - length_pgf(1 - freq[e] - freq[c], length))
    return exposure


def _lifts(rng, cat, freq, exposure, target_top20, frequency_effect_corr, effect_scale):
    """Rank, Zipf exponent and lift of every type: Zipf over the ranks of the causal types,
    the exponent solved so the top 20% of types hold ``target_top20`` of lift x expected
    exposure; clones share display_ad's lift, placebos have none.
    """
    names, role = cat["touchpoint"].to_numpy(), cat["role"].to_numpy()
    slots = np.flatnonzero(role == "causal")
    z = np.log(freq[slots])
    z = (z - z.mean()) / (z.std() or 1.0)
    score = frequency_effect_corr * z + np.sqrt(1 - frequency_effect_corr**2) * rng.normal(
        size=len(slots))
    rank = np.zeros(len(cat), dtype=np.int64)
    rank[slots[np.argsort(-score, kind="stable")]] = np.arange(1, len(slots) + 1)
    anchor = np.flatnonzero(names == "display_ad")

    def lifts(beta):
        th = np.zeros(len(cat))
        th[slots] = rank[slots].astype(float) ** -beta
        if len(anchor):
            th[role == "clone"] = th[anchor[0]]
        return th * effect_scale / th.max()

    def gap(beta):
        return top_share(lifts(beta) * exposure, 0.2) - (target_top20 or 0.0)

    if target_top20 is None:  # flat: equal lifts; exposure alone shapes the credit
        return rank, 0.0, lifts(0.0)
    if gap(0.0) > 0 or gap(30.0) < 0:
        flat = gap(0.0) + target_top20
        raise ParameterError(
            f"target_top20={target_top20} cannot be reached: with equal lifts the top 20% of "
            f"types already hold {flat:.3f} of the credit (exposure alone), and the most "
            f"concentrated lifts hold {gap(30.0) + target_top20:.3f}; choose a target between "
            "or target_top20=None for equal lifts")
    beta = brentq(gap, 0.0, 30.0, xtol=1e-12, rtol=1e-15)
    return rank, float(beta), lifts(beta)
