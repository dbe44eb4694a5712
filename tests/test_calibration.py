"""Lift tests and calibration: the simulated experiment, the table, and the calibrated fit."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.evaluation import harness
from attribution.evaluation.scenario import scenario_journeys
from attribution.evaluation.simulate import simulate_journeys
from attribution.experiments import Z95, read_experiments


def world(n=30_000, seed=3, **kw):
    kw = {"tier": "confounded", "targeting": 1.0, "baseline": 0.1, **kw}
    events, truth = simulate_journeys(n, catalogue=harness.scenario_catalogue(0.8),
                                      random_state=seed, observe_intent=False, **kw)
    return scenario_journeys(events), truth


@pytest.fixture(scope="module")
def confounded():
    return world()


def share(model, name):
    r = model.result_
    return r.conversions[list(r.names.astype(str)).index(name)] / r.total_conversions


def test_lift_test_is_unbiased_for_the_removal_effect():
    """Over independent holdouts the estimates centre on the true removal effect, within
    their standard error (a randomised experiment, even in the confounded tier)."""
    _, truth = world(n=20_000)
    tests = pd.concat([truth.lift_test("search_ad", 0.3, random_state=s) for s in range(30)])
    true = tests["true_incremental"].iloc[0]
    assert (tests["true_incremental"] == true).all()
    mean_se = tests["se"].mean() / np.sqrt(len(tests))
    assert abs(tests["incremental"].mean() - true) < 3.5 * mean_se
    assert tests["incremental"].std() == pytest.approx(tests["se"].mean(), rel=0.35)
    assert (tests["treated"] + tests["holdout"] == 20_000).all()
    assert list(tests.columns[:1]) == ["touchpoint"]
    assert "channel" in truth.lift_test("web", random_state=0)


def test_lift_test_refuses_unknown_names_and_bad_fractions():
    _, truth = world(n=2_000)
    with pytest.raises(at.ParameterError, match="neither a channel nor a touchpoint"):
        truth.lift_test("billboard")
    with pytest.raises(at.ParameterError, match="fraction"):
        truth.lift_test("web", fraction=1.0)
    read = at.evaluation.truth.Truth.from_dict(truth.to_dict())
    with pytest.raises(at.ParameterError, match="no simulated journeys"):
        read.lift_test("web")


def test_experiment_equal_to_the_truth_moves_credit_toward_it(confounded):
    j, truth = confounded
    lt = truth.lift_test("search_ad", 0.1, random_state=0)
    lt["incremental"], lt["se"] = lt["true_incremental"], lt["true_incremental"] * 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        plain = at.Logistic(link="identity").fit(j)
        cal = at.calibrate(at.Logistic(link="identity"), j, lt)
    e = cal.experiments_.iloc[0]
    true = lt["true_incremental"].iloc[0]
    assert abs(e["z_observational"]) > 3  # the confounded fit disagrees with the experiment
    assert abs(e["calibrated"] - true) < 0.2 * abs(e["observational"] - true)
    assert abs(e["z_calibrated"]) <= 1.0 + 1e-6
    true_share = truth.shares()["search_ad"]
    assert abs(share(cal, "search_ad") - true_share) < abs(share(plain, "search_ad")
                                                           - true_share)
    # credit still adds up: entities and (baseline) give the conversions
    r = cal.result_
    assert r.conversions.sum() + r.extra["(baseline)"][0] == pytest.approx(
        r.total_conversions, rel=1e-9)


def test_the_journeys_are_tempered_until_the_experiment_is_not_rejected(confounded):
    """A looser experiment that the plain penalised fit still rejects (|z| > 1): the
    journeys' likelihood is down-weighted until |z| = 1, not further."""
    j, truth = confounded
    lt = truth.lift_test("search_ad", 0.1, random_state=0)
    lt["incremental"] = lt["true_incremental"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        e = at.Logistic(link="identity").fit(j, experiments=lt).experiments_.iloc[0]
    assert abs(e["z_observational"]) > 2 and e["weight"] < 1
    assert abs(e["z_calibrated"]) == pytest.approx(1.0, abs=0.02)


def test_an_experiment_with_a_huge_error_changes_nothing(confounded):
    j, truth = confounded
    lt = truth.lift_test("search_ad", 0.1, random_state=0).assign(se=1e9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        plain = at.Logistic(link="noisy_or").fit(j)
        cal = at.Logistic(link="noisy_or").fit(j, experiments=lt)
    assert cal.experiments_["weight"].iloc[0] == 1.0
    np.testing.assert_allclose(cal.credit_, plain.credit_, rtol=1e-5, atol=1e-3)


def test_an_experiment_that_agrees_with_the_fit_is_its_optimum(confounded):
    """The penalty's gradient is 0 where R_e equals the experiment: the fit does not move."""
    j, truth = confounded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        plain = at.Logistic(link="logit").fit(j)
        lt = truth.lift_test("display_ad", 0.1, random_state=0).assign(se=1.0)
        probe = at.Logistic(link="logit").fit(j, experiments=lt)
        agree = lt.assign(incremental=probe.experiments_["observational"].iloc[0])
        cal = at.Logistic(link="logit").fit(j, experiments=agree)
    assert cal.experiments_["z_calibrated"].abs().iloc[0] < 1e-3
    np.testing.assert_allclose(cal.coef_, plain.coef_, atol=2e-4)


def test_removal_effect_by_hand():
    """Identity link: rates 0.40 (a), 0.10 (b) and 0.45 (a > b) solve to b = 0.05,
    theta_a = 0.35, theta_b = 0.05; removing a costs theta_a in each of the 200 journeys
    that carry it: R_a = 70."""
    paths = pd.DataFrame({"path": ["a", "b", "a > b"], "total_conversions": [40, 10, 45],
                          "total_null": [60, 90, 55]})
    j = at.Journeys.from_paths(paths)
    lt = pd.DataFrame({"touchpoint": ["a"], "incremental": [30.0], "se": [1e9]})
    m = at.Logistic(link="identity", C=1e9).fit(j, experiments=lt)
    assert m.intercept_ == pytest.approx(0.05, abs=1e-5)
    assert m.coef_["a"] == pytest.approx(0.35, abs=1e-5)
    assert m.experiments_["observational"].iloc[0] == pytest.approx(70.0, abs=1e-3)
    assert m.experiments_["z_observational"].iloc[0] == pytest.approx(40.0 / 1e9, rel=1e-3)


def test_channel_experiment_removes_all_its_touchpoints(confounded):
    j, truth = confounded
    lt = truth.lift_test("web", 0.1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        m = at.Logistic(link="identity").fit(j, experiments=lt)
    web = [n for n, c in zip(j.names, np.asarray(j.channel_names)[j.channel_of], strict=True)
           if c == "web"]
    assert len(web) > 5 and m.experiments_["entity"].iloc[0] == "web"
    assert m.experiments_["level"].iloc[0] == "channel"


def test_models_without_a_value_model_refuse_experiments(ca_journeys):
    lt = pd.DataFrame({"channel": ["a"], "incremental": [3.0], "se": [1.0]})
    for name in ("linear", "markov", "first"):
        with pytest.raises(at.ParameterError, match="cannot be calibrated"):
            at.get_model(name).fit(ca_journeys, experiments=lt)


def test_compare_shows_calibrated_and_uncalibrated_side_by_side(confounded):
    j, truth = confounded
    lt = truth.lift_test("search_ad", 0.1, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = at.compare({"logistic": at.Logistic(link="identity"), "linear": "linear"}, j,
                         experiments=lt)
    assert set(out["model"]) == {"logistic", "logistic (calibrated)", "linear"}
    assert any("linear cannot be calibrated" in str(w.message) for w in caught)
    a = out[out["model"] == "logistic"].set_index("entity")["conversions"]
    b = out[out["model"] == "logistic (calibrated)"].set_index("entity")["conversions"]
    assert not np.allclose(a, b.reindex(a.index))
    # the calibrated model's experiments_ table travels with the frame
    tests = out.attrs["experiments"]
    assert list(tests) == ["logistic (calibrated)"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # negative Shapley values of some sets, as above
        alone = at.calibrate(at.Logistic(link="identity"), j, lt).experiments_
    pd.testing.assert_frame_equal(tests["logistic (calibrated)"], alone)


def test_bootstrap_replicates_are_calibrated(confounded):
    j, truth = confounded
    lt = truth.lift_test("search_ad", 0.1, random_state=0)
    lt["incremental"], lt["se"] = lt["true_incremental"], 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        m = at.Logistic(link="identity")
        ci = at.bootstrap(m, j, n_boot=8, random_state=0, experiments=lt)
    row = ci.set_index("entity").loc["search_ad"]
    true_share = lt["true_incremental"].iloc[0] / j.conversions.sum()
    # calibrated replicates stay near the experiment (uncalibrated ones are far above it)
    assert row["share_lower"] - 0.02 < true_share < row["share_upper"] + 0.02
    dated = lt.assign(start="2024-01-01", end="2024-02-15")  # replicates keep the times
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        out = at.bootstrap(at.Logistic(link="identity"), j, n_boot=2, random_state=0,
                           experiments=dated)
    assert out["share_se"].notna().all()


def test_read_experiments_checks_the_table(tmp_path):
    ok = pd.DataFrame({"channel": ["web"], "incremental": [10.0], "lower": [6.0],
                       "upper": [14.0], "note": ["geo test"]})
    out = read_experiments(ok)
    assert out["se"].iloc[0] == pytest.approx(8.0 / (2 * Z95))
    assert out["note"].iloc[0] == "geo test" and out["level"].iloc[0] == "channel"
    path = tmp_path / "lift.csv"
    ok.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_experiments(path), out)
    bad = [
        (ok.drop(columns="channel"), at.MissingColumnError, "exactly one of"),
        (ok.assign(touchpoint="x"), at.MissingColumnError, "exactly one of"),
        (ok.drop(columns=["lower", "upper"]), at.MissingColumnError, "'se'"),
        (ok.assign(upper=5.0), at.InputError, "row 0"),
        (ok.assign(incremental="many"), at.InputError, "'incremental', row 0"),
        (ok.assign(start="2024-01-01"), at.MissingColumnError, "both 'start' and 'end'"),
        (ok.assign(start="2024-02-01", end="2024-01-01"), at.InputError, "after start"),
        (ok.iloc[:0], at.InputError, "no rows"),
        (ok.assign(start="01/02/2024", end="03/04/2024"), at.InputError,
         "month-first and day-first.*YYYY-MM-DD"),
    ]
    for table, error, message in bad:
        with pytest.raises(error, match=message):
            read_experiments(table)
    with pytest.raises(at.InputError, match="level must be"):
        read_experiments(out.assign(level="bogus"))
    with pytest.raises(at.InputError, match="> 0"):
        read_experiments(out.assign(se=-1.0))
    for table, words in [
            (ok.assign(se=1.0), "not both"),  # an se and an interval may disagree
            (ok.assign(start=20240201, end=np.nan), "column 'start', row 0: 20240201 is not a "
                                                    "date.*YYYY-MM-DD"),
            (ok.assign(start="2024-01-01", end=1706745600), "column 'end', row 0")]:
        with pytest.raises(at.InputError, match=words):
            read_experiments(table)
    (tmp_path / "ids.csv").write_text("touchpoint,incremental,se\n0019,3,1\n")
    assert read_experiments(tmp_path / "ids.csv")["entity"].tolist() == ["0019"]  # as written
    ok.to_parquet(tmp_path / "lift.parquet")
    pd.testing.assert_frame_equal(read_experiments(tmp_path / "lift.parquet"), out)
    day_first = read_experiments(ok.assign(start="13/02/2024", end="15/06/2024"))
    assert day_first["start"].iloc[0] == pd.Timestamp("2024-02-13")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(at.InputError, match="cannot read"):
        read_experiments(tmp_path / "empty.csv")


def test_experiment_names_and_periods_are_checked(confounded):
    j, truth = confounded
    unknown = pd.DataFrame({"touchpoint": ["billboard"], "incremental": [1.0], "se": [1.0]})
    with pytest.raises(at.InputError, match="row 0: touchpoint 'billboard'"):
        at.Logistic(link="identity").fit(j, experiments=unknown)
    on_channels = pd.DataFrame({"touchpoint": ["search_ad"], "incremental": [1.0],
                                "se": [1.0]})
    with pytest.raises(at.ParameterError, match="channel level"):
        at.Logistic(link="identity", level="channel").fit(j, experiments=on_channels)
    # a touchpoint named like its channel is not the channel: refused, not the whole channel
    events, _ = simulate_journeys(5_000, catalogue=harness.scenario_catalogue(0.8),
                                  random_state=1)
    events["touchpoint"] = events["touchpoint"].cat.rename_categories(  # conversion rows
        {"follow_up_email": "email"})  # keep their missing touchpoint (astype(str): "nan")
    named = scenario_journeys(events)
    one = pd.DataFrame({"touchpoint": ["email"], "incremental": [5.0], "se": [2.0]})
    with pytest.raises(at.ParameterError, match="row 0 holds out touchpoint 'email'"):
        at.Logistic(link="logit", level="channel").fit(named, experiments=one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)  # negative Shapley values
        fitted = at.Logistic(link="logit").fit(named, experiments=one)
    assert fitted.experiments_["entity"][0] == "email"  # at touchpoint level: the touchpoint
    paths = at.Journeys.from_paths(pd.DataFrame({"path": ["a", "b"], "total_conversions": [1, 2],
                                                 "total_null": [5, 5]}))
    dated = pd.DataFrame({"touchpoint": ["a"], "incremental": [1.0], "se": [1.0],
                          "start": ["2024-01-01"], "end": ["2024-02-01"]})
    with pytest.raises(at.InputError, match="path tables have none"):
        at.Logistic(link="identity").fit(paths, experiments=dated)


def test_a_period_weighs_only_its_journeys(confounded):
    """An experiment over the whole range equals one without a period; one whose period
    holds no journey is refused (it would pull the model toward a number about nothing)."""
    j, truth = confounded
    lt = truth.lift_test("search_ad", 0.1, random_state=0)[["touchpoint", "incremental", "se"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        whole = at.Logistic(link="identity").fit(j, experiments=lt).experiments_
        dated = at.Logistic(link="identity").fit(j, experiments=lt.assign(
            start="2000-01-01", end="2100-01-01")).experiments_
    assert dated["observational"].iloc[0] == pytest.approx(whole["observational"].iloc[0])
    with pytest.raises(at.InputError, match="row 0 .* covers no journey"):
        at.Logistic(link="identity").fit(j, experiments=lt.assign(start="1990-01-01",
                                                                  end="1991-01-01"))


def test_an_experiment_larger_than_its_journeys_is_refused(confounded):
    j, truth = confounded
    lt = pd.DataFrame({"channel": ["web"], "incremental": [1e7], "se": [10.0]})
    with pytest.raises(at.InputError, match="exceeds the .* journeys"):
        at.Logistic(link="identity").fit(j, experiments=lt)
    with pytest.raises(at.ParameterError, match="at most 1"):
        simulate_journeys(100, drift={"date": "2024-02-01", "lifts": {"web": 1000}},
                          random_state=0)


def test_an_experiment_the_model_cannot_reach_is_warned(confounded):
    # noisy-OR effects are >= 0: a negative lift stays rejected at the smallest weight
    j, _ = confounded
    lift = pd.DataFrame({"touchpoint": ["search_ad"], "incremental": [-300.0], "se": [20.0]})
    with pytest.warns(at.AttributionWarning, match="still disagrees with experiment row 0 "
                      r"\(search_ad, z \+"):
        m = at.Logistic(link="noisy_or").fit(j, experiments=lift)
    assert m.experiments_["weight"].iloc[0] == pytest.approx(1e-4)
    assert m.experiments_["z_calibrated"].iloc[0] > 1


def test_a_copied_experiment_row_is_warned():
    row = {"channel": "web", "incremental": 10.0, "se": 2.0}
    with pytest.warns(at.AttributionWarning, match=r"rows 0 and 2 are the same test \(channel "
                      "web, incremental 10, se 2\\): each row counts"):
        out = read_experiments(pd.DataFrame([row, dict(row, incremental=12.0), row]))
    assert len(out) == 3  # kept: two tests with the same result are possible
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_experiments(out)  # the read form is not checked again (replicates)
        read_experiments(pd.DataFrame([dict(row, start="2024-01-01", end="2024-02-01"),
                                       dict(row, start="2024-02-01", end="2024-03-01")]))


def test_a_table_written_in_the_read_form_is_checked_like_any_other():
    """A user may write the six columns read_experiments returns: the same checks apply."""
    out = read_experiments(pd.DataFrame({"channel": ["web"], "incremental": [10.0],
                                         "se": [2.0], "start": ["2024-01-01"],
                                         "end": ["2024-02-01"], "note": ["geo"]}))
    pd.testing.assert_frame_equal(read_experiments(out), out)  # idempotent, extras kept
    for table, words in [
            (out.assign(start=20240201, end=pd.NaT), "column 'start', row 0: 20240201 is not "
                                                     "a date"),
            (out.assign(start="01/02/2024", end="03/04/2024"), "month-first and day-first"),
            (out.assign(end=pd.Timestamp("2023-12-01")), "row 0: end must be after start"),
            (out.assign(entity=" "), "row 0 has no entity name"),
            (out.assign(incremental=np.inf), "'incremental', row 0"),
            (out.assign(se=np.nan), "'se', row 0")]:
        with pytest.raises(at.InputError, match=words):
            read_experiments(table)
    strings = read_experiments(out.assign(start="2024-01-01", end="2024-02-01"))
    assert strings["start"].iloc[0] == pd.Timestamp("2024-01-01")


def test_a_period_starting_on_a_skipped_midnight_starts_at_its_first_instant():
    """Santiago's clocks jump from 00:00 to 01:00 on 2024-09-08: that date starts at 01:00."""
    from attribution.experiments import covered
    events = pd.DataFrame({"user": ["u1", "u2", "u3"], "tp": ["a", "b", "a"],
                           "ts": ["2024-09-07 23:30", "2024-09-08 01:30", "2024-09-09 12:00"],
                           "conv": [1, 0, 1]})
    j = at.Journeys.from_events(events, journey="user", time="ts", touchpoint="tp",
                                conversion="conv", tz="America/Santiago")
    assert covered(j, pd.Timestamp("2024-09-08"), pd.NaT).tolist() == [False, True, True]
    assert covered(j, pd.NaT, pd.Timestamp("2024-09-08")).tolist() == [True, False, False]


def test_a_replicate_scales_each_test_to_the_people_of_its_period(confounded):
    """A lift test measured a lift per person: in a replicate whose period holds twice the
    people, its incremental and se double; a period the replicate empties drops the test."""
    from attribution.experiments import replicate_experiments
    j, _ = confounded
    t = pd.to_datetime(j.end_times)
    cut = t.sort_values()[len(t) // 2].floor("D")
    lt = read_experiments(pd.DataFrame({"channel": ["web", "email"], "incremental": [30.0, 8.0],
                                        "se": [6.0, 2.0], "start": [cut, pd.NaT],
                                        "end": [pd.NaT, pd.NaT]}))
    scaled = replicate_experiments(lt, j)
    late = np.asarray(t >= cut)
    c, u = j.conversions.astype(float), j.nulls.astype(float)
    same = scaled(c, u)
    pd.testing.assert_frame_equal(same, lt)
    twice = scaled(np.where(late, 2 * c, c), np.where(late, 2 * u, u))
    n, n_late = (c + u).sum(), (c + u)[late].sum()
    assert twice["incremental"].tolist() == pytest.approx([60.0, 8.0 * (n + n_late) / n])
    assert twice["se"].tolist() == pytest.approx([12.0, 2.0 * (n + n_late) / n])
    with pytest.warns(at.AttributionWarning, match="row 0 \\('web'\\) covers no journey of a "
                      "bootstrap replicate"):
        early = scaled(np.where(late, 0, c), np.where(late, 0, u))
    assert early["entity"].tolist() == ["email"]


def test_bootstrap_with_a_test_whose_period_holds_one_journey(confounded):
    """The journey is missing from about a third of the replicates: those are fitted without
    the test (counted in one warning), not stopped."""
    j, truth = confounded
    last = pd.to_datetime(j.end_times).max().floor("s")
    lt = pd.DataFrame({"channel": ["web"], "incremental": [0.5], "se": [0.3], "start": [last],
                       "end": [last + pd.Timedelta("1s")]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ci = at.bootstrap(at.Logistic(link="identity", interactions=False), j, n_boot=12,
                          random_state=0, experiments=lt)
    left_out = [str(w.message) for w in caught if "left out of it" in str(w.message)]
    assert len(left_out) == 1 and re.match(r"\d+ of 12 bootstrap replicates", left_out[0])
    assert np.isfinite(ci["share_se"]).all()


def test_a_calibrated_bootstrap_is_the_same_for_any_n_jobs(confounded):
    """The calibration's products run on one BLAS thread, in a worker as in this process."""
    j, _ = confounded
    small = j.select(range(3000))
    lt = pd.DataFrame({"touchpoint": ["search_ad"], "incremental": [40.0], "se": [20.0]})
    out = []
    for n_jobs in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", at.AttributionWarning)
            ci = at.bootstrap(at.Logistic(link="identity"), small, n_boot=4, n_jobs=n_jobs,
                              method="poisson", random_state=1, experiments=lt)
        out.append(ci[["conversions_lower", "conversions_upper"]].to_numpy())
    np.testing.assert_array_equal(out[0], out[1])


def test_a_replicate_says_each_test_it_leaves_out_and_when_none_is_left(confounded):
    from attribution.experiments import replicate_experiments
    j, _ = confounded
    t = pd.to_datetime(j.end_times)
    cut = t.sort_values()[len(t) // 2].floor("D")
    lt = read_experiments(pd.DataFrame({"channel": ["web", "email"], "incremental": [3.0, 2.0],
                                        "se": [1.0, 1.0], "start": [cut, cut],
                                        "end": [pd.NaT, pd.NaT]}))
    late = np.asarray(t >= cut)
    c, u = j.conversions.astype(float), j.nulls.astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert replicate_experiments(lt, j)(np.where(late, 0, c), np.where(late, 0, u)) is None
    said = [str(w.message) for w in caught]
    assert [m[:30] for m in said] == ["experiment row 0 ('web') cover",
                                      "experiment row 1 ('email') cov",
                                      "no experiment covers a journey"]
    assert said[2].endswith("it is fitted uncalibrated")


def test_replicate_warnings_group_by_kind():
    from attribution.inference.bootstrap import _kind
    same = [("26 journey set(s) give negative values", "19 journey set(s) give negative values"),
            ("'radio_spot' is seen only in converting journeys",
             "'email' is seen only in converting journeys"),
            ("weight 0.428, z -2.1e-3", "weight 1, z +4")]
    for a, b in same:
        assert _kind(a) == _kind(b)
    assert _kind("experiment row 0 ('web') covers") != _kind("experiment row 1 ('web') covers")
    assert _kind("the model's fit of 'web'") == _kind("the model's fit of 'email'")


def test_lift_table_details_are_checked():
    ok = pd.DataFrame({"channel": ["web"], "incremental": [10.0], "se": [2.0]})
    read = read_experiments(ok)
    for table, error, words in [
            (read.assign(channel="web"), at.InputError, "'entity' and 'level' or as 'channel'"),
            (ok.assign(incremental=True), at.InputError, "'incremental', row 0: True is not"),
            (ok.assign(se=np.inf), at.InputError, "'se', row 0: inf is not a finite number"),
            (ok.drop(columns="se").assign(lower=5.0, upper=7.0), at.InputError,
             r"row 0: incremental 10 lies outside its interval \[5, 7\]"),
            (read[["level", "entity", "incremental", "se", "start", "end"]],
             at.MissingColumnError, "or entity, level, incremental, se, start, end first")]:
        with pytest.raises(error, match=words):
            read_experiments(table)
    row = {"entity": "web", "level": "channel", "incremental": 10.0, "se": 2.0,
           "start": pd.NaT, "end": pd.NaT}
    with pytest.warns(at.AttributionWarning, match="rows 0 and 1 are the same test"):
        twice = read_experiments(pd.DataFrame([row, row]))  # written in the read form
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_experiments(twice)  # read once: a replicate's table is not warned again
