"""The value-model kernel of Logistic and Shapley: links logit, noisy-OR, identity and auto.

Expectations are independent of the kernel: the generating parameters of simulated data
(within their standard errors, from statsmodels), Shapley values enumerated by hand over the
orderings of three players, replicated rows, finite differences."""

import itertools
import json
import warnings
from math import factorial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import approx_fprime
from sklearn.ensemble import HistGradientBoostingClassifier

import attribution as at
from attribution.journeys.validation import InputError, ParameterError
from attribution.models import BinomialModel
from attribution.models._links import _objective, fit_link, glm_inference, probability
from attribution.models._value_model import fold_counts
from tests.conftest import make_journeys

# AttributionWarning flags valid results worth attention (a set whose value is <= 0 ...)
pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
K = 10
THETA = np.linspace(0.02, 0.2, K)
BETA = np.linspace(0.1, 1.0, K)
TRUTH = {"noisy_or": (0.03, THETA), "identity": (0.03, THETA / 2), "logit": (-3.5, BETA)}


def simulate(link, n=200_000, seed=0, exposure=0.3):
    """Exposure patterns of ``n`` journeys and their outcomes drawn from ``link``'s model."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n, K)) < exposure).astype(float)
    b, coef = TRUTH[link]
    y = (rng.random(n) < probability(link, b, coef, x)).astype(float)
    return x, y


def patterns(x, y, w=None):
    w = np.ones(len(y)) if w is None else w
    pats, inv = np.unique(x, axis=0, return_inverse=True)
    inv = inv.ravel()
    return pats, np.bincount(inv, w * y), np.bincount(inv, w * (1 - y))


@pytest.mark.parametrize("link", ["logit", "noisy_or", "identity"])
def test_each_link_recovers_its_generating_parameters(link):
    x, y = simulate(link)
    m = BinomialModel(link=link, C=1e6).fit(x, y)
    assert m.link_ == link
    # standard errors of the unpenalised fit: statsmodels GLM, Fisher information
    res = glm_inference(link, *patterns(x, y), [f"e{i}" for i in range(K)])
    b, coef = TRUTH[link]
    est = np.concatenate([[m.intercept_], m.coef_])
    truth = np.concatenate([[b], coef])
    if link == "noisy_or":  # GLM parameters are log(1 - theta): delta method
        se = res.bse * (1 - est)
        np.testing.assert_allclose(res.params, np.log1p(-est), atol=1e-4)
    else:
        se = res.bse
        np.testing.assert_allclose(res.params, est, atol=1e-4 if link == "identity" else 1e-3)
    z = (est - truth) / se
    assert np.abs(z).max() < 4.5, z
    assert np.abs(z).mean() < 1.5, z  # about 0.8 for standard normal errors


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("link", ["logit", "noisy_or", "identity"])
def test_auto_picks_the_generating_family(link, seed):
    x, y = simulate(link, seed=seed)
    m = BinomialModel(random_state=seed).fit(x, y)
    assert m.link_ == link
    table = m.link_scores()
    assert table["selected"].sum() == 1
    assert table.loc[table["selected"], "link"].item() == link
    assert table.loc[table["selected"], "log_loss"].item() == table["log_loss"].min()


def shapley_by_hand(v, players):
    """Shapley values by enumerating every ordering of the players."""
    phi = dict.fromkeys(players, 0.0)
    for order in itertools.permutations(players):
        before = frozenset()
        for p in order:
            phi[p] += v(before | {p}) - v(before)
            before = before | {p}
    return {p: s / factorial(len(players)) for p, s in phi.items()}


def three_entity_journeys():
    # sets a, b, c, ab, abc with conversions and nulls
    paths = [[0], [1], [2], [0, 1], [0, 1, 2]]
    return make_journeys(paths, [30, 50, 20, 60, 90], [270, 250, 180, 140, 110],
                         value=[300.0, 500.0, 200.0, 600.0, 900.0], names=["a", "b", "c"])


@pytest.mark.parametrize("credit", ["total", "incremental"])
def test_exact_shapley_of_noisy_or_on_three_entities_by_hand(credit):
    j = three_entity_journeys()
    m = at.Logistic(link="noisy_or", credit=credit, interactions=False).fit(j)
    b, th = m.intercept_, m.coef_

    def v(s):  # the noisy-OR, written out
        return 1 - (1 - b) * np.prod([1 - th[e] for e in s])

    sets = {"a": (30, "a"), "b": (50, "b"), "c": (20, "c"), "ab": (60, "ab"),
            "abc": (90, "abc")}
    want = dict.fromkeys("abc", 0.0)
    base = 0.0
    for conv, members in sets.values():
        phi = shapley_by_hand(v, list(members))
        denom = v(frozenset(members)) - v(frozenset()) if credit == "total" else v(members)
        for e, x in phi.items():
            want[e] += conv * x / denom
        base += 0.0 if credit == "total" else conv * v(frozenset()) / denom
    assert m.credit_.to_dict() == pytest.approx(want, rel=1e-10)
    assert m.result_.extra.get("(baseline)", (0.0,))[0] == pytest.approx(base, rel=1e-10)
    # noisy-OR: Shapley shares differ from theta shares when players overlap
    phi = shapley_by_hand(v, ["a", "b", "c"])
    assert phi["a"] < th["a"] and sum(phi.values()) == pytest.approx(v("abc") - v(""))


def test_exact_shapley_of_the_additive_game_is_theta():
    j = three_entity_journeys()
    m = at.Logistic(link="identity", credit="incremental", interactions=False).fit(j)
    b, th = m.intercept_, m.coef_
    assert (th > 0).all()  # all effects positive: no clipping inside the game
    phi = shapley_by_hand(lambda s: b + sum(th[e] for e in s), ["a", "b", "c"])
    assert phi == pytest.approx(th.to_dict(), abs=1e-15)  # additive game: phi_i = theta_i
    # incremental credit of a set T: theta_i / v(T) of its conversions, b / v(T) to baseline
    singles = {"a": 30, "b": 50, "c": 20}
    want = {e: singles[e] * th[e] / (b + th[e]) + 60 * th[e] / (b + th["a"] + th["b"])
            * (e != "c") + 90 * th[e] / (b + th.sum()) for e in "abc"}
    assert m.credit_.to_dict() == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("link", ["logit", "noisy_or", "identity"])
def test_predictions_stay_in_unit_interval(link):
    x, y = simulate("identity", n=20_000)
    counts = x * np.random.default_rng(1).integers(1, 4, size=x.shape)  # touch counts
    m = BinomialModel(link=link).fit(counts, y)
    extreme = np.vstack([np.zeros(K), np.full(K, 50.0), -np.eye(K)[0] * 50, np.eye(K) * 1e3])
    p = m.predict_proba(extreme)
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert set(m.predict(extreme)) <= {0.0, 1.0}


@pytest.mark.parametrize("link", ["logit", "noisy_or", "identity"])
def test_small_C_shrinks_the_coefficients_toward_0(link):
    pats, conv, nulls = patterns(*simulate(link, n=50_000))
    norms = []
    for C in (1e4, 1e-1, 1e-3, 1e-5, 1e-10):
        m = BinomialModel(link=link, C=C).fit_patterns(pats, conv, nulls)
        norms.append(np.abs(m.coef_).max())
    assert all(a > b for a, b in zip(norms, norms[1:], strict=False)), norms
    assert norms[-1] < 1e-5
    # the intercept is not penalised: with all coefficients ~0 it is the pooled rate
    p = m.predict_proba(np.zeros((1, K)))[0, 1]
    assert p == pytest.approx(conv.sum() / (conv.sum() + nulls.sum()), rel=1e-4)


@pytest.mark.parametrize("link", ["logit", "noisy_or", "identity"])
def test_sample_weights_equal_replicated_rows(link):
    x, y = simulate(link, n=3000, seed=4)
    w = np.random.default_rng(5).integers(1, 4, size=len(y))
    a = BinomialModel(link=link, random_state=1).fit(x, y, sample_weight=w)
    b = BinomialModel(link=link, random_state=1).fit(np.repeat(x, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-7, atol=1e-9)
    assert a.intercept_ == pytest.approx(b.intercept_, rel=1e-7)


@pytest.mark.parametrize("link", ["noisy_or", "identity"])
def test_analytic_gradient_matches_finite_differences(link):
    pats, conv, nulls = patterns(*simulate(link, n=5000, seed=2))
    rng = np.random.default_rng(0)
    # a point inside the model and one where identity predicts p < 0 (the tangent floor)
    points = [np.concatenate([[0.05], rng.uniform(0, 0.1, K)])]
    if link == "identity":
        points.append(np.concatenate([[0.0], rng.uniform(-0.2, 0.0, K)]))
    for params, tol in zip(points, (1e-4, 2e-3), strict=False):  # the floor is steep
        f, g = _objective(params, link, pats, conv, nulls, (conv.sum() + nulls.sum(), 2.0))
        num = approx_fprime(params, lambda p: _objective(p, link, pats, conv, nulls,
                                                         (conv.sum() + nulls.sum(), 2.0))[0],
                            1e-7)
        np.testing.assert_allclose(g, num, rtol=tol, atol=1e-5)


def test_fold_deal_is_balanced_exhaustive_and_label_free():
    x = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 1, 1]], dtype=float)
    conv, nulls = np.array([7.0, 2.5, 0.0, 13.0]), np.array([3.0, 11.0, 4.0, 0.25])
    cf, nf = fold_counts(x, conv, nulls, 5, seed=3)
    np.testing.assert_allclose(cf.sum(axis=0), conv)
    np.testing.assert_allclose(nf.sum(axis=0), nulls)
    assert (np.floor(cf).max(axis=0) - np.floor(cf).min(axis=0) <= 1).all()
    assert (np.floor(cf + nf).max(axis=0) - np.floor(cf + nf).min(axis=0) <= 1).all()
    relabelled = fold_counts(x[:, [2, 0, 1]], conv, nulls, 5, seed=3)
    np.testing.assert_array_equal(relabelled[0], cf)
    other = fold_counts(x, conv, nulls, 5, seed=4)[0]
    np.testing.assert_allclose(other.sum(axis=0), conv)


def drivers(n=20_000, seed=0, link="noisy_or", theta=(0.3, 0.1, 0.05, 0.0)):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 4)) < 0.4)
    x[x.sum(axis=1) == 0, 0] = True
    y = rng.random(n) < probability(link, 0.05, np.array(theta), x)
    return make_journeys([list(np.flatnonzero(r)) for r in x], y.astype(float),
                         1 - y.astype(float), value=10 * y.astype(float),
                         names=["a", "b", "c", "d"])


def test_logistic_auto_reports_the_scores_and_uses_the_winner():
    j = drivers()
    m = at.Logistic().fit(j)
    assert m.link_ == "noisy_or"
    assert list(m.link_scores_.columns) == ["link", "log_loss", "selected"]
    assert m.link_scores_.loc[m.link_scores_["selected"], "link"].item() == "noisy_or"
    fixed = at.Logistic(link="noisy_or").fit(j)
    np.testing.assert_array_equal(m.coef_.to_numpy(), fixed.coef_.to_numpy())
    assert fixed.link_scores_ is None and (fixed.coef_ >= 0).all()
    s = at.Shapley(value="model").fit(j)
    assert s.link_ == "noisy_or" and s.link_scores_["log_loss"].tolist() == pytest.approx(
        m.link_scores_["log_loss"].tolist())


@pytest.mark.parametrize("link", ["noisy_or", "identity"])
def test_inference_for_every_link(link):
    j = drivers(link=link, theta=(0.3, 0.1, 0.05, 0.03))  # inside the bounds: the GLM's
    m = at.Logistic(link=link, inference=True, C=1e6).fit(j)  # MLE is unconstrained
    params = m.inference_.params
    est = np.concatenate([[m.intercept_], m.coef_.to_numpy()])
    want = np.log1p(-est) if link == "noisy_or" else est
    np.testing.assert_allclose(params, want, atol=1e-4)
    assert np.isfinite(m.inference_.bse).all() and (m.inference_.bse > 0).all()
    assert "std err" in str(m.summary())
    # every effect inside the bounds: statsmodels' own unconstrained IRLS fit agrees, and its
    # expected information gives about the same standard errors as the observed one
    import statsmodels.api as sm

    x, conv, nulls = patterns(*_exposure(j))
    links = sm.families.links
    fam = sm.families.Binomial(link=links.LogC() if link == "noisy_or" else links.Identity())
    xx = sm.add_constant(np.vstack([x, x]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.GLM(np.r_[np.ones(len(x)), np.zeros(len(x))], xx, family=fam,
                     freq_weights=np.r_[conv, nulls]).fit()
    np.testing.assert_allclose(params, ref.params, atol=1e-5)
    np.testing.assert_allclose(m.inference_.bse, ref.bse, rtol=0.05)


def _exposure(j):
    """Per-journey exposure indicators and outcomes of 0/1 journeys."""
    x = np.zeros((j.n_journeys, len(j.names)))
    jj, code = j.distinct()
    x[jj, code] = 1
    return x, j.conversions


def test_estimator_replaces_the_binomial_model():
    j = drivers(5000)
    # fitted on the pattern table (2 rows per pattern, journeys as weights): a leaf's
    # minimum counts rows, not journeys
    hgb = HistGradientBoostingClassifier(max_iter=20, min_samples_leaf=1, random_state=0)
    m = at.Logistic(estimator=hgb).fit(j)
    assert m.link_ is None and m.estimator_ is not hgb
    total = m.result_.to_frame()["conversions"].sum()
    assert total == pytest.approx(j.conversions.sum())
    assert m.credit_["a"] > m.credit_["d"]
    with pytest.raises(InputError, match="parameter estimator is a sklearn.ensemble"):
        at.to_json(m)
    for bad in (dict(link="logit"), dict(n_estimators=2), dict(inference=True)):
        with pytest.raises(ParameterError, match="estimator replaces"):
            at.Logistic(estimator=hgb, **bad).fit(j)
    with pytest.raises(ParameterError, match="estimator replaces"):
        at.Shapley(value="model", estimator=hgb, link="noisy_or").fit(j)
    with pytest.raises(ParameterError, match="link"):
        at.Logistic(link="probit").fit(j)


@pytest.mark.parametrize("make", [
    lambda link: at.Logistic(link=link, random_state=0),
    lambda link: at.Logistic(link=link, n_estimators=2, max_samples=0.8, random_state=0),
    lambda link: at.Shapley(value="model", link=link, credit="incremental"),
    lambda link: at.Shapley(value="rate", link=link)])
@pytest.mark.parametrize("link", ["auto", "logit", "noisy_or", "identity"])
def test_json_round_trip_of_every_link(make, link):
    j = drivers(3000, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        m = make(link).fit(j)
        back = at.load_json(at.to_json(m))
        t0, t1 = m.transform(j), back.transform(j)
    assert back.link_ == m.link_
    np.testing.assert_array_equal(t0["credit"], t1["credit"])
    if m.link_scores_ is not None:
        assert back.link_scores_.equals(m.link_scores_)


def test_a_stored_value_model_with_a_bad_link_is_refused():
    j = drivers(3000, seed=1)
    doc = json.loads(at.to_json(at.Shapley(value="model", link="noisy_or").fit(j)))
    fitted = doc["fitted"]["estimator_"]["__sklearn__"]["fitted"]
    fitted["link_"] = "probit"
    with pytest.raises(InputError, match="estimator_.*not a valid fitted BinomialModel"):
        at.load_json(json.dumps(doc))
    fitted["link_"] = "noisy_or"
    fitted["coef_"]["__ndarray__"][0] = 1.5
    with pytest.raises(InputError, match="outside the bounds"):
        at.load_json(json.dumps(doc))


def test_logistic_with_a_linear_estimator_round_trips():
    from sklearn.linear_model import LogisticRegression

    j = drivers(3000, seed=2)
    m = at.Logistic(estimator=LogisticRegression(C=0.5)).fit(j)
    assert m.link_ is None and m.coef_.to_numpy() == pytest.approx(m.estimator_.coef_[0])
    back = at.load_json(at.to_json(m))
    assert isinstance(back.estimator_, LogisticRegression)
    np.testing.assert_array_equal(back.transform(j)["credit"], m.transform(j)["credit"])


def test_a_fit_with_every_parameter_at_its_bound():
    """Found by hypothesis (a fold of a tiny Logistic fit): the identity optimum puts the
    baseline at 0 and both effects at their bounds, so no parameter is free to move; the fit
    stops there instead of failing on an empty step."""
    x = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    b, theta = fit_link("identity", x, np.array([1.0, 2.0, 0.0]), np.array([0.0, 0.0, 2.0]), 1.0)
    p = probability("identity", b, theta, x)
    assert b == pytest.approx(0.0, abs=1e-9) and np.all((p >= 0) & (p <= 1))
    assert p[0] == pytest.approx(1.0, abs=1e-6)  # the exposed journeys all convert


def _scipy_optimum(link, x, conv, nulls, C):
    """The objective's minimum by L-BFGS-B alone, on the parameters' linear scale."""
    from scipy.optimize import minimize

    k, n = x.shape[1], conv.sum() + nulls.sum()
    if link == "noisy_or":
        start, bounds = np.zeros(k + 1), [(0.0, 30.0)] * (k + 1)
    else:
        start, bounds = np.r_[conv.sum() / n, np.zeros(k)], [(0.0, 1.0)] + [(-1.0, 1.0)] * k
    res = minimize(_objective, start, args=(link, x, conv, nulls, (n, 1 / C)), jac=True,
                   method="L-BFGS-B", bounds=bounds,
                   options=dict(maxiter=20_000, ftol=1e-15, gtol=1e-11))
    return res.fun


def _linear_scale(link, b, coef):
    if link == "noisy_or":
        return np.r_[-np.log1p(-b), -np.log1p(-coef)]
    return np.r_[b, coef]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), link=st.sampled_from(["noisy_or", "identity"]),
       k=st.integers(1, 6), log_c=st.floats(-2, 3))
def test_bounded_fit_reaches_the_minimum_an_independent_optimiser_finds(seed, link, k, log_c):
    rng = np.random.default_rng(seed)
    x = (rng.random((40, k)) < rng.uniform(0.1, 0.9)).astype(float)
    conv = rng.poisson(rng.uniform(0.1, 5), 40).astype(float)
    nulls = rng.poisson(rng.uniform(0.1, 5), 40).astype(float)
    if conv.sum() == 0 or nulls.sum() == 0:
        return
    C, n = 10.0**log_c, conv.sum() + nulls.sum()
    b, coef = fit_link(link, x, conv, nulls, C)
    keep = conv + nulls > 0
    f = _objective(_linear_scale(link, b, coef), link, x[keep], conv[keep], nulls[keep],
                   (n, 1 / C))[0]
    assert f <= _scipy_optimum(link, x[keep], conv[keep], nulls[keep], C) + 1e-10


@pytest.mark.parametrize("link", ["noisy_or", "identity"])
def test_a_stalled_newton_start_falls_back_to_lbfgs(link, monkeypatch):
    from attribution.models import _links

    pats, conv, nulls = patterns(*simulate(link, n=5000, seed=3))
    want = fit_link(link, pats, conv, nulls, 1.0)
    polish, calls = _links._polish, []

    def stalled(params, *args, **kw):  # the first Newton run makes no step
        calls.append(1)
        return params if len(calls) == 1 else polish(params, *args, **kw)

    monkeypatch.setattr(_links, "_polish", stalled)
    got = fit_link(link, pats, conv, nulls, 1.0)
    assert len(calls) == 2  # Newton, then L-BFGS-B and Newton again
    assert got[0] == pytest.approx(want[0], abs=1e-9)
    np.testing.assert_allclose(got[1], want[1], atol=1e-9)
