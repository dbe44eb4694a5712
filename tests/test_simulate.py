import json
import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution import metrics
from attribution.evaluation.simulate import TIERS, default_catalogue, make_world, simulate_journeys


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


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("target", [0.6, 0.8, 0.9])
def test_world_meets_its_target_against_expected_exposure(tier, target):
    world = make_world(tier=tier, target_top20=target, targeting=0.3, random_state=2)
    # independently of metrics.top_share: the 5 largest of 21 weights over their sum
    w = np.sort(world.theta * world.expected_exposure)[::-1]
    assert w[:5].sum() / w.sum() == pytest.approx(target, abs=1e-9)
    assert world.top20 == pytest.approx(target, abs=1e-9)
    # Zipf over the ranks of the causal types; clones copy display_ad; the placebo has none
    lifts = world.lifts
    causal = world.rank > 0
    np.testing.assert_allclose(world.theta[causal],
                               0.25 * world.rank[causal] ** -world.beta, rtol=1e-12)
    assert sorted(world.rank[causal]) == list(range(1, 19)) and world.beta > 0
    assert (lifts.filter(like="clone") == lifts["display_ad"]).all()
    assert lifts["placebo_banner1"] == 0


def test_sampled_truth_converges_to_the_target():
    """Additive tier, journeys of the world's reference length (4, the default): the world's
    expected exposure is what journeys meet, so the sampled truth's top-20% share converges
    to target_top20 itself as journeys grow."""
    err = {n: [abs(simulate_journeys(n, random_state=s)[1].top20 - 0.8) for s in range(3)]
           for n in (2_000, 100_000)}
    assert max(err[100_000]) < 0.003
    assert np.mean(err[2_000]) > 3 * np.mean(err[100_000])
    # other lengths bend it (the world stays): one touch per journey meets type k with its
    # touch probability, and the limit is the share under that exposure, not the target
    # (0.818 in this seed's world)
    _, truth = simulate_journeys(200_000, mean_length=1, random_state=4)
    w = np.sort(truth.theta.to_numpy() * truth.world.touch_probability)[::-1]
    expected = w[:5].sum() / w.sum()
    assert abs(expected - 0.8) > 0.01
    assert truth.top20 == pytest.approx(expected, abs=0.003)


@pytest.mark.parametrize("tier", ["noisy_or", "confounded", "upstream"])
def test_world_is_a_function_of_the_seed_alone(tier):
    """The world (catalogue, ranks, Zipf exponent, lifts, drivers, expected exposure) is the
    same to the bit whatever the number of journeys and their mean length."""
    kw = dict(tier=tier, targeting=0.5, random_state=11)
    _, small = simulate_journeys(2_000, mean_length=3, **kw)
    _, large = simulate_journeys(50_000, mean_length=6, truth_journeys=5_000, **kw)
    assert small.world == large.world == make_world(**kw)
    np.testing.assert_array_equal(small.theta.to_numpy(), large.theta.to_numpy())
    assert small.world.drivers == large.world.drivers
    # the sampled truth differs (other journeys), the world part of it does not
    assert not np.array_equal(small.shapley.to_numpy(), large.shapley.to_numpy())
    other = make_world(tier=tier, targeting=0.5, random_state=12)
    assert other != small.world
    assert not np.array_equal(other.rank, small.world.rank)
    assert not np.array_equal(other.theta, small.world.theta)
    # ranks come first from the world's stream: the same in every tier of a seed
    np.testing.assert_array_equal(make_world(tier="additive", random_state=11).rank,
                                  small.world.rank)


@pytest.mark.parametrize(("tier", "targeting"),
                         [("confounded", 0.5), ("confounded", 1.6), ("upstream", 0.0)])
def test_expected_exposure_is_what_journeys_meet(tier, targeting):
    """The world's expected exposure (computed: length distribution, targeting integrated
    over intent, induced touches) is the share of journeys of the reference length (the
    default mean_length) that meet each type."""
    n = 100_000
    events, truth = simulate_journeys(n, tier=tier, targeting=targeting, target_top20=0.9,
                                      truth_journeys=500, random_state=4)
    touches = events.dropna(subset=["touchpoint"]).drop_duplicates(["user_id", "touchpoint"])
    seen = touches["touchpoint"].value_counts().reindex(truth.world.names, fill_value=0) / n
    p = truth.world.expected_exposure
    assert (np.abs(seen.to_numpy() - p) <= 4 * np.sqrt(p * (1 - p) / n)).all()
    # the targeted (confounded) or induced (upstream) types are met more than by frequency
    plain = exposure_probability(truth.world.touch_probability, 4.0)
    moved = truth.world.targeted if tier == "confounded" else [e for _, e in truth.world.links]
    assert (p[moved] > plain[moved] + 0.02).all()


