import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.evaluation import harness
from attribution.evaluation.simulate import simulate_journeys


def test_grid_expands_every_combination():
    g = harness.grid(dict(a=(1, 2), b=("x", "y", "z")))
    assert len(g) == 6 and g[0] == dict(a=1, b="x") and g[-1] == dict(a=2, b="z")
    assert len(harness.grid(harness.FULL_GRID)) == 5 * 4 * 3 * 3 * 3


def test_scenario_rows_score_every_model_against_truth():
    rows = pd.DataFrame(harness.run_scenario("additive", 0.8, n_journeys=3000,
                                             models=["last", "shapley", "markov"]))
    assert list(rows["model"]) == ["last", "shapley", "markov"]
    assert (rows["true_top20"] - 0.8).abs().max() < 0.05  # the truth hits its target
    assert rows["true_pareto"].all()
    assert ((rows["tv_distance"] >= 0) & (rows["tv_distance"] <= 1)).all()
    # the "last" row, recomputed from the simulated data: half the L1 distance of the shares
    events, truth = simulate_journeys(3000, catalogue=harness.scenario_catalogue(0.8),
                                      tier="additive", target_top20=0.8, mean_length=4,
                                      frequency_effect_corr=0.0, targeting=0.5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = at.Journeys.from_events(events, journey="journey_id", time="timestamp",
                                    touchpoint="touchpoint", conversion="converted")
    credit = at.LastTouch().fit(j).credit_
    true = truth.shapley[truth.shapley.index.isin(j.names)]
    est = (credit / credit.sum()).reindex(true.index, fill_value=0.0)
    tv = 0.5 * (est - true / true.sum()).abs().sum()
    assert rows.set_index("model").loc["last", "tv_distance"] == pytest.approx(tv, rel=1e-9)
    flat = pd.DataFrame(harness.run_scenario("additive", "flat", n_journeys=3000,
                                             models=["linear"]))
    assert not flat["true_pareto"].any() and flat["true_top20"].iloc[0] < 0.4


def test_same_numbers_whatever_n_jobs():
    spec = dict(harness.QUICK_GRID, tier=("noisy_or", "upstream"), target_top20=(0.8,),
                n_journeys=(2000,))
    a = harness.run_grid(spec, models=["linear", "logistic"], n_jobs=1, progress=False)
    b = harness.run_grid(spec, models=["linear", "logistic"], n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))


def test_summary_counts_recoveries_and_flat_calls():
    res = pd.DataFrame(dict(model=["m", "m", "m"], tv_distance=[0.1, 0.2, 0.3],
                            spearman=[1, 0.5, 0], true_top20=[0.85, 0.9, 0.3],
                            est_top20=[0.82, 0.6, 0.2], true_pareto=[True, True, False],
                            est_pareto=[True, False, False], placebo_share=[0, 0, 0.1],
                            seconds=[1, 1, 1]))
    s = harness.summarise(res).loc["m"]
    assert s["recovers_80_20"] == pytest.approx(0.5)  # 1 of the 2 Pareto scenarios
    assert s["says_flat_when_flat"] == pytest.approx(1.0)
    assert s["tv_distance"] == pytest.approx(0.2) and np.isfinite(s["spearman"])


def test_report_and_cli(tmp_path, capsys):
    from attribution.cli import main

    code = main(["--quiet", "bench", "concentration", "--quick", "--journeys", "1500",
                 "--out", str(tmp_path)])
    assert code == 0
    csv = pd.read_csv(tmp_path / "concentration.csv")
    assert csv["model"].nunique() >= 9 and len(csv) == 10 * csv["model"].nunique()
    md = (tmp_path / "concentration.md").read_text()
    assert "in truth it holds" in md and "in truth it does not hold" in md
    for png in ("error_by_tier.png", "concentration.png"):
        assert (tmp_path / png).stat().st_size > 10_000  # a drawn figure, not a blank file
    assert "tv_distance" in capsys.readouterr().out


def test_unreachable_scenarios_are_skipped_and_reported(tmp_path):
    rows = harness.run_scenario("additive", 0.1, n_journeys=1000, models=["linear"])
    assert rows[0]["model"] == harness.SKIPPED and "cannot be reached" in rows[0]["skipped"]
    ok = harness.run_scenario("additive", 0.8, n_journeys=1000, models=["linear"])
    res = pd.DataFrame(rows + ok)
    summary = harness.summarise(res)
    assert list(summary.index) == ["linear"]
    # the one scenario run: a true 80/20, so "says flat" has nothing to count
    row = ok[0]
    assert row["true_pareto"]
    assert summary.loc["linear", "recovers_80_20"] == float(row["est_pareto"])
    assert np.isnan(summary.loc["linear", "says_flat_when_flat"])
    assert summary.loc["linear", "tv_distance"] == row["tv_distance"]
    harness.report(res, tmp_path)
    assert "Scenarios not run (1)" in (tmp_path / "concentration.md").read_text()
