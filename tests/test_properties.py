"""Axiom and invariance properties over random journeys, for every registered model.

Complements tests/test_models_common.py (efficiency, aggregation, relabelling, row order):
merge invariance of the statistic, symmetry of exchangeable channels, and the null player where
the model promises it.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.journeys.stats import concat, merge
from attribution.journeys.validation import InputError
from attribution.models import available_models
from tests._tol import rtol
from tests.conftest import journeys_strategy, make_journeys, paths_of
from tests.test_models_common import model

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
# timestamped models (AdditiveHazard) are tested on timed journeys in tests/test_hazard.py
MODELS = [m for m in available_models() if not model(m).requires_times]
# "an entity absent from every converting journey gets no credit": every model that hands out
# each converting journey's own conversions (heuristics, Shapley and Logistic over the journey's
# set, ShaoLi within the journey). A Markov chain does not: a non-converting `z > b` still leads
# into b (MODELS.md and tests/test_markov.py hold the counter-example).
NULL_PLAYER = [m for m in MODELS if m != "markov"]


def close(a, b, tol):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 1e-3)


@pytest.mark.parametrize("name", MODELS)
@given(j=journeys_strategy(max_journeys=12, touchpoints=True), cut=st.integers(1, 11))
@settings(max_examples=25, deadline=None)
def test_halves_merged_equal_the_whole(name, j, cut):
    cut = min(cut, j.n_journeys)
    halves = [j.select(np.arange(cut)), j.select(np.arange(cut, j.n_journeys))]
    halves = [h for h in halves if h.n_journeys]
    merged = merge([h.aggregate() for h in halves])
    whole = model(name).fit(j)
    got = model(name).fit(merged)
    close(got.credit_[whole.credit_.index], whole.credit_, rtol(whole))
    close(got.value_credit_[whole.credit_.index], whole.value_credit_, rtol(whole))
    assert merged.n_journeys == j.aggregate().n_journeys


@st.composite
def mirrored(draw):
    """Journeys closed under swapping channels 0 and 1 (same weights): 0 and 1 exchangeable."""
    j = draw(journeys_strategy(max_journeys=6))
    paths = paths_of(j)
    codes = [[int(np.flatnonzero(j.names == c)[0]) for c in p] for p in paths]
    swap = {0: 1, 1: 0}
    mirror = [[swap.get(c, c) for c in p] for p in codes]
    k = max(max(p) for p in codes + mirror) + 1
    return make_journeys(codes + mirror, np.r_[j.conversions, j.conversions],
                         np.r_[j.nulls, j.nulls], np.r_[j.value, j.value],
                         names=[f"c{i}" for i in range(max(k, 2))])


@pytest.mark.parametrize("name", MODELS)
@given(j=mirrored())
@settings(max_examples=25, deadline=None)
def test_exchangeable_channels_get_equal_credit(name, j):
    m = model(name).fit(j)
    tol = rtol(m)
    scale = max(j.conversions.sum(), 1.0)
    assert abs(m.credit_["c0"] - m.credit_["c1"]) <= tol * 1e3 * scale
    assert abs(m.value_credit_["c0"] - m.value_credit_["c1"]) <= tol * 1e3 * max(
        j.value.sum(), 1.0)


@pytest.mark.parametrize("name", NULL_PLAYER)
@given(j=journeys_strategy(max_journeys=8), null_paths=st.lists(
    st.lists(st.integers(0, 4), min_size=0, max_size=3), min_size=1, max_size=3))
@settings(max_examples=25, deadline=None)
def test_null_player_gets_nothing(name, j, null_paths):
    """Entity ``z`` appears only in journeys without conversions: its credit is 0."""
    codes = [[int(np.flatnonzero(j.names == c)[0]) for c in p] for p in paths_of(j)]
    z = len(j.names)
    extra = [[c for c in p if c < z] + [z] for p in null_paths]
    both = make_journeys(codes + extra, np.r_[j.conversions, np.zeros(len(extra))],
                         np.r_[j.nulls, np.ones(len(extra))],
                         np.r_[j.value, np.zeros(len(extra))],
                         names=list(j.names) + ["z"])
    m = model(name).fit(both)
    assert m.credit_["z"] == 0.0 and m.value_credit_["z"] == 0.0


def test_concat_unites_vocabularies_and_keeps_order():
    a = make_journeys([[0, 1], [1]], [1, 0], [0, 1], names=["a", "b"], channel_of=[0, 1],
                      channel_names=["web", "tv"])
    b = make_journeys([[0], [1, 0]], [2, 1], [0, 0], names=["c", "a"], channel_of=[0, 1],
                      channel_names=["email", "web"])
    j = concat([a, b])
    assert paths_of(j) == [["a", "b"], ["b"], ["c"], ["a", "c"]]
    assert list(j.conversions) == [1, 0, 2, 1]
    ch = dict(zip(j.names, j.channel_names[j.channel_of], strict=True))
    assert ch == {"a": "web", "b": "tv", "c": "email"}
    assert at.Journeys.concat([a, b]).n_journeys == 4


def test_concat_rejects_conflicting_channels_and_levels():
    a = make_journeys([[0]], [1], names=["a"], channel_of=[0], channel_names=["web"])
    b = make_journeys([[0]], [1], names=["a"], channel_of=[0], channel_names=["tv"])
    with pytest.raises(InputError, match="touchpoint 'a' belongs to channel 'web'"):
        concat([a, b])
    with pytest.raises(InputError, match="different levels"):
        concat([a, b.at_level("channel")])
    with pytest.raises(at.EmptyInputError):
        concat([])


@pytest.mark.parametrize("name", MODELS)
@given(j=journeys_strategy(touchpoints=True), seed=st.integers(0, 99))
@settings(max_examples=15, deadline=None)
def test_transform_on_another_vocabulary_order(name, j, seed):
    """A chunk coded in another order (or missing some entities) gets the same credit."""
    m = model(name).fit(j)
    perm = np.random.default_rng(seed).permutation(len(j.names))
    names = np.empty(len(perm), dtype=object)
    names[perm] = j.names
    channel_of = np.empty(len(perm), dtype=np.int32)
    channel_of[perm] = j.channel_of
    other = at.Journeys(j.offsets, perm[j.codes], j.conversions, j.nulls, j.value, names=names,
                        channel_of=channel_of, channel_names=j.channel_names)
    a, b = m.transform(j), m.transform(other)
    np.testing.assert_allclose(b["credit"], a["credit"], rtol=1e-9, atol=1e-12)
    assert (b["touchpoint"].astype(str) == a["touchpoint"].astype(str)).all()


def test_unseen_entity_in_transform():
    j = make_journeys([[0, 1], [1]], [1, 1], [1, 0], names=["a", "b"])
    new = make_journeys([[0, 1], [1, 1, 0]], [1, 3], [0, 0], names=["a", "zz"])
    t = at.Linear().fit(j).transform(new)  # heuristics need no fitted state per entity
    assert t["touchpoint"].astype(str).tolist() == ["a", "zz", "zz", "zz", "a"]
    assert t["credit"].tolist() == pytest.approx([0.5, 0.5, 1.0, 1.0, 1.0])
    with pytest.raises(InputError, match="'zz'.*not in the data"):
        at.MarkovChain().fit(j).transform(new)