def _intent_and_exposure(events):
    """Per journey: intent, conversions, share of touches that are targeted types."""
    g = events.groupby("user_id")
    touches = events[events["converted"] == 0]
    targeted = touches["touchpoint"].isin(["search_ad", "display_ad", "product_page"])
    share = targeted.groupby(touches["user_id"]).mean()
    return g["intent"], g["converted"].sum(), share


def test_confounded_tier_emits_the_intent_that_confounds():
    kw = dict(tier="confounded", truth_journeys=2_000, random_state=5)
    events, truth = simulate_journeys(20_000, targeting=0.5, **kw)
    assert list(events.columns)[-1] == "intent" and events["intent"].notna().all()
    intent, converted, share = _intent_and_exposure(events)
    assert (intent.nunique() == 1).all()  # constant within a journey, conversion row included
    z = intent.first()
    assert z.std() == pytest.approx(1, abs=0.03)  # N(0, 1)
    # higher intent converts more AND meets more of the targeted touchpoints
    assert np.corrcoef(z, converted)[0, 1] > 0.04
    assert np.corrcoef(z, share.reindex(z.index))[0, 1] > 0.15
    # without targeting intent still drives conversion but no longer exposure
    plain, _ = simulate_journeys(20_000, targeting=0.0, **kw)
    z0, _, share0 = _intent_and_exposure(plain)
    assert abs(np.corrcoef(z0.first(), share0.reindex(z0.first().index))[0, 1]) < 0.03
    # the hidden variant: the same journeys and truth, without the column
    hidden, truth_h = simulate_journeys(20_000, targeting=0.5, observe_intent=False, **kw)
    assert "intent" not in hidden.columns
    pd.testing.assert_frame_equal(hidden, events.drop(columns="intent"))
    pd.testing.assert_series_equal(truth_h.shapley, truth.shapley)
    # the other tiers have no intent column
    assert "intent" not in simulate_journeys(500, tier="additive", random_state=5)[0].columns


def test_unreachable_target_is_a_clear_error():
    with pytest.raises(at.ParameterError, match="cannot be reached.*exposure alone"):
        simulate_journeys(5000, target_top20=0.1, random_state=0)
    with pytest.raises(at.ParameterError, match="tier"):
        simulate_journeys(100, tier="quadratic")


def test_event_log_feeds_the_models(additive):
    events, truth = additive
    j = at.Journeys.from_events(events, journey="user_id", time="timestamp",
                                touchpoint="touchpoint", channel="channel", stage="stage",
                                conversion="converted", value="revenue")
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


def test_seed_as_int_seed_sequence_generator_or_none():
    a = simulate_journeys(300, tier="confounded", random_state=7)
    b = simulate_journeys(300, tier="confounded", random_state=np.random.SeedSequence(7))
    assert a[0].equals(b[0]) and a[1].world == b[1].world
    g = [simulate_journeys(300, random_state=np.random.default_rng(1)) for _ in range(2)]
    assert g[0][0].equals(g[1][0]) and g[0][1].world == g[1][1].world
    assert not g[0][0].equals(a[0])
    fresh = simulate_journeys(300)[1].world  # fresh entropy: still a world that meets its target
    assert fresh.top20 == pytest.approx(0.8, abs=1e-9)


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
    events.to_csv(buf, index=False)  # the simulator writes the sample's columns
    with gzip.open(root / "sample_events.csv.gz", "rt") as f:
        assert buf.getvalue() == f.read()
    # the truth's sums may differ in the last bits between numpy versions: equal to 1e-12
    truth.to_json(tmp_path / "truth.json")
    got = json.loads((tmp_path / "truth.json").read_text())
    want = json.loads((root / "sample_truth.json").read_text())
    assert _approx_equal(got, want)
    # the bundled lifts are the world of the seed, whatever the number of journeys
    world = make_world(tier="noisy_or", target_top20=0.8, random_state=2026)
    assert [t["theta"] for t in want["touchpoints"]] == world.theta.tolist()


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


@pytest.mark.parametrize("tier", ["noisy_or", "confounded"])
def test_truth_does_not_depend_on_the_kernel_batches(tier, monkeypatch):
    """The truth's Shapley games are solved in batches of bounded size (memory); the values
    are those of one call, whatever the batch size (sets of more than 14 types sampled)."""
    from attribution.evaluation import truth as truth_module

    def run():
        return simulate_journeys(3000, tier=tier, mean_length=14, random_state=5)[1].shapley

    whole = run()
    calls = []
    real = truth_module.shapley

    def counted(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(truth_module, "COALITION_BUDGET", 2**15)
    monkeypatch.setattr(truth_module, "shapley", counted)
    batched = run()
    assert len(calls) > 3 and sum(calls) > 100  # many batches over the journeys' games
    pd.testing.assert_series_equal(batched, whole, rtol=1e-12, atol=1e-9)
