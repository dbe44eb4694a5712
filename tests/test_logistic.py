import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import attribution as at
from tests.conftest import make_journeys
from tests.test_shapley import channel_shares, drivers_data


def quiet(model, j):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        return model.fit(j)


def test_pattern_fit_equals_per_journey_fit():
    j = drivers_data(4000, seed=5)
    m = quiet(at.Logistic(C=0.5, link="logit"), j)
    x = np.zeros((j.n_journeys, 10))
    jj, code = j.distinct()
    x[jj, code] = 1
    ref = LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-8).fit(x,
                                                                             j.conversions > 0)
    np.testing.assert_allclose(m.coef_.to_numpy(), ref.coef_[0], atol=1e-6)
    assert m.intercept_ == pytest.approx(ref.intercept_[0], abs=1e-6)


def test_logistic_finds_the_drivers_and_baseline_adds_up():
    j = drivers_data()
    m = quiet(at.Logistic(credit="incremental"), j)
    assert channel_shares(m)[["c0", "c1"]].sum() >= 0.85
    assert m.result_.to_frame()["conversions"].sum() == pytest.approx(j.conversions.sum())
    counts = quiet(at.Logistic(features="log1p", credit="incremental"), j)
    assert channel_shares(counts)[["c0", "c1"]].sum() >= 0.85


def test_bagging_keeps_coefficients_and_is_deterministic():
    j = drivers_data(30_000, seed=6)
    # main effects only (an additive world: with link="logit" the screen adds c0:c1)
    full = quiet(at.Logistic(link="logit", interactions=False), j).coef_
    bag = dict(link="logit", interactions=False, n_estimators=12, max_samples=0.8,
               max_features=0.5, random_state=3)
    b1 = quiet(at.Logistic(**bag, n_jobs=1), j)
    b2 = quiet(at.Logistic(**bag, n_jobs=2), j)
    np.testing.assert_array_equal(b1.coef_.to_numpy(), b2.coef_.to_numpy())
    # a left-out channel is missing, not zero: the drivers' coefficients are not halved
    np.testing.assert_allclose(b1.coef_[["c0", "c1"]], full[["c0", "c1"]], rtol=0.1)
    assert (b1.n_bags_seen_ < 12).all() and (b1.coef_std_ > 0).all()


def test_inference_summary_matches_the_fit():
    j = drivers_data(20_000, seed=7)
    m = quiet(at.Logistic(inference=True, C=1e6, link="logit", interactions=False), j)
    params = m.inference_.params
    np.testing.assert_allclose(params[1:], m.coef_.to_numpy(), atol=1e-3)
    text = str(m.summary())
    assert "c0" in text and "std err" in text
    with pytest.raises(at.ParameterError, match="inference=True"):
        quiet(at.Logistic(), j).summary()


def test_shao_li_hand_computed():
    # a > b converts 1 of 2; a converts 1 of 4; b converts 2 of 2
    j = make_journeys([[0, 1], [0, 1], [0], [0], [0], [0], [1], [1]],
                      [1, 0, 1, 0, 0, 0, 1, 1], [0, 1, 0, 1, 1, 1, 0, 0], names=["a", "b"])
    m = at.ShaoLiProbabilistic().fit(j)
    # P(a) = 2/6, P(b) = 3/4, P(a, b) = 1/2; in {a, b}: C(a) = 1/3 + (1/2 - 1/3 - 3/4)/2,
    # C(b) = 3/4 + (1/2 - 1/3 - 3/4)/2; single-channel journeys keep all their credit
    ca = 1 / 3 + (0.5 - 1 / 3 - 0.75) / 2
    cb = 0.75 + (0.5 - 1 / 3 - 0.75) / 2
    share_a = max(ca, 0) / (max(ca, 0) + max(cb, 0))
    assert m.credit_["a"] == pytest.approx(share_a + 1, abs=1e-12)
    assert m.credit_["b"] == pytest.approx(1 - share_a + 2, abs=1e-12)


@pytest.mark.parametrize("bad", [dict(features="bits"), dict(credit="x"), dict(n_estimators=0),
                                 dict(max_features=0), dict(C=0), dict(max_exact=0),
                                 dict(n_permutations=1)])
def test_bad_parameters(bad, ca_journeys):
    with pytest.raises(at.ParameterError):
        at.Logistic(**bad).fit(ca_journeys)


