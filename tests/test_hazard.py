"""AdditiveHazard (Zhang, Wei & Ren 2014): maximum likelihood recovers the parameters of data
drawn from the model itself; the likelihood and the credit split of small cases by hand;
credit adds up; invariance to journey order, labels and time unit; clear errors; JSON; batch
scoring, Dask and the bootstrap on the gathered journeys."""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.cli import main
from attribution.evaluation.simulate import simulate_journeys
from attribution.journeys.validation import InputError, ParameterError
from attribution.models import _hazard_fit as hf

pytestmark = pytest.mark.filterwarnings("ignore::attribution.DroppedDataWarning")
DAY = 86_400 * 10**9
EPOCH = 1_700_000_000 * 10**9
COLS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint", channel="channel",
            conversion="converted", value="revenue")
KEY = ["journey", "conversion", "position"]


def hazard_journeys(n, lam0, beta, omega, horizon, seed=0, mean_touches=2.0, gap=2.0):
    """Journeys drawn from the additive hazard model, times in days (as datetimes). Touches
    are exogenous (1 + Poisson of them, exponential gaps, journeys starting over 30 days);
    a journey is observed until ``horizon`` days after its last touch; the conversion time is
    the first event of the hazard (thinning of a Poisson process at rate lambda0 + sum of the
    journey's betas, which bounds the hazard); a converting journey keeps the touches before
    its conversion."""
    rng = np.random.default_rng(seed)
    k = len(beta)
    length = 1 + rng.poisson(mean_touches, n)
    tj = np.repeat(np.arange(n), length)
    first = np.r_[0, np.cumsum(length)[:-1]]
    pos = np.arange(len(tj)) - first[tj]
    gaps = np.where(pos == 0, 0.0, rng.exponential(gap, len(tj)))
    t = np.cumsum(gaps)
    t = t - t[first][tj] + rng.uniform(0, 30, n)[tj]
    code = rng.integers(0, k, len(tj))
    start, end = t[first], t[first + length - 1] + horizon
    bound = lam0 + np.bincount(tj, beta[code], minlength=n)
    m = rng.poisson(bound * (end - start))
    valid_c = np.arange(m.max())[None, :] < m[:, None]
    u = np.sort(np.where(valid_c, rng.uniform(size=valid_c.shape), 2.0), axis=1)  # m sorted
    cand = start[:, None] + u * (end - start)[:, None]
    tt, cc = np.zeros((n, length.max())), np.zeros((n, length.max()), dtype=np.int64)
    tt[tj, pos], cc[tj, pos] = t, code
    valid_t = np.arange(length.max())[None, :] < length[:, None]
    dt = cand[:, :, None] - tt[:, None, :]
    live = (dt >= 0) & valid_c[:, :, None] & valid_t[:, None, :]
    lam = lam0 + np.where(live, beta[cc][:, None, :]
                          * np.exp(-omega[cc][:, None, :] * np.where(live, dt, 0.0)), 0.0).sum(2)
    accept = valid_c & (rng.uniform(size=lam.shape) * bound[:, None] < lam)
    converted = accept.any(axis=1)
    t_conv = np.where(converted, cand[np.arange(n), accept.argmax(axis=1)], np.inf)
    keep = t < t_conv[tj]  # the first touch starts the clock: every journey keeps one
    counts = np.bincount(tj[keep], minlength=n)
    off = np.r_[0, np.cumsum(counts)]
    end_t = np.where(converted, t_conv, t[keep][off[1:] - 1])

    def ns(x):
        return np.round(x * DAY).astype(np.int64) + EPOCH

    return at.Journeys(off, code[keep].astype(np.int32), converted.astype(float),
                       (~converted).astype(float), names=[f"c{i}" for i in range(k)],
                       times=ns(t[keep]), end_times=ns(end_t), time_kind="datetime")


