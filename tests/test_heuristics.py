import numpy as np
import pandas as pd
import pytest

import attribution as at
from tests.conftest import make_journeys

# ChannelAttribution 2.2.5, heuristic_models(CA_PATHS, "path", "total_conversions",
# var_value="total_conversion_value", sep=">"), run once in a side environment on 2026-11-23.
CA_EXPECTED = pd.DataFrame({
    "channel_name": ["a", "b", "c", "d"],
    "first_touch_conversions": [6.0, 1.0, 6.0, 5.0],
    "first_touch_value": [59.5, 5.0, 50.0, 60.0],
    "last_touch_conversions": [1.0, 5.0, 12.0, 0.0],
    "last_touch_value": [7.5, 46.0, 121.0, 0.0],
    "linear_touch_conversions": [3.833333, 6.0, 6.666667, 1.5],
    "linear_touch_value": [40.416667, 59.5, 58.833333, 15.75],
})


@pytest.mark.parametrize("model, prefix", [("first", "first_touch"), ("last", "last_touch"),
                                           ("linear", "linear_touch")])
def test_equals_channelattribution(ca_journeys, model, prefix):
    m = at.get_model(model).fit(ca_journeys)
    np.testing.assert_allclose(m.credit_.to_numpy(), CA_EXPECTED[f"{prefix}_conversions"],
                               atol=1e-6)
    np.testing.assert_allclose(m.value_credit_.to_numpy(), CA_EXPECTED[f"{prefix}_value"],
                               atol=1e-6)


# hand-computed: journeys  a>b>c (2 conv), b (1 conv), a>a>d>b (1 conv), c>a (0 conv, 3 nulls)
HAND = dict(paths=[[0, 1, 2], [1], [0, 0, 3, 1], [2, 0]], conversions=[2, 1, 1, 0],
            nulls=[0, 0, 0, 3], value=[20, 5, 8, 0])


def hand():
    return make_journeys(**HAND, names=["a", "b", "c", "d"])


# per model, the weights of the touches of the three converting journeys (by hand)
@pytest.mark.parametrize("model, weights, expected", [
    (at.FirstTouch(), [[1, 0, 0], [1], [1, 0, 0, 0]], {"a": 3, "b": 1, "c": 0, "d": 0}),
    (at.LastTouch(), [[0, 0, 1], [1], [0, 0, 0, 1]], {"a": 0, "b": 2, "c": 2, "d": 0}),
    # a: 2/3 + 2/4; b: 2/3 + 1 + 1/4; c: 2/3; d: 1/4
    (at.Linear(), [[1 / 3] * 3, [1], [1 / 4] * 4],
     {"a": 2 / 3 + 0.5, "b": 2 / 3 + 1.25, "c": 2 / 3, "d": 0.25}),
    # L=3: .4/.2/.4 ; L=4: .4, .1, .1, .4
    (at.PositionBased(), [[.4, .2, .4], [1], [.4, .1, .1, .4]],
     {"a": 0.8 + 0.5, "b": 0.4 + 1 + 0.4, "c": 0.8, "d": 0.1}),
    # first=.3,last=.5, L=3: .3/.2/.5; L=4: .3,.1,.1,.5
    (at.PositionBased(first=0.3, last=0.5), [[.3, .2, .5], [1], [.3, .1, .1, .5]],
     {"a": 0.6 + 0.4, "b": 0.4 + 1 + 0.5, "c": 1.0, "d": 0.1}),
    # by position, half-life 1 step: L=3 weights 1/4,1/2,1 over 7/4; L=4: 1/8,1/4,1/2,1 / 15/8
    (at.TimeDecay(by="position"), [[1 / 7, 2 / 7, 4 / 7], [1], [1 / 15, 2 / 15, 4 / 15, 8 / 15]],
     {"a": 2 * (1 / 7) + (1 / 15 + 2 / 15), "b": 2 * (2 / 7) + 1 + 8 / 15, "c": 2 * (4 / 7),
      "d": 4 / 15}),
])
def test_hand_computed(model, weights, expected):
    m = model.fit(hand())
    assert m.credit_.to_dict() == pytest.approx(expected, abs=1e-12)
    # the same weights times each journey's conversions and value, summed per entity
    conv, value = {}, {}
    for path, w, c, v in zip(HAND["paths"], weights, HAND["conversions"], HAND["value"],
                             strict=False):
        for code, wt in zip(path, w, strict=True):
            name = "abcd"[code]
            conv[name] = conv.get(name, 0) + c * wt
            value[name] = value.get(name, 0) + v * wt
    assert m.credit_.to_dict() == pytest.approx(conv, abs=1e-12)
    assert m.value_credit_.to_dict() == pytest.approx(value, abs=1e-12)
    # transform: one row per touch of the converting journeys, credit c_j w_t, value v_j w_t
    t = m.transform(hand())
    assert t["journey"].tolist() == [0, 0, 0, 1, 2, 2, 2, 2]
    assert t["touchpoint"].astype(str).tolist() == list("abcbaadb")
    touch_c = [c * wt for w, c in zip(weights, HAND["conversions"], strict=False) for wt in w]
    touch_v = [v * wt for w, v in zip(weights, HAND["value"], strict=False) for wt in w]
    assert t["credit"].tolist() == pytest.approx(touch_c, abs=1e-12)
    assert t["value_credit"].tolist() == pytest.approx(touch_v, abs=1e-12)


def test_position_based_two_touches():
    j = make_journeys([[0, 1]], [1], names=["x", "y"])
    m = at.PositionBased(first=0.6, last=0.2).fit(j)
    assert m.credit_.to_dict() == pytest.approx({"x": 0.75, "y": 0.25})


