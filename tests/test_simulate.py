import json
import warnings

import numpy as np
import pytest

import attribution as at
from attribution import metrics
from attribution.evaluation.simulate import TIERS, default_catalogue, simulate_journeys


def exposure_probability(freq, mean_length):
    """P(a journey meets type k): L = 1 + NB(2, p), P = 1 - (1 - f) * PGF_NB(1 - f)."""
    p = 2 / (2 + mean_length - 1)
    s = 1 - freq
    return 1 - s * (p / (1 - (1 - p) * s)) ** 2


@pytest.fixture(scope="module")
def additive():
    return simulate_journeys(40_000, tier="additive", random_state=3)


def test_additive_truth_equals_analytic_contributions(additive):
    _, truth = additive
    cat = truth.catalogue
    freq = cat["frequency"].to_numpy() / cat["frequency"].sum()
    q = exposure_probability(freq, 4.0)
    n = 40_000
    theta = truth.theta.to_numpy()
    expected = theta * n * q
    sd = theta * np.sqrt(n * q * (1 - q))  # Monte Carlo error of the exposure count
    for got in (truth.removal.to_numpy(), truth.shapley.to_numpy()):
        assert (np.abs(got - expected) <= 4 * sd + 1e-9).all()
    # additive game: removal equals Shapley exactly, and both add up to the incremental part
    np.testing.assert_allclose(truth.removal, truth.shapley, rtol=1e-9)
    assert truth.shapley.sum() == pytest.approx(truth.conversions - truth.baseline, rel=1e-9)


@pytest.mark.parametrize("tier", TIERS)
def test_placebo_zero_and_efficiency(tier):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, truth = simulate_journeys(8000, tier=tier, targeting=0.3, random_state=1)
    assert truth.shapley.filter(like="placebo").abs().max() < 1e-9
    assert truth.removal.filter(like="placebo").abs().max() < 1e-9
    assert truth.shapley.sum() == pytest.approx(truth.conversions - truth.baseline, rel=1e-9)


def test_clones_equal_within_monte_carlo_error(additive):
    _, truth = additive
    clones = truth.shapley[["display_ad", "display_ad_clone1", "display_ad_clone2"]]
    theta = truth.theta["display_ad"]
    q = exposure_probability(4.0 / default_catalogue()["frequency"].sum(), 4.0)
    sd = theta * np.sqrt(40_000 * q * (1 - q))
    assert clones.max() - clones.min() <= 4 * np.sqrt(2) * sd


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9])
def test_target_top20_met_in_additive_tier(target):
    _, truth = simulate_journeys(20_000, target_top20=target, random_state=2)
    assert truth.top20 == pytest.approx(target, abs=0.02)


def test_unreachable_target_is_a_clear_error():
    with pytest.raises(at.ParameterError, match="cannot be reached.*exposure alone"):
        simulate_journeys(5000, target_top20=0.1, random_state=0)
    with pytest.raises(at.ParameterError, match="tier"):
        simulate_journeys(100, tier="quadratic")


def test_event_log_feeds_the_models(additive):
    events, truth = additive
    j = at.Journeys.from_events(events, journey="journey_id", time="timestamp",
                                touchpoint="touchpoint", channel="channel", stage="stage",
                                conversion="converted", value="value")
    assert j.conversions.sum() == events["converted"].sum()
    assert set(j.names) <= set(truth.shapley.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        model = at.Shapley(value="model", credit="incremental").fit(j)
        last = at.LastTouch().fit(j)
    acc_model = metrics.accuracy(model.credit_, truth.shapley, placebo=["placebo_banner1"])
    acc_last = metrics.accuracy(last.credit_, truth.shapley, placebo=["placebo_banner1"])
    assert acc_model["tv_distance"] < acc_last["tv_distance"]
    assert acc_model["spearman"] > acc_last["spearman"]


def test_same_seed_same_data():
    a = simulate_journeys(3000, tier="upstream", random_state=9)
    b = simulate_journeys(3000, tier="upstream", random_state=9)
    assert a[0].equals(b[0])
    np.testing.assert_array_equal(a[1].shapley, b[1].shapley)


def test_bundled_sample_is_reproduced_bit_for_bit(tmp_path):
    """scripts/make_sample.py's call still makes attribution/datasets/sample_*: the simulator's
    draws, event layout and truth are pinned.
    """
    import gzip
    import io
    from pathlib import Path

    root = Path(at.__file__).parent / "datasets"
    events, truth = simulate_journeys(10_000, tier="noisy_or", target_top20=0.8,
                                      random_state=2026)
    buf = io.StringIO()
    events.rename(columns={"journey_id": "user_id", "value": "revenue"}).to_csv(buf, index=False)
    with gzip.open(root / "sample_events.csv.gz", "rt") as f:
        assert buf.getvalue() == f.read()
    # the truth's sums may differ in the last bits between numpy versions: equal to 1e-12
    truth.to_json(tmp_path / "truth.json")
    got = json.loads((tmp_path / "truth.json").read_text())
    want = json.loads((root / "sample_truth.json").read_text())
    assert _approx_equal(got, want)


def _approx_equal(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _approx_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(
            _approx_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-15)
    return a == b


def test_truth_lives_in_its_module_and_is_re_exported():
    from attribution.evaluation import simulate, truth

    assert simulate.Truth is truth.Truth
