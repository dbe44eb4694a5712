"""Pairwise interaction terms of the value model (Logistic, Shapley(value="model")).

Expectations are independent of the code: the generating parameters of simulated data (within
statsmodels' standard errors), Shapley values of two players written out by hand from the
fitted parameters, and the pairs that can be estimated at all."""

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.journeys.validation import ParameterError
from attribution.models._value_model import pairs_of, with_pairs

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
NAMES = np.array(list("abcde"))
TRUE = dict(intercept=-3.0, a=0.5, b=0.3, c=0.0, d=0.0, e=0.0, cd=1.2)


def synergy_journeys(n=80_000, seed=0):
    """Five channels seen with probability 0.35 each; c and d act only together (logit)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 5)) < 0.35
    x[x.sum(axis=1) == 0, 0] = True
    eta = (TRUE["intercept"] + TRUE["a"] * x[:, 0] + TRUE["b"] * x[:, 1]
           + TRUE["cd"] * (x[:, 2] & x[:, 3]))
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    paths = [" > ".join(NAMES[row]) for row in x]
    table = pd.DataFrame({"path": paths, "total_conversions": y.astype(float),
                          "total_null": (~y).astype(float)})
    return at.Journeys.from_paths(table)


@pytest.fixture(scope="module")
def synergy():
    return synergy_journeys()


def test_logit_with_a_pair_recovers_the_generating_parameters(synergy):
    m = at.Logistic(link="logit", interactions=[("d", "c")], C=1e8, inference=True).fit(synergy)
    res = m.inference_
    est = dict(zip(res.model.exog_names, res.params, strict=True))
    se = dict(zip(res.model.exog_names, res.bse, strict=True))
    for name, truth in (("const", TRUE["intercept"]), ("a", TRUE["a"]), ("b", TRUE["b"]),
                        ("c", 0.0), ("d", 0.0), ("c:d", TRUE["cd"])):
        assert abs(est[name] - truth) < 4 * se[name], (name, est[name], se[name])
    # the penalised fit (C huge) and the GLM agree; the pair is reported by name
    row = m.interactions_.iloc[0]
    assert (row["first"], row["second"]) == ("c", "d")
    assert row["coef"] == pytest.approx(est["c:d"], abs=1e-4)
    assert m.coef_["a"] == pytest.approx(est["a"], abs=1e-4)


def test_without_the_pair_the_synergy_is_missed(synergy):
    """The pair's held-out log-loss is better than the main-effects model's: the synergy is
    real and only a pair term carries it."""
    plain = at.Logistic(link="logit", C=1e8, interactions=False).fit(synergy)
    paired = at.Logistic(link="logit", C=1e8, interactions=True).fit(synergy)
    x = with_pairs(np.eye(5)[[2, 3]].sum(axis=0, keepdims=True), paired._pairs()[0])
    assert len(plain.interactions_) == 0
    # with both c and d on, the paired model predicts the generating probability
    p_true = 1 / (1 + np.exp(-(TRUE["intercept"] + TRUE["cd"])))
    assert paired._predict(np.array([[0, 0, 1, 1, 0.0]]))[0] == pytest.approx(p_true, rel=0.1)
    assert x.shape[1] == 5 + len(paired.interactions_)
    assert plain._predict(np.array([[0, 0, 1, 1, 0.0]]))[0] < 0.8 * p_true


def test_credit_of_two_players_is_their_shapley_value_by_hand(synergy):
    m = at.Logistic(link="logit", interactions=[("c", "d")], credit="total").fit(synergy)
    b, coef = m.intercept_, m.coef_
    w = m.interactions_.set_index(["first", "second"])["coef"][("c", "d")]

    def v(c, d):
        return 1 / (1 + np.exp(-(b + coef["c"] * c + coef["d"] * d + w * c * d)))

    phi_c = 0.5 * ((v(1, 0) - v(0, 0)) + (v(1, 1) - v(0, 1)))
    share_c = phi_c / (v(1, 1) - v(0, 0))
    one = pd.DataFrame({"path": ["c > d"], "total_conversions": [1.0], "total_null": [0.0]})
    out = m.transform(at.Journeys.from_paths(one))
    assert out.loc[out["channel"] == "c", "credit"].sum() == pytest.approx(share_c, rel=1e-9)
    assert out["credit"].sum() == pytest.approx(1.0)


def test_all_pairs_are_those_seen_together():
    x = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0.0]])
    assert pairs_of(True, x).tolist() == [[0, 1], [2, 3]]
    assert pairs_of(False, x).shape == (0, 2)
    assert pairs_of([("b", "a"), ("a", "b")], x, np.array(list("abcd"))).tolist() == [[0, 1]]


def test_bagged_pairs_are_fitted_only_with_both_entities(synergy):
    m = at.Logistic(link="logit", interactions=True, n_estimators=6, max_features=0.6,
                    random_state=1).fit(synergy)
    seen = m.n_bags_seen_
    for _, row in m.interactions_.iterrows():
        assert row["n_bags_seen"] <= min(seen[row["first"]], seen[row["second"]])
    assert (m.interactions_["n_bags_seen"] < 6).any()


def test_shapley_model_game_takes_the_pairs(synergy):
    s = at.Shapley(value="model", link="logit", interactions=[("c", "d")]).fit(synergy)
    assert s.estimator_.pairs_.tolist() == [[2, 3]]
    assert s.estimator_.pair_coef_[0] == pytest.approx(TRUE["cd"], abs=0.25)
    # credit adds up: conversions minus the baseline go to the entities
    total = s.credit_.sum() + s.result_.extra["(baseline)"][0]
    assert total == pytest.approx(synergy.conversions.sum())
    assert "c:d" not in s.credit_.index and "c" in s.credit_.index


@pytest.mark.parametrize("model", [at.Logistic, lambda **kw: at.Shapley(value="model", **kw)])
def test_persisted_pairs_score_the_same(synergy, model):
    m = model(interactions=[("c", "d")]).fit(synergy)
    back = at.load_json(at.to_json(m))
    np.testing.assert_array_equal(back.transform(synergy)["credit"].to_numpy(),
                                  m.transform(synergy)["credit"].to_numpy())


@pytest.mark.parametrize("setting", [False, True, "auto", [("c", "d")]])
def test_every_interactions_setting_loads_back(synergy, setting):
    m = at.Logistic(interactions=setting).fit(synergy)
    back = at.load_json(at.to_json(m))
    assert back.get_params()["interactions"] == m.get_params()["interactions"]
    np.testing.assert_array_equal(back.transform(synergy)["credit"].to_numpy(),
                                  m.transform(synergy)["credit"].to_numpy())


def test_persisted_pair_table_is_the_same_frame(synergy):
    m = at.Logistic(interactions=[("c", "d")]).fit(synergy)
    back = at.load_json(at.to_json(m))
    assert list(m.interactions_[["first", "second"]].iloc[0]) == ["c", "d"]
    pd.testing.assert_frame_equal(back.interactions_, m.interactions_)  # dtypes too


@pytest.mark.parametrize("bad, words", [
    ([("a", "z")], "names 'z'"), ([("a", "a")], "two different"), ("yes", "True, False"),
    ([("a",)], "pairs")])
def test_bad_pairs_are_named(synergy, bad, words):
    with pytest.raises(ParameterError, match=words):
        at.Logistic(interactions=bad).fit(synergy)


def test_an_estimator_takes_no_pairs(synergy):
    from sklearn.linear_model import LogisticRegression

    for model in (at.Logistic, lambda **kw: at.Shapley(value="model", **kw)):
        with pytest.raises(ParameterError, match="interactions=True"):
            model(estimator=LogisticRegression(), interactions=True).fit(synergy)