def journeys(paths, times, ends, conv, names=("a", "b"), kind="numeric", **kw):
    """Journeys from lists of codes and times; ``ends`` are the end (conversion) times."""
    off = np.r_[0, np.cumsum([len(p) for p in paths])]
    return at.Journeys(off, np.concatenate(paths).astype(np.int32), np.asarray(conv, float),
                       1.0 - np.asarray(conv, float), names=list(names),
                       times=np.concatenate(times).astype(np.int64),
                       end_times=np.asarray(ends, dtype=np.int64), time_kind=kind, **kw)


@pytest.fixture(scope="module")
def sim():
    events, _ = simulate_journeys(3000, tier="noisy_or", random_state=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = at.Journeys.from_events(events, **COLS)
    return events, j


# -------------------------------------------------------------------- the likelihood
def test_mle_recovers_the_generating_parameters():
    beta, omega, lam0 = np.array([0.05, 0.2, 0.1]), np.array([0.5, 2.0, 1.0]), 0.01
    j = hazard_journeys(20_000, lam0, beta, omega, horizon=7.0, seed=1)
    assert 0.2 < j.conversions.mean() < 0.5
    m = at.AdditiveHazard(horizon="7D", inference=True).fit(j)
    assert m.converged_
    est = np.r_[m.baseline_, m.coef_["beta"], m.coef_["omega"]]
    se = np.r_[m.baseline_se_, m.coef_["beta_se"], m.coef_["omega_se"]]
    true = np.r_[lam0, beta, omega]
    assert (se < 0.1 * true).all(), se / true  # precise enough for the check to bite
    z = (est - true) / se
    assert (np.abs(z) < 4).all(), z
    np.testing.assert_allclose(m.coef_["half_life"], np.log(2) / m.coef_["omega"])


def test_gradient_and_hessian_match_finite_differences():
    j = hazard_journeys(400, 0.02, np.array([0.1, 0.3]), np.array([0.7, 3.0]), 5.0, seed=2)
    d, _ = at.AdditiveHazard()._data(j, float(DAY), 5.0 * DAY)
    v = np.array([0.015, 0.12, 0.25, np.log(0.9), np.log(2.2)])  # lambda0, beta, log omega

    def theta(v):
        return np.r_[v[:3], np.exp(v[3:])]

    eye = np.eye(len(v)) * 1e-6
    num_g = [(hf.loglik(theta(v + e), d) - hf.loglik(theta(v - e), d)) / 2e-6 for e in eye]
    np.testing.assert_allclose(hf.gradient(theta(v), d), num_g, rtol=1e-5, atol=1e-4)
    num_h = np.column_stack([(hf.gradient(theta(v + e), d) - hf.gradient(theta(v - e), d))
                             / 2e-6 for e in eye])
    np.testing.assert_allclose(hf.hessian(theta(v), d), num_h, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("horizon, t_end", [(None, 3), (2, 3), (1, 2)])
def test_log_likelihood_of_two_journeys_by_hand(horizon, t_end):
    # a at 0, b at 2, converts at 3; a at 0, b at 1, no conversion: observed to t_end
    j = journeys([[0, 1], [0, 1]], [[0, 2], [0, 1]], [3, 1], [1, 0])
    lam0, (ba, bb), (wa, wb) = 0.1, (0.5, 0.3), (1.0, 2.0)
    lam = lam0 + ba * np.exp(-wa * 3) + bb * np.exp(-wb * 1)
    surv1 = lam0 * 3 + ba / wa * (1 - np.exp(-wa * 3)) + bb / wb * (1 - np.exp(-wb * 1))
    surv2 = (lam0 * t_end + ba / wa * (1 - np.exp(-wa * t_end))
             + bb / wb * (1 - np.exp(-wb * (t_end - 1))))
    d, _ = at.AdditiveHazard(horizon=horizon)._data(j, 1.0, horizon)
    theta = np.array([lam0, ba, bb, wa, wb])  # names a, b are already in name order
    assert hf.loglik(theta, d) == pytest.approx(np.log(lam) - surv1 - surv2, rel=1e-12)


def fitted_by_hand(credit=None):
    """A model holding given parameters, as if fitted on the two journeys."""
    j = journeys([[0, 1], [0, 1]], [[0, 2], [0, 1]], [3, 1], [1, 0], value=[10.0, 0.0])
    m = at.AdditiveHazard(credit=credit).fit(j)
    m.baseline_ = 0.1
    m.coef_ = pd.DataFrame({"beta": [0.5, 0.3], "omega": [1.0, 2.0]}, index=m.coef_.index)
    return m, j


def test_credit_split_by_hand():
    m, j = fitted_by_hand()
    ta, tb = 0.5 * np.exp(-3.0), 0.3 * np.exp(-2.0)
    lam = 0.1 + ta + tb
    t = m.transform(j).set_index("position")
    assert t.loc[0, "credit"] == pytest.approx(ta / lam, rel=1e-12)
    assert t.loc[1, "credit"] == pytest.approx(tb / lam, rel=1e-12)
    assert t.loc[-1, "credit"] == pytest.approx(0.1 / lam, rel=1e-12)
    assert t.loc[-1, "touchpoint"] == "(baseline)"
    assert t.loc[0, "value_credit"] == pytest.approx(10 * ta / lam, rel=1e-12)
    m, j = fitted_by_hand("total")
    t = m.transform(j).set_index("position")
    assert t.loc[0, "credit"] == pytest.approx(ta / (ta + tb), rel=1e-12)
    assert -1 not in t.index


# -------------------------------------------------------------------- credit adds up
@pytest.mark.parametrize("kw", [{}, dict(credit="total"), dict(level="channel"),
                                dict(horizon="1h")])
def test_credit_adds_up(sim, kw):
    _, j = sim
    m = at.AdditiveHazard(**kw).fit(j)
    assert m.converged_ and m.credit_mode_ == kw.get("credit", "incremental")
    res = m.result_.to_frame()
    assert res["conversions"].sum() == pytest.approx(j.conversions.sum(), rel=1e-12)
    assert res["value"].sum() == pytest.approx(j.value.sum(), rel=1e-12)
    t = m.transform(j)
    col = "channel" if m.level_ == "channel" else "touchpoint"
    touches = t[t["position"] >= 0]
    by = touches.groupby(touches[col].astype(str), observed=True)["credit"].sum()
    np.testing.assert_allclose(by.reindex(m.credit_.index, fill_value=0), m.credit_,
                               rtol=1e-10, atol=1e-10)
    # remainder rows below 1e-12 of a conversion are not written (the baseline is ~0 here)
    base = t.loc[t["position"] < 0, "credit"].sum()
    assert ("(baseline)" in m.result_.extra) == ("credit" not in kw)
    assert base == pytest.approx(m.result_.extra.get("(baseline)", (0.0, 0.0))[0], abs=1e-9)
    assert base + m.credit_.sum() == pytest.approx(j.conversions.sum(), rel=1e-12)
    assert t.groupby("journey")["credit"].sum().to_numpy() == pytest.approx(1.0)


def test_touchpoints_with_almost_no_curvature_do_not_break_the_newton_step():
    """A harness scenario (upstream tier, 1,000 journeys of mean length 8) where some
    touchpoints' curvature is ~1e-160 of the baseline's: the Cholesky factor's triangular
    solves once raised 'Singular matrix'; the fit now converges and adds up."""
    from attribution.evaluation.scenario import scenario_journeys, simulate_scenario

    j = scenario_journeys(simulate_scenario("upstream", 0.8, 8, 0.0, 0, 1000)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = at.AdditiveHazard().fit(j)
    res = m.result_.to_frame()
    assert np.isfinite(res["conversions"]).all()
    assert res["conversions"].sum() == pytest.approx(j.conversions.sum(), rel=1e-12)


# -------------------------------------------------------------------- invariance
def test_invariant_to_journey_order_labels_and_time_scale(sim):
    _, j = sim
    ref = at.AdditiveHazard().fit(j)
    perm = np.random.default_rng(0).permutation(j.n_journeys)
    shuffled = j.select(perm)
    k = len(j.names)
    relabel = np.random.default_rng(1).permutation(k)  # other codes for the same names
    inv = np.argsort(relabel)
    recoded = shuffled.replace(codes=relabel[shuffled.codes].astype(np.int32),
                               names=shuffled.names[inv], channel_of=shuffled.channel_of[inv])
    for other in (shuffled, recoded):
        m = at.AdditiveHazard().fit(other)
        # the same fit, bit for bit; totals are sums in journey order (an ulp apart)
        pd.testing.assert_frame_equal(m.coef_.loc[ref.coef_.index], ref.coef_, check_exact=True)
        assert m.baseline_ == ref.baseline_
        np.testing.assert_allclose(m.credit_[ref.credit_.index], ref.credit_, rtol=1e-14)
        a = m.transform(other).sort_values(KEY).reset_index(drop=True)
        b = ref.transform(j).sort_values(KEY).reset_index(drop=True)
        np.testing.assert_array_equal(a["credit"], b["credit"])
        c = ref.transform(other).sort_values(KEY).reset_index(drop=True)  # other codes
        np.testing.assert_array_equal(c["credit"], b["credit"])
    half = at.AdditiveHazard(time_scale="12h").fit(j)  # rates per half day: 1/2 of per day
    np.testing.assert_allclose(half.credit_, ref.credit_, rtol=1e-6)
    np.testing.assert_allclose(half.coef_["omega"], ref.coef_["omega"] / 2, rtol=1e-6)


def test_not_mergeable_fits_on_gathered_journeys(sim):
    _, j = sim
    m = at.AdditiveHazard()
    assert m.requires_times and not m.mergeable
    halves = [j.select(np.arange(0, 1500)), j.select(np.arange(1500, j.n_journeys))]
    stats = [m.partition_statistic(h) for h in halves]
    assert all(isinstance(s, at.Journeys) for s in stats)
    got = at.AdditiveHazard().fit_partitions(stats, j.n_journeys)
    ref = at.AdditiveHazard().fit(j)
    pd.testing.assert_frame_equal(got.coef_.loc[ref.coef_.index], ref.coef_, check_exact=True)
    np.testing.assert_allclose(got.credit_[ref.credit_.index], ref.credit_, rtol=1e-14)


# -------------------------------------------------------------------- errors
def test_clear_errors(sim):
    _, j = sim
    paths = at.Journeys.from_paths(pd.DataFrame({"path": ["a > b", "b"], "total_conversions":
                                                 [1, 0], "total_null": [1, 2]}))
    with pytest.raises(InputError, match="needs touch timestamps.*from_events"):
        at.AdditiveHazard().fit(paths)
    with pytest.raises(InputError, match="needs touch timestamps"):
        at.AdditiveHazard().fit(j.aggregate())
    for name in ("horizon", "time_scale"):
        with pytest.raises(ParameterError, match=f"{name}=3 has no unit.*'3D'"):
            at.AdditiveHazard(**{name: 3}).fit(j)
        with pytest.raises(ParameterError, match=name):
            at.AdditiveHazard(**{name: "soon"}).fit(j)
    with pytest.raises(ParameterError, match="time_scale must be positive"):
        at.AdditiveHazard(time_scale="0D").fit(j)
    with pytest.raises(ParameterError, match="horizon.*non-negative"):
        at.AdditiveHazard(horizon="-1D").fit(j)
    with pytest.raises(ParameterError, match="credit must be one of"):
        at.AdditiveHazard(credit="shapley").fit(j)
    steps = journeys([[0, 1]], [[0, 2]], [3], [1])
    with pytest.raises(ParameterError, match="horizon='2D' is not a number of steps"):
        at.AdditiveHazard(horizon="2D").fit(steps)
    late = journeys([[0, 1]], [[0, 5]], [3], [1])
    with pytest.raises(InputError, match="touch after its end"):
        at.AdditiveHazard().fit(late)
    m = at.AdditiveHazard().fit(steps)
    with pytest.raises(InputError, match="fitted on numeric times"):
        m.transform(journeys([[0, 1]], [[0, 2 * DAY]], [3 * DAY], [1], kind="datetime"))


def test_steps_and_journeys_without_end_times():
    # steps: a time unit of one step; without end_times a journey ends at its last touch
    j = journeys([[0, 1], [1], [0]], [[0, 2], [0], [0]], [3, 0, 0], [1, 0, 0])
    m = at.AdditiveHazard().fit(j)
    assert m.time_unit_ == 1.0 and m.time_kind_ == "numeric"
    no_end = j.replace(end_times=None)
    t = at.AdditiveHazard(credit="total").fit(no_end).transform(no_end)
    assert t["credit"].sum() == pytest.approx(1.0)


# -------------------------------------------------------------------- persistence, scale
def test_json_round_trip(sim, tmp_path):
    _, j = sim
    m = at.AdditiveHazard(inference=True, level="channel").fit(j)
    back = at.load_json(at.to_json(m))
    assert type(back) is at.AdditiveHazard and back.get_params() == m.get_params()
    pd.testing.assert_frame_equal(back.coef_, m.coef_, check_exact=True)
    pd.testing.assert_frame_equal(back.transform(j), m.transform(j), check_exact=True)


def test_bootstrap_resamples_journeys(sim):
    _, j = sim
    small = j.select(np.arange(800))
    ci = at.bootstrap(at.AdditiveHazard(level="channel"), small, n_boot=4,
                      random_state=0).set_index("entity")
    point = at.AdditiveHazard(level="channel").fit(small)
    assert "(baseline)" in ci.index
    assert (ci["conversions_lower"] <= ci["conversions_upper"]).all()
    assert (ci.loc[point.credit_.index, "conversions_se"] > 0).all()  # replicates differ
    np.testing.assert_allclose(ci.loc[point.credit_.index, "conversions"], point.credit_,
                               rtol=1e-12)


def scores_sorted(frame):
    frame = frame.assign(journey=frame["journey"].astype(str))
    return frame.sort_values(KEY).reset_index(drop=True)


@pytest.mark.parametrize("chunk_rows, parts", [(3000, "5 partitions"), (100_000, "1 partitions")])
def test_cli_score_equals_in_memory(sim, tmp_path, chunk_rows, parts, capsys):
    events, j = sim
    src, out = tmp_path / "ev.parquet", tmp_path / "scores.csv"
    events.sample(frac=1, random_state=3).to_parquet(src, row_group_size=2000)
    assert main(["--quiet", "score", str(src), "--journey", "user_id", "--value", "revenue",
                 "-m", "additive_hazard", "-p", "horizon=2h", "-o", str(out), "--chunk-rows",
                 str(chunk_rows)]) == 0
    line = capsys.readouterr().out
    assert "scored 3,000 journeys" in line and parts in line
    got = scores_sorted(pd.read_csv(out))
    want = scores_sorted(at.AdditiveHazard(horizon="2h").fit(j).transform(j))
    assert len(got) == len(want)
    assert got["journey"].tolist() == want["journey"].tolist()
    assert (got["touchpoint"].astype(str) == want["touchpoint"].astype(str)).all()
    np.testing.assert_allclose(got["credit"], want["credit"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got["value_credit"], want["value_credit"], rtol=1e-12)


@pytest.mark.filterwarnings("ignore")  # dask's and the cluster's own warnings
def test_dask_equals_in_memory(sim, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    from attribution.scale import dask as adask

    events, j = sim
    path = tmp_path / "events"
    dd.from_pandas(events.sample(frac=1, random_state=2), npartitions=4).to_parquet(path)
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        ddf = dd.read_parquet(path)
        assert ddf.npartitions > 1
        m = adask.fit(at.AdditiveHazard(), ddf, **COLS)
        got = scores_sorted(adask.score(m, ddf, **COLS).compute())
    ref = at.AdditiveHazard().fit(j)
    pd.testing.assert_frame_equal(m.coef_.loc[ref.coef_.index], ref.coef_, check_exact=True)
    np.testing.assert_allclose(m.credit_[ref.credit_.index], ref.credit_, rtol=1e-14)
    want = scores_sorted(ref.transform(j))
    assert got["journey"].tolist() == want["journey"].tolist()
    np.testing.assert_allclose(got["credit"], want["credit"], rtol=1e-12, atol=1e-14)