@pytest.mark.parametrize("credit", ["total", "incremental"])
def test_credit_is_shapley_of_the_fitted_probabilities(credit):
    """Two channels: credit from the fitted coefficients by the two-player Shapley formula."""
    # a: 2 of 10 convert; b: 3 of 6; a > b: 4 of 5; b > a > b: 1 of 4
    j = make_journeys([[0], [1], [0, 1], [1, 0, 1]], [2, 3, 4, 1], [8, 3, 1, 3],
                      value=[20.0, 30.0, 40.0, 10.0], names=["a", "b"])
    m = quiet(at.Logistic(credit=credit, link="logit"), j)

    def p(*present):
        z = m.intercept_ + sum(m.coef_[e] for e in present)
        return 1 / (1 + np.exp(-z))

    v0, v = p(), {"a": p("a"), "b": p("b"), "ab": p("a", "b")}
    phi = {"a": {"a": v["a"] - v0}, "b": {"b": v["b"] - v0},
           "ab": {"a": 0.5 * ((v["a"] - v0) + (v["ab"] - v["b"])),
                  "b": 0.5 * ((v["b"] - v0) + (v["ab"] - v["a"]))}}
    sets = {"a": (2, 20.0), "b": (3, 30.0), "ab": (4 + 1, 40.0 + 10.0)}  # conversions, value
    want, value, base, unattributed = {"a": 0.0, "b": 0.0}, {"a": 0.0, "b": 0.0}, 0.0, 0.0
    for key, (c, val) in sets.items():
        # total: phi / (v(T) - v(empty)); incremental: phi / v(T), v(empty) / v(T) to the
        # baseline; a set whose denominator is <= 0 is unattributed
        denom = v[key] - v0 if credit == "total" else v[key]
        if denom <= 1e-9:
            unattributed += c
            continue
        for e, x in phi[key].items():
            want[e] += c * x / denom
            value[e] += val * x / denom
        base += 0.0 if credit == "total" else c * v0 / denom
    assert m.credit_.to_dict() == pytest.approx(want, abs=1e-12)
    assert m.value_credit_.to_dict() == pytest.approx(value, abs=1e-12)
    extra = m.result_.extra
    assert extra.get("(baseline)", (0.0, 0.0))[0] == pytest.approx(base, abs=1e-12)
    assert extra.get("(unattributed)", (0.0, 0.0))[0] == pytest.approx(unattributed)
    # a converts below the fitted baseline: by total credit its own journeys are unattributed
    assert (v["a"] < v0) and (unattributed == 2 if credit == "total" else unattributed == 0)


def test_entity_left_out_of_every_bag_keeps_efficiency():
    j = make_journeys([[0], [1], [0, 1]], [1, 1, 2], [1, 2, 1], names=["a", "b"])
    with warnings.catch_warnings(record=True) as seen:  # also: a set is unattributed
        warnings.simplefilter("always")
        m = at.Logistic(max_features=0.5, random_state=0).fit(j)
    assert any("1 touchpoint(s) were drawn by no bag" in str(w.message) for w in seen)
    assert m.n_bags_seen_.sort_values().tolist() == [0, 1]  # one of a, b never drawn
    never = m.n_bags_seen_.idxmin()
    assert np.isnan(m.coef_[never]) and m.credit_[never] == 0  # unknown: counts as 0
    assert m.result_.to_frame()["conversions"].sum() == pytest.approx(4.0)
    t = m.transform(j)
    by = t[t["position"] >= 0].groupby(t["touchpoint"].astype(str))["credit"].sum()
    np.testing.assert_allclose(by[m.credit_.index], m.credit_, atol=1e-9)


def test_n_jobs_changes_no_bit():
    """Issue 13 item 10: the bags of n_jobs=2 run in worker processes whose BLAS has other
    threads than the parent's, and a matrix product's last bits depend on its threads; the
    fits and the game now run on one BLAS thread and the game in fixed pieces."""
    rng = np.random.default_rng(1)
    n, k = 20_000, 20
    paths = [list(rng.integers(0, k, size=rng.integers(1, 12))) for _ in range(n)]
    conv = (rng.random(n) < 0.3).astype(float)
    j = make_journeys(paths, conv, 1 - conv, value=conv * 10)
    got = []
    for n_jobs in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", at.AttributionWarning)  # negative Shapley values
            m = at.Logistic(n_estimators=2, max_samples=0.9, max_exact=3, n_permutations=4,
                            random_state=0, n_jobs=n_jobs).fit(j)
            t = m.transform(j)
        got.append([m.coef_.to_numpy().tobytes(), m.credit_.to_numpy().tobytes(),
                    m.value_credit_.to_numpy().tobytes(),
                    t[["credit", "value_credit"]].to_numpy().tobytes()])
    assert got[0] == got[1]


def test_fit_seed_is_kept_for_transform():
    j = drivers_data(3000, seed=2)
    m = quiet(at.Logistic(max_exact=3, n_permutations=10), j)  # random_state=None
    assert isinstance(m.seed_, int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        t = m.transform(j)
    by = t[t["position"] >= 0].groupby(t["touchpoint"].astype(str))["credit"].sum()
    np.testing.assert_allclose(by[m.credit_.index], m.credit_, rtol=1e-12)
    seeded = quiet(at.Logistic(max_exact=3, n_permutations=10, random_state=m.seed_), j)
    pd.testing.assert_series_equal(seeded.credit_, m.credit_, check_exact=True)
