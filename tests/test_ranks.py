"""Rank uncertainty from bootstrap replicates: P(top 20%) and P(a > b)."""

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.inference.bootstrap import BootstrapReplicates
from attribution.inference.ranks import order_probability, top_probability


def result_with(names, point, draws, extra_draws=None):
    names = np.array(names, dtype=object)
    k = len(names)
    r = at.AttributionResult(
        model="m", level="channel", names=names, conversions=np.asarray(point, float),
        value=10 * np.asarray(point, float), exposure=np.ones(k), channel_of=np.arange(k),
        channel_names=names, total_conversions=float(np.sum(point)),
        total_value=10 * float(np.sum(point)))
    draws = np.asarray(draws, float)
    cols, labels = [draws], list(names)
    if extra_draws is not None:  # a (baseline) column that must never be ranked
        cols.append(np.asarray(extra_draws, float)[:, None])
        labels.append("(baseline)")
    conv = np.column_stack(cols)
    r.bootstrap_ = BootstrapReplicates(labels, conv, 10 * conv, "multinomial", 0)
    return r


def test_two_entities_by_hand():
    """a = 1, 2, 3, 4 and b = 2, 2, 2, 2: a > b in replicates 3 and 4, tied in 2."""
    r = result_with(["a", "b"], [2.5, 2.0], [[1, 2], [2, 2], [3, 2], [4, 2]])
    pw = r.pairwise_order()
    assert pw.loc["a", "b"] == pytest.approx(0.625) and pw.loc["b", "a"] == pytest.approx(0.375)
    assert np.isnan(pw.loc["a", "a"])
    # top 50% of 2 = 1 entity; in the top when no entity has strictly more (ties all in)
    rp = r.rank_probabilities(p=0.5).set_index("entity")
    assert rp.loc["a", "p_top"] == pytest.approx(0.75) and rp.loc["b", "p_top"] == 0.5
    assert rp["rank"].to_dict() == {"a": 1, "b": 2}


def test_dominant_entity_is_certain():
    rng = np.random.default_rng(0)
    draws = rng.uniform(0, 1, size=(200, 5))
    draws[:, 2] += 10.0  # c always first
    r = result_with(list("abcde"), draws.mean(axis=0), draws, extra_draws=np.full(200, 99.0))
    rp = r.rank_probabilities()  # top 20% of 5 entities: 1; (baseline) not an entity
    assert rp["entity"].iloc[0] == "c" and rp["p_top"].iloc[0] == 1.0
    assert (rp["p_top"].iloc[1:] == 0.0).all() and "(baseline)" not in set(rp["entity"])
    pw = r.pairwise_order()
    assert pw.index[0] == "c" and (pw.loc["c"].drop("c") == 1.0).all()
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose((pw.to_numpy() + pw.to_numpy().T)[off], 1.0)


def test_top_probability_counts_ties_in():
    draws = np.array([[3.0, 3.0, 1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(top_probability(draws, 0.2), [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(top_probability(draws, 0.6), [1, 1, 1, 0, 0])


def test_order_probability_matches_brute_force():
    rng = np.random.default_rng(4)
    draws = rng.integers(0, 4, size=(50, 4)).astype(float)  # many ties
    got = order_probability(draws)
    for a in range(4):
        for b in range(4):
            if a != b:
                want = np.mean([1.0 if x > y else 0.5 if x == y else 0.0
                                for x, y in zip(draws[:, a], draws[:, b], strict=True)])
                assert got[a, b] == pytest.approx(want)


def test_real_bootstrap(ca_journeys):
    m = at.get_model("linear")
    at.bootstrap(m, ca_journeys, n_boot=40, random_state=2)
    r = m.result_
    rp = r.rank_probabilities()
    assert list(rp["entity"]) == list(r.to_frame(extra=False).sort_values(
        "conversions", ascending=False, kind="stable")["entity"])
    # every replicate has at least ceil(0.2 * 4) = 1 entity in its top
    assert rp["p_top"].between(0, 1).all() and rp["p_top"].sum() >= 1.0
    pw = r.pairwise_order(top=3)
    assert pw.shape == (3, 3) and list(pw.index) == list(rp["entity"][:3])
    ch = r.at_level("channel").pairwise_order(entities=["b", "a"])
    assert list(ch.index) == ["b", "a"]


def test_errors(ca_journeys):
    r = at.get_model("linear").fit(ca_journeys).result_
    with pytest.raises(at.AttributionError, match="bootstrap"):
        r.rank_probabilities()
    r = result_with(["a", "b"], [1, 2], [[1, 2], [2, 1]])
    with pytest.raises(at.ParameterError, match="not in the result"):
        r.pairwise_order(entities=["a", "zz"])
    with pytest.raises(at.ParameterError, match="list of names"):
        r.pairwise_order(entities="a")
    with pytest.raises(at.ParameterError, match="p must"):
        r.rank_probabilities(p=0)
    with pytest.raises(at.ParameterError, match="on must"):
        r.rank_probabilities(on="share")
    assert isinstance(r.pairwise_order(), pd.DataFrame)
