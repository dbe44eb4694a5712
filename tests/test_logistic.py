import warnings

import numpy as np
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
    m = quiet(at.Logistic(C=0.5), j)
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
    full = quiet(at.Logistic(), j).coef_
    bag = dict(n_estimators=12, max_samples=0.8, max_features=0.5, random_state=3)
    b1 = quiet(at.Logistic(**bag, n_jobs=1), j)
    b2 = quiet(at.Logistic(**bag, n_jobs=2), j)
    np.testing.assert_array_equal(b1.coef_.to_numpy(), b2.coef_.to_numpy())
    # a left-out channel is missing, not zero: the drivers' coefficients are not halved
    np.testing.assert_allclose(b1.coef_[["c0", "c1"]], full[["c0", "c1"]], rtol=0.1)
    assert (b1.n_bags_seen_ < 12).all() and (b1.coef_std_ > 0).all()


def test_inference_summary_matches_the_fit():
    j = drivers_data(20_000, seed=7)
    m = quiet(at.Logistic(inference=True, C=1e6), j)
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
