import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.evaluation.simulate import simulate_journeys
from attribution.inference.bootstrap import BootstrapReplicates, resample_weights
from attribution.journeys.validation import AttributionError, ParameterError
from attribution.models import AttributionModel
from tests.conftest import make_journeys


@pytest.fixture(scope="module")
def sim():
    events, _ = simulate_journeys(4000, tier="noisy_or", random_state=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.Journeys.from_events(events, journey="user_id", time="timestamp",
                                       touchpoint="touchpoint", channel="channel",
                                       conversion="converted", value="revenue")


def test_multinomial_weights_keep_journey_count_and_are_unbiased():
    j = make_journeys([[0], [1], [0, 1], [1, 0]], [3, 1, 0, 2], [1, 4, 2, 0],
                      value=[30.0, 5.0, 0.0, 8.0])
    rng = np.random.default_rng(0)
    draws = [resample_weights(j, "multinomial", rng) for _ in range(4000)]
    c = np.array([d[0] for d in draws])
    u = np.array([d[1] for d in draws])
    v = np.array([d[2] for d in draws])
    assert ((c.sum(1) + u.sum(1)) == 13).all()  # 13 journeys, resampled with replacement
    assert c.mean(0) == pytest.approx(j.conversions, abs=0.1)
    assert u.mean(0) == pytest.approx(j.nulls, abs=0.1)
    # value follows conversions at the path's mean value per conversion
    assert np.allclose(v[:, 0], 10.0 * c[:, 0]) and np.allclose(v[:, 3], 4.0 * c[:, 3])
    p = np.array([d[0] for d in (resample_weights(j, "poisson", rng) for _ in range(4000))])
    assert p.mean(0) == pytest.approx(j.conversions, abs=0.1)
    assert p.var(0) == pytest.approx(j.conversions, rel=0.15, abs=0.1)  # Poisson: var = mean


def test_linear_replicates_match_a_direct_computation(sim):
    """Linear credit is linear in the row weights: recompute every replicate by hand."""
    m = at.Linear()
    at.bootstrap(m, sim, n_boot=20, random_state=5)
    reps = m.result_.bootstrap_
    agg = sim.aggregate()
    frac = np.bincount(agg.touch_journey, minlength=agg.n_journeys)
    children = np.random.SeedSequence(5).spawn(20)
    k = len(agg.names)
    for b, seed in enumerate(children):
        c, _, v = resample_weights(agg, "multinomial", np.random.default_rng(seed))
        per_touch = (c / frac)[agg.touch_journey]
        expect = np.bincount(agg.codes, per_touch, minlength=k)
        assert reps.conversions[b, :k] == pytest.approx(expect, rel=1e-12, abs=1e-12)
        vexp = np.bincount(agg.codes, (v / frac)[agg.touch_journey], minlength=k)
        assert reps.value[b, :k] == pytest.approx(vexp, rel=1e-12, abs=1e-9)


def test_conf_int_is_tidy_and_percentile(sim):
    m = at.LastTouch()
    ci = at.bootstrap(m, sim, n_boot=60, alpha=0.1, random_state=1)
    assert list(ci["entity"]) == list(m.result_.names)
    for key in ("conversions", "value", "share", "value_share"):
        assert {f"{key}_lower", f"{key}_upper", f"{key}_se"} <= set(ci.columns)
        assert (ci[f"{key}_lower"] <= ci[f"{key}_upper"]).all()
    reps = m.result_.bootstrap_.conversions
    # the (B + 1) q-th order statistics: numpy's "weibull" quantiles
    assert ci["conversions_lower"].to_numpy() == pytest.approx(
        np.quantile(reps, 0.05, axis=0, method="weibull"))
    assert ci["conversions_upper"].to_numpy() == pytest.approx(
        np.quantile(reps, 0.95, axis=0, method="weibull"))
    # other alphas from the same replicates; wider at 99%
    wide = m.result_.conf_int(0.01)
    assert (wide["share_upper"] - wide["share_lower"] >= ci["share_upper"]
            - ci["share_lower"] - 1e-15).all()
    # the point estimate sits inside its 90% interval for the big entities
    big = ci["share"] > 0.05
    assert ((ci["share_lower"] <= ci["share"]) & (ci["share"] <= ci["share_upper"]))[big].all()


def test_channel_rollup_of_intervals(sim):
    m = at.Linear()
    at.bootstrap(m, sim, n_boot=30, random_state=2)
    ch = m.result_.at_level("channel")
    ci = ch.conf_int()
    reps = m.result_.bootstrap_.conversions
    web = np.flatnonzero(m.result_.channel_names[m.result_.channel_of] == "web")
    row = ci.set_index("entity").loc["web"]
    assert row["conversions_lower"] == pytest.approx(
        np.quantile(reps[:, web].sum(1), 0.025, method="weibull"))
    assert ci["conversions"].sum() == pytest.approx(sim.conversions.sum())


def test_same_bits_for_any_n_jobs_and_seed_matters(sim):
    a = at.bootstrap(at.MarkovChain(), sim, n_boot=8, random_state=3, n_jobs=1)
    b = at.bootstrap(at.MarkovChain(), sim, n_boot=8, random_state=3, n_jobs=2)
    c = at.bootstrap(at.MarkovChain(), sim, n_boot=8, random_state=4, n_jobs=1)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not a.equals(c)


@pytest.mark.parametrize("order", [1, 2])
def test_markov_fast_replicates_equal_refits(sim, order):
    m = at.MarkovChain(order=order).fit(sim)
    agg = sim.aggregate()
    fast, slow = m.replicate_fitter(agg), AttributionModel.replicate_fitter(m, agg)
    rng = np.random.default_rng(0)
    for _ in range(3):
        c, u, v = resample_weights(agg, "poisson", rng)
        f, s = fast(c, u, v), slow(c, u, v)
        assert f["conversions"] == pytest.approx(s["conversions"], rel=1e-9, abs=1e-9)
        assert f["value"] == pytest.approx(s["value"], rel=1e-9, abs=1e-6)


def test_time_decay_by_time_resamples_journeys(sim):
    m = at.TimeDecay(half_life="2D")
    at.bootstrap(m, sim, n_boot=4, random_state=0)
    assert m.requires_times and not at.TimeDecay(by="position").requires_times
    # each replicate is a fit on new weights of the journeys themselves (with their times)
    reps = m.result_.bootstrap_
    for b, seed in enumerate(np.random.SeedSequence(0).spawn(4)):
        c, u, v = resample_weights(sim, "multinomial", np.random.default_rng(seed))
        ref = at.TimeDecay(half_life="2D").fit(sim.replace(conversions=c, nulls=u, value=v))
        np.testing.assert_allclose(reps.conversions[b], ref.result_.conversions, rtol=1e-12)
        np.testing.assert_allclose(reps.value[b], ref.result_.value, rtol=1e-12)
        assert reps.conversions[b].sum() == pytest.approx(c.sum())
    assert not np.array_equal(reps.conversions[0], reps.conversions[1])


def test_extra_rows_get_intervals(sim):
    m = at.get_model("shapley", value="model", credit="incremental", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = at.bootstrap(m, sim, n_boot=6, random_state=0)
        # each replicate's (baseline) is that of a refit on the replicate's weights
        agg = sim.aggregate()
        col = list(m.result_.bootstrap_.names).index("(baseline)")
        reps = m.result_.bootstrap_.conversions[:, col]
        for b, seed in enumerate(np.random.SeedSequence(0).spawn(6)):
            c, u, v = resample_weights(agg, "multinomial", np.random.default_rng(seed))
            ref = at.get_model("shapley", value="model", credit="incremental", random_state=0)
            ref.fit(agg.replace(conversions=c, nulls=u, value=v))
            assert reps[b] == pytest.approx(ref.result_.extra["(baseline)"][0], rel=1e-9)
    row = ci.set_index("entity").loc["(baseline)"]
    assert row["conversions"] == pytest.approx(m.result_.extra["(baseline)"][0])
    assert row["conversions_lower"] == pytest.approx(np.quantile(reps, 0.025, method="weibull"))
    assert row["conversions_upper"] == pytest.approx(np.quantile(reps, 0.975, method="weibull"))
    assert row["conversions_se"] == pytest.approx(reps.std(ddof=1))


def test_errors():
    j = make_journeys([[0], [1]], [1, 0], [0, 1])
    with pytest.raises(AttributionError, match="run attribution.bootstrap"):
        at.Linear().fit(j).result_.conf_int()
    with pytest.raises(ParameterError, match="method"):
        at.bootstrap(at.Linear(), j, method="jackknife")
    with pytest.raises(ParameterError, match="n_boot"):
        at.bootstrap(at.Linear(), j, n_boot=1)
    with pytest.raises(ParameterError, match="alpha"):
        at.bootstrap(at.Linear(), j, n_boot=5, alpha=1.5)


def test_coverage_of_the_models_own_estimand():
    """95% intervals cover the model's credit share on the population in >= 90% of samples."""
    events, _ = simulate_journeys(200_000, tier="additive", random_state=21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pop = at.Journeys.from_events(events, journey="user_id", time="timestamp",
                                      touchpoint="touchpoint", conversion="converted")
    truth = at.Linear().fit(pop).result_.to_frame().set_index("entity")["share"]
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(25):
        sample = pop.select(rng.choice(pop.n_journeys, 4000, replace=False))
        ci = at.bootstrap(at.Linear(), sample, n_boot=200, random_state=rng.integers(1 << 31))
        ci = ci.set_index("entity")
        est = truth.reindex(ci.index)
        hits.append(((ci["share_lower"] <= est) & (est <= ci["share_upper"])).to_numpy())
    coverage = np.concatenate(hits).mean()
    assert coverage >= 0.90, coverage


def test_bias_corrected_intervals():
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    conv = np.column_stack([rng.normal(10, 1, 4000), rng.normal(5, 2, 4000)])
    reps = BootstrapReplicates(["a", "b"], conv, conv * 3, "multinomial", 0)
    shares = conv / conv.sum(axis=1, keepdims=True)
    # point at the replicates' median: no bias, BC = percentile (to sampling error)
    med = pd.DataFrame({"entity": ["a", "b"], "conversions": np.median(conv, axis=0),
                        "value": np.median(conv * 3, axis=0),
                        "share": np.median(shares, axis=0),
                        "value_share": np.median(shares, axis=0)})
    bc, pc = reps.conf_int(0.1, med, "bc"), reps.conf_int(0.1)
    np.testing.assert_allclose(bc["conversions_lower"], pc["conversions_lower"], rtol=1e-3)
    # point below the replicates: z0 from the share below it, quantiles Phi(2 z0 +- z)
    low = med.assign(conversions=[9.0, 4.0])
    got = reps.conf_int(0.1, low, "bc")
    z0 = norm.ppf((conv < [9.0, 4.0]).mean(axis=0))
    q_lo = norm.cdf(2 * z0 + norm.ppf(0.05))
    want = [np.quantile(conv[:, i], q_lo[i], method="weibull") for i in range(2)]
    np.testing.assert_allclose(got["conversions_lower"], want)
    assert (got["conversions_upper"] < pc["conversions_upper"]).all()  # shifted down
    with pytest.raises(ParameterError, match="point estimate"):
        reps.conf_int(0.1, None, "bc")
    with pytest.raises(ParameterError, match="method"):
        reps.conf_int(0.1, med, "bca")


def test_order_quantiles_by_hand():
    from attribution.inference.bootstrap import order_quantiles

    ordered = np.arange(1.0, 10.0)[:, None] * [1.0, 10.0]  # B = 9 sorted replicates, 2 columns
    # (B + 1) q = 5: the 5th; 2.5: halfway between the 2nd and 3rd; below 1 / above B: held
    assert order_quantiles(ordered, 0.5).tolist() == [5.0, 50.0]
    assert order_quantiles(ordered, 0.25).tolist() == [2.5, 25.0]
    assert order_quantiles(ordered, [0.05, 0.99]).tolist() == [1.0, 90.0]
    # 39 replicates at alpha = 0.1: exactly the 2nd smallest and the 2nd largest
    reps = np.random.default_rng(3).permutation(np.arange(39.0))[:, None]
    ci = BootstrapReplicates(["a"], reps, reps, "multinomial", 0).conf_int(0.1)
    assert (ci["conversions_lower"][0], ci["conversions_upper"][0]) == (1.0, 37.0)


def test_percentile_limits_keep_their_level_with_200_replicates():
    """An exactly normal pivot, theta-hat ~ N(theta, 1), replicates ~ N(theta-hat, 1): the
    (B + 1) alpha/2 order statistics cover theta in 95% of samples (to Monte Carlo error
    0.0015), where the linear-interpolation quantiles, about one replicate inside, cover
    about 94.2%."""
    rng = np.random.default_rng(1)
    theta_hat = rng.normal(size=20_000)
    reps = theta_hat[:, None] + rng.normal(size=(20_000, 200))
    ci = BootstrapReplicates(np.arange(20_000).astype(str), reps.T, reps.T, "multinomial",
                             0).conf_int(0.05)
    covered = ((ci["conversions_lower"] <= 0) & (0 <= ci["conversions_upper"])).mean()
    assert 0.946 <= covered <= 0.955, covered
    lo, hi = np.quantile(reps, [0.025, 0.975], axis=1)  # the old rule: short by about 0.008
    assert ((lo <= 0) & (0 <= hi)).mean() < covered - 0.004


def test_bc_on_a_skewed_statistic():
    """Exponential data, statistic the mean: the bootstrap distribution is right-skewed, so
    its median sits below the estimate (z0 > 0) and BC moves both limits up from the
    percentile ones, towards where the true mean lies (percentile intervals of a skewed mean
    miss mostly on the high side); it covers the true mean at least as often (2,000 samples
    of 15, 90% intervals)."""
    rng = np.random.default_rng(2)
    data = rng.exponential(1.0, size=(2000, 15))
    idx = rng.integers(0, 15, size=(2000, 400, 15))
    reps = np.take_along_axis(data[:, None, :], idx, axis=2).mean(axis=2)  # (samples, B)
    point = data.mean(axis=1)
    names = np.arange(2000).astype(str)
    r = BootstrapReplicates(names, reps.T, reps.T, "multinomial", 0)
    frame = pd.DataFrame({"entity": names, "conversions": point, "value": point,
                          "share": 0.0, "value_share": 0.0})
    pc, bc = r.conf_int(0.1), r.conf_int(0.1, frame, "bc")
    assert (np.median(reps, axis=1) < point).mean() > 0.7
    assert (bc["conversions_upper"] >= pc["conversions_upper"]).mean() > 0.7
    assert (bc["conversions_lower"] >= pc["conversions_lower"]).mean() > 0.7
    high = {k: (c["conversions_upper"] < 1).mean() for k, c in (("pc", pc), ("bc", bc))}
    low = (pc["conversions_lower"] > 1).mean()
    assert high["pc"] > 2 * low  # the percentile interval misses mostly on the high side
    cover = {k: ((c["conversions_lower"] <= 1) & (1 <= c["conversions_upper"])).mean()
             for k, c in (("pc", pc), ("bc", bc))}
    assert cover["bc"] >= cover["pc"] and high["bc"] < high["pc"], (cover, high)


def test_result_conf_int_bc(sim):
    m = at.LastTouch()
    at.bootstrap(m, sim, n_boot=50, random_state=0)
    bc = m.result_.conf_int(method="bc")
    assert (bc["share_lower"] <= bc["share_upper"]).all()
    assert at.bootstrap(m, sim, n_boot=50, random_state=0, interval="bc").equals(bc)


BAD = {"n_boot": [-3, 0, 2.5, "5", True, None],
       "alpha": [2, 0, -0.1, "0.05", None, float("nan"), True],
       "method": ["jackknife", None, ["poisson"]], "n_jobs": [0, "2", 1.5],
       "random_state": [-1, "seed", 1.5], "interval": ["bca"]}


@pytest.mark.parametrize("name, bad", [(k, v) for k, vs in BAD.items() for v in vs])
def test_bad_parameters_are_named_before_any_work(name, bad):
    j = make_journeys([[0], [1]], [1, 0], [0, 1])
    m = at.Linear()
    with pytest.raises(ParameterError, match=f"^{name} must be") as info:
        at.bootstrap(m, j, **{"n_boot": 3, name: bad})
    assert "\n" not in str(info.value)
    assert not hasattr(m, "result_")  # refused before the fit


def test_the_model_must_be_a_model():
    j = make_journeys([[0], [1]], [1, 0], [0, 1])
    for bad in ("linear", at.Linear, None):
        with pytest.raises(ParameterError, match="model must be an attribution model"):
            at.bootstrap(bad, j, n_boot=3)


def test_conf_int_names_a_bad_alpha():
    j = make_journeys([[0], [1]], [1, 0], [0, 1])
    m = at.Linear()
    at.bootstrap(m, j, n_boot=3, random_state=0)
    for alpha in (2, "x", None, 0.0):
        with pytest.raises(ParameterError, match="^alpha must be"):
            m.result_.conf_int(alpha=alpha)
    with pytest.raises(ParameterError, match="^method must be"):
        m.result_.conf_int(method=1)


@pytest.mark.parametrize("method", ["percentile", "bc"])
def test_a_never_credited_row_gets_the_jeffreys_upper_limit(method):
    # 400 conversions per replicate, "c" credited in none: the percentile interval would be
    # [0, 0]; the Jeffreys limit of 0 in n is about chi2_1(0.975) / (2 n) = 5.024 / 800
    rng = np.random.default_rng(3)
    a = rng.binomial(400, 0.7, 500).astype(float)
    conv = np.column_stack([a, 400 - a, np.zeros(500)])
    reps = BootstrapReplicates(["a", "b", "c"], conv, conv * 2.0, "multinomial", 0)
    point = pd.DataFrame({"entity": ["a", "b", "c"], "conversions": [280.0, 120.0, 0.0],
                          "value": [560.0, 240.0, 0.0], "share": [0.7, 0.3, 0.0],
                          "value_share": [0.7, 0.3, 0.0]})
    ci = reps.conf_int(0.05, point, method).set_index("entity")
    assert ci.loc["c", "share_lower"] == 0.0
    assert ci.loc["c", "share_upper"] == pytest.approx(5.024 / 800, rel=0.01)
    assert ci.loc["c", "conversions_upper"] == pytest.approx(400 * 5.024 / 800, rel=0.01)
    assert ci.loc["c", "value_share_upper"] == pytest.approx(5.024 / 800, rel=0.01)
    assert ci.loc["c", "value_upper"] == pytest.approx(800 * 5.024 / 800, rel=0.01)
    # credited rows keep their bootstrap limits
    plain = np.quantile(conv[:, 0], [0.025, 0.975], method="weibull")
    if method == "percentile":
        assert [ci.loc["a", "conversions_lower"], ci.loc["a", "conversions_upper"]] == (
            pytest.approx(list(plain)))


def test_last_touch_entity_never_last_is_not_pinned_at_zero():
    # "x" is always first, never last: no last-touch credit in the sample, but the
    # interval admits a small share
    j = make_journeys([[0, 1], [0, 2], [1], [2]] * 50, [1, 1, 0, 1] * 50,
                      names=["x", "a", "b"])
    ci = at.bootstrap(at.LastTouch(), j, n_boot=50, random_state=0).set_index("entity")
    assert ci.loc["x", "share"] == 0.0 and ci.loc["x", "share_upper"] > 0.0
    n = 150  # conversions
    assert ci.loc["x", "share_upper"] == pytest.approx(5.024 / (2 * n), rel=0.02)


def test_zero_credit_with_rounding_noise_and_no_value():
    # "c" gets ~1e-11 of 400 conversions in every replicate (a fitted model's zero): it is
    # still never credited; without value (all 0) the value limits stay 0
    rng = np.random.default_rng(4)
    a = rng.binomial(400, 0.6, 300).astype(float)
    c = rng.normal(0, 1e-11, 300)
    conv = np.column_stack([a, 400 - a - c, c])
    reps = BootstrapReplicates(["a", "b", "c"], conv, np.zeros_like(conv), "multinomial", 0)
    ci = reps.conf_int(0.05).set_index("entity")
    assert ci.loc["c", "share_upper"] == pytest.approx(5.024 / 800, rel=0.01)
    assert (ci["value_upper"] == 0).all() and (ci["value_share_upper"] == 0).all()
    # a row with a real, if small, credit keeps its percentile limits
    conv[:, 2] = np.abs(c) * 1e4 + 0.5
    ci = BootstrapReplicates(["a", "b", "c"], conv, conv, "multinomial", 0).conf_int(0.05)
    assert ci.set_index("entity").loc["c", "conversions_upper"] == pytest.approx(
        np.quantile(conv[:, 2], 0.975, method="weibull"))


@pytest.mark.parametrize("level", ["touchpoint", "channel"])
def test_an_entity_named_like_an_extra_row_is_refused(level):
    # a channel "(baseline)" would be merged with Logistic's baseline row (two rows of the
    # same name, a merge error in the bootstrap): refused before any fit
    j = make_journeys([[0, 1], [1], [0]] * 20, [1, 0, 1] * 20, names=["(baseline)", "a"],
                      channel_of=[0, 1], channel_names=["tv", "web"]) if level == "touchpoint" \
        else make_journeys([[0, 1], [1], [0]] * 20, [1, 0, 1] * 20, names=["x", "a"],
                           channel_of=[0, 1], channel_names=["(baseline)", "web"])
    for model in (at.Logistic(random_state=0), at.LastTouch()):
        with pytest.raises(at.InputError, match=rf"a {level} is named '\(baseline\)'"):
            model.fit(j)
    with pytest.raises(at.InputError, match="rename it"):
        at.bootstrap(at.Logistic(random_state=0), j, n_boot=5)