def test_time_decay_by_time_hand_computed():
    day = pd.Timedelta("1D").value
    j = make_journeys([[0, 1, 2]], [1], names=["a", "b", "c"],
                      times=np.array([0, 7 * day, 14 * day]))
    m = at.TimeDecay(half_life="7D").fit(j)
    assert m.credit_.to_dict() == pytest.approx({"a": 1 / 7, "b": 2 / 7, "c": 4 / 7})
    # very old touches do not underflow into 0/0
    j = make_journeys([[0, 1]], [1], names=["a", "b"],
                      times=np.array([0, 3000 * day]))
    m = at.TimeDecay(half_life="1D").fit(j)
    assert m.credit_["b"] == pytest.approx(1.0) and np.isfinite(m.credit_).all()


def test_time_decay_on_event_log_uses_conversion_time(sample_journeys):
    j = sample_journeys
    m = at.TimeDecay(half_life="2D").fit(j)
    assert m.credit_.sum() == pytest.approx(j.conversions.sum())
    per_touch = m.transform(j)
    # within a journey, later touches never get less credit, and some get more
    d = per_touch.sort_values(["journey", "conversion", "position"])
    later = d.groupby(["journey", "conversion"])["credit"].diff().dropna()
    assert (later >= -1e-12).all() and (later > 1e-3).any()
    # every touch: 2^(-(T - t) / 2 days) normalised in its journey, T its last touch
    half = pd.Timedelta("2D").value
    w = np.empty(j.n_touches)
    for a, b in zip(j.offsets[:-1], j.offsets[1:], strict=True):
        x = np.exp2(-(j.times[a:b].max() - j.times[a:b]) / half)
        w[a:b] = x / x.sum()
    conv = (j.conversions > 0)[j.touch_journey]
    expected = (w * j.conversions[j.touch_journey])[conv]
    np.testing.assert_allclose(per_touch["credit"], expected, rtol=1e-12, atol=1e-15)


def test_time_decay_without_times_is_a_clear_error(ca_journeys):
    with pytest.raises(at.InputError, match="needs touch timestamps.*by='position'"):
        at.TimeDecay().fit(ca_journeys)


@pytest.mark.parametrize("params", [dict(first=0.7, last=0.5), dict(first=-0.1, last=0.5),
                                    dict(first=0, last=0)])
def test_position_based_bad_params(params, ca_journeys):
    with pytest.raises(at.ParameterError, match="first"):
        at.PositionBased(**params).fit(ca_journeys)


@pytest.mark.parametrize("params", [dict(half_life="soon"), dict(half_life=-1, by="position"),
                                    dict(by="age")])
def test_time_decay_bad_params(params, ca_journeys):
    with pytest.raises(at.ParameterError):
        at.TimeDecay(**params).fit(ca_journeys)


def test_unknown_model_name():
    with pytest.raises(at.UnknownModelError, match="available: .*linear"):
        at.get_model("linearr")


# ---------------------------------------------------------------- half_life and its units
def _events(ts, **kw):
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2], "ts": ts, "tp": ["a", "b", None, "a", None],
                       "conv": [0, 0, 1, 0, 1]})
    return at.Journeys.from_events(df, journey="user", time="ts", touchpoint="tp",
                                   conversion="conv", **kw)


DAYS = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-09", "2024-01-01", "2024-01-02"])


@pytest.mark.parametrize("half_life", [7, 7.0, "7", np.int64(7)])
def test_time_decay_unitless_half_life_on_datetimes_is_an_error(half_life):
    # half_life=7 used to be 7 nanoseconds: all credit to the last touch
    with pytest.raises(at.ParameterError, match="half_life=.*has no unit.*'7D'"):
        at.TimeDecay(half_life=half_life).fit(_events(DAYS))


def test_time_decay_on_epoch_seconds_uses_days_not_seconds():
    # integer epochs used to be "numeric": the default half-life was one second
    seconds = DAYS.to_numpy().astype("datetime64[s]").astype(np.int64)
    by_dates = at.TimeDecay().fit(_events(DAYS)).credit_
    by_epochs = at.TimeDecay().fit(_events(seconds, time_unit="s")).credit_
    pd.testing.assert_series_equal(by_epochs, by_dates)
    # a 7 days old touch gets half the weight of the last one: a 1/3, b 2/3 (journey 1)
    assert by_dates["b"] == pytest.approx(2 / 3 + 0) and by_dates["a"] == pytest.approx(1 / 3 + 1)


def test_time_decay_on_steps_counts_steps():
    j = _events([0, 2, 3, 0, 1], time_unit="step")
    m = at.TimeDecay(half_life=2).fit(j)
    assert m.credit_["b"] == pytest.approx(2 / 3) and m.credit_["a"] == pytest.approx(1 / 3 + 1)
    assert at.TimeDecay(half_life="2").fit(j).credit_.equals(m.credit_)
    with pytest.raises(at.ParameterError, match="half_life='2D' is not a number of steps"):
        at.TimeDecay(half_life="2D").fit(j)
    with pytest.raises(at.ParameterError, match="by='position' counts steps"):
        at.TimeDecay(half_life="2D", by="position").fit(_events(DAYS))


@pytest.mark.parametrize("half_life", [0, -1, "0D", "-2D", np.inf, True, [1]])
def test_time_decay_half_life_must_be_positive(half_life):
    with pytest.raises(at.ParameterError, match="half_life"):
        at.TimeDecay(half_life=half_life).fit(_events(DAYS))
