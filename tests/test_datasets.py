import numpy as np
import pandas as pd
import pytest

from attribution.datasets import Sample, load_sample
from attribution.evaluation.simulate import Truth


@pytest.fixture(scope="module")
def sample():
    return load_sample()


def test_sample_is_events_plus_truth(sample):
    events, truth = sample
    assert isinstance(sample, Sample) and isinstance(truth, Truth)
    assert list(events.columns) == ["user_id", "timestamp", "touchpoint", "channel", "stage",
                                    "converted", "revenue"]
    assert events["user_id"].nunique() == 10_000
    assert int(events["converted"].sum()) == 688
    assert pd.api.types.is_datetime64_any_dtype(events["timestamp"])
    touches = events[events["converted"] == 0]
    assert set(touches["touchpoint"]) <= set(truth.shapley.index)
    assert set(touches["stage"]) == {"pre", "during", "post"}
    # every conversion row carries revenue, touch rows none
    assert (events.loc[events["converted"] == 1, "revenue"] > 0).all()
    assert (touches["revenue"] == 0).all()


def test_sample_truth_is_consistent(sample):
    events, truth = sample
    assert truth.tier == "noisy_or"
    assert truth.top20 == pytest.approx(0.8, abs=0.02)
    assert truth.shapley["placebo_banner1"] == 0.0
    assert truth.removal["placebo_banner1"] == 0.0
    # Shapley efficiency: credit + baseline = expected conversions
    assert truth.shapley.sum() + truth.baseline == pytest.approx(truth.conversions, rel=1e-9)
    # the realised conversions are a Binomial draw around the expected ones
    sd = np.sqrt(truth.conversions)
    assert abs(events["converted"].sum() - truth.conversions) < 4 * sd
    clones = truth.shapley[["display_ad", "display_ad_clone1", "display_ad_clone2"]]
    assert clones.max() - clones.min() < 0.25 * clones.mean() + 1
    assert truth.channel_shapley.sum() == pytest.approx(truth.shapley.sum())


def test_truth_json_round_trip(sample, tmp_path):
    truth = sample.truth
    truth.to_json(tmp_path / "t.json")
    back = Truth.read_json(tmp_path / "t.json")
    pd.testing.assert_series_equal(back.shapley, truth.shapley)
    pd.testing.assert_series_equal(back.removal, truth.removal)
    pd.testing.assert_series_equal(back.channel_shapley, truth.channel_shapley)
    assert (back.baseline, back.conversions, back.tier) == (truth.baseline, truth.conversions,
                                                            truth.tier)
    pd.testing.assert_frame_equal(back.to_frame(), truth.to_frame())


def test_sample_as_journeys(sample):
    j, truth = load_sample(as_journeys=True)
    assert j.n_journeys == 10_000 and j.conversions.sum() == 688
    # a person's journey is their touch rows in time order (pandas, independently)
    events = sample.events.sort_values("timestamp", kind="stable")
    converters = events.loc[events["converted"] == 1, "user_id"]
    for user in [*converters.iloc[:3], *events["user_id"].iloc[:3]]:
        row = int(np.flatnonzero(j.ids == user)[0])
        mine = events[(events["user_id"] == user) & events["touchpoint"].notna()]
        assert list(j.names[j.codes[j.offsets[row]:j.offsets[row + 1]]]) == list(
            mine["touchpoint"]), user
        assert j.conversions[row] == events.loc[events["user_id"] == user, "converted"].sum()
    assert j.value.sum() == pytest.approx(sample.events["revenue"].sum())
    assert set(j.channel_names) == set(truth.channel_shapley.index)
