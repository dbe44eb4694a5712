"""Spend efficiency: CPA and ROAS per entity, against hand-computed small cases."""

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.inference.bootstrap import BootstrapReplicates

# last touch: a gets the "a" journeys (2 conv, 20) ; b gets "b" and "a > b" (1 + 1, 30 + 10)
PATHS = pd.DataFrame({"path": ["a", "b", "a > b", "c"],
                      "total_conversions": [2.0, 1.0, 1.0, 0.0],
                      "total_conversion_value": [20.0, 30.0, 10.0, 0.0],
                      "total_null": [1.0, 1.0, 0.0, 3.0]})


@pytest.fixture
def last():
    j = at.Journeys.from_paths(PATHS, value="total_conversion_value")
    return at.get_model("last").fit(j).result_


def row(frame, entity, period=None):
    sel = frame["entity"] == entity
    if period is not None:
        sel &= frame["period"].astype(str) == period
    assert sel.sum() == 1
    return frame[sel].iloc[0]


def test_cpa_roas_by_hand(last):
    spend = pd.DataFrame({"channel": ["a", "b"], "cost": [10.0, 40.0]})
    out = last.efficiency(spend)
    a, b = row(out, "a"), row(out, "b")
    assert (a.conversions, a.value, a.cost) == (2.0, 20.0, 10.0)
    assert a.cpa == pytest.approx(5.0) and a.roas == pytest.approx(2.0)
    assert (b.conversions, b.value) == (2.0, 40.0)
    assert b.cpa == pytest.approx(20.0) and b.roas == pytest.approx(1.0)
    assert a.status == b.status == "ok" and a.basis == "total"


def test_nothing_dropped(last):
    """Credit without spend, spend without credit and spend on an unknown name all listed."""
    spend = pd.DataFrame({"channel": ["a", "c", "z"], "cost": [10.0, 5.0, 7.0]})
    out = last.efficiency(spend)
    assert sorted(out["entity"]) == ["a", "b", "c", "z"]
    b, c, z = row(out, "b"), row(out, "c"), row(out, "z")
    assert b.status == "no spend" and np.isnan(b.cost) and np.isnan(b.cpa)
    assert b.conversions == 2.0
    assert c.status == "no credit" and c.cpa == np.inf and c.roas == 0.0
    assert z.status == "unknown" and z.conversions == 0.0 and z.cpa == np.inf
    assert list(out["entity"]) == ["a", "b", "c", "z"]  # result order, unknown names last


def test_zero_cost(last):
    out = last.efficiency(pd.DataFrame({"channel": ["a"], "cost": [0.0]}))
    a = row(out, "a")
    assert a.status == "zero cost" and a.cpa == 0.0 and a.roas == np.inf


def test_touchpoint_result_rolls_up_to_channel_spend():
    j = at.Journeys.from_paths(PATHS, value="total_conversion_value",
                               channel_map={"a": "x", "b": "x", "c": "y"})
    r = at.get_model("last").fit(j).result_
    out = r.efficiency(pd.DataFrame({"channel": ["x", "y"], "cost": [8.0, 1.0]}))
    x = row(out, "x")  # x = a + b: 4 conversions, 60 value
    assert x.conversions == 4.0 and x.cpa == pytest.approx(2.0) and x.roas == pytest.approx(7.5)
    assert row(out, "y").status == "no credit"
    tp = r.efficiency(pd.DataFrame({"touchpoint": ["a"], "cost": [4.0]}))
    assert row(tp, "a").cpa == pytest.approx(2.0) and row(tp, "b").status == "no spend"


def baseline_result():
    return at.AttributionResult(
        model="m", level="channel", names=np.array(["a", "b"], dtype=object),
        conversions=np.array([4.0, 1.0]), value=np.array([40.0, 5.0]),
        exposure=np.ones(2), channel_of=np.arange(2),
        channel_names=np.array(["a", "b"], dtype=object), total_conversions=8.0,
        total_value=75.0, extra={"(baseline)": (3.0, 30.0)},
        diagnostics={"credit": "incremental"})


def test_incremental_credit_by_hand():
    out = baseline_result().efficiency(pd.DataFrame({"channel": ["a", "b"],
                                                     "cost": [20.0, 10.0]}))
    assert set(out["basis"]) == {"incremental"}
    assert row(out, "a").cpa == pytest.approx(5.0)  # 20 / 4 incremental conversions
    assert row(out, "b").roas == pytest.approx(0.5)  # 5 / 10
    base = row(out, "(baseline)")
    assert base.status == "baseline" and base.conversions == 3.0 and np.isnan(base.cpa)
    assert out["entity"].iloc[-1] == "(baseline)"


def test_intervals_from_replicates_by_hand():
    r = baseline_result()
    # three replicates; alpha=0.5: (B + 1) q = 1 and 3, the smallest and largest replicate
    r.bootstrap_ = BootstrapReplicates(
        ["a", "b", "(baseline)"], np.array([[1.0, 0.0, 3], [2.0, 1.0, 3], [4.0, 2.0, 3]]),
        np.array([[10.0, 0.0, 30], [20.0, 5.0, 30], [40.0, 9.0, 30]]), "multinomial", 0)
    out = r.efficiency(pd.DataFrame({"channel": ["a", "b"], "cost": [8.0, 10.0]}), alpha=0.5)
    a, b = row(out, "a"), row(out, "b")
    assert (a.cpa_lower, a.cpa_upper) == pytest.approx((8.0 / 4, 8.0 / 1))
    assert (a.roas_lower, a.roas_upper) == pytest.approx((10.0 / 8, 40.0 / 8))
    assert b.cpa_lower == pytest.approx(10.0 / 2) and b.cpa_upper == np.inf  # credit 0 in one
    assert np.isnan(row(out, "(baseline)").cpa_lower)


def test_real_bootstrap_interval_brackets_estimate(ca_journeys):
    m = at.get_model("linear")
    at.bootstrap(m, ca_journeys, n_boot=50, random_state=1)
    spend = pd.DataFrame({"channel": ["a", "b", "c", "d"], "cost": [10.0, 20.0, 5.0, 1.0]})
    out = m.result_.efficiency(spend)
    assert (out["cpa_lower"] <= out["cpa"]).all() and (out["cpa"] <= out["cpa_upper"]).all()
    assert (out["roas_lower"] <= out["roas"]).all() and (out["roas"] <= out["roas_upper"]).all()


EVENTS = pd.DataFrame({
    "user": ["u1", "u1", "u2", "u2", "u3", "u3", "u3"],
    "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-03 10:00",
                          "2024-01-09 10:00", "2024-01-08 10:00", "2024-01-09 11:00",
                          "2024-01-10 10:00"]),
    "tp": ["a", None, "b", None, "a", "b", None],
    "conv": [0, 1, 0, 1, 0, 0, 1], "rev": [0, 10, 0, 30, 0, 0, 20.0]})


@pytest.fixture
def weekly():
    """Last touch on two weeks: week 1 a (1 conv, 10); week 2 b (u2: 1, 30; u3: 1, 20) — u2's
    touch is in week 1 but its conversion in week 2."""
    j = at.Journeys.from_events(EVENTS, journey="user", time="ts", touchpoint="tp",
                                conversion="conv", value="rev")
    m = at.get_model("last").fit(j)
    return m.result_, m.transform(j)


@pytest.mark.parametrize("periods, freq", [
    (["2024-01-01/2024-01-07"] * 2 + ["2024-01-08/2024-01-14"] * 2, None),
    (["2024-01-01"] * 2 + ["2024-01-08"] * 2, "W"),
    (["2024-01-03"] * 2 + ["2024-01-14"] * 2, "week"),  # any date in the week
    (pd.period_range("2024-01-01", periods=2, freq="W").repeat(2), None),
])
def test_spend_matched_per_week_by_hand(weekly, periods, freq):
    r, touches = weekly
    spend = pd.DataFrame({"channel": ["a", "b"] * 2, "period": periods,
                          "cost": [5.0, 7.0, 3.0, 10.0]})
    out = r.efficiency(spend, touches=touches, freq=freq)
    w1, w2 = "2024-01-01/2024-01-07", "2024-01-08/2024-01-14"
    a1, b1, a2, b2 = row(out, "a", w1), row(out, "b", w1), row(out, "a", w2), row(out, "b", w2)
    assert a1.cpa == pytest.approx(5.0) and a1.roas == pytest.approx(2.0) and a1.status == "ok"
    assert b1.status == "no credit" and b1.cpa == np.inf and b1.roas == 0.0
    assert a2.status == "no credit" and a2.cost == 3.0
    assert b2.conversions == 2.0 and b2.cpa == pytest.approx(5.0) and b2.roas == 5.0
    assert len(out) == 4


def test_month_spend_on_weekly_data(weekly):
    r, touches = weekly
    out = r.efficiency(pd.DataFrame({"channel": ["a", "b"], "period": ["2024-01", "2024-01"],
                                     "cost": [4.0, 6.0]}), touches=touches)
    assert row(out, "a", "2024-01").cpa == pytest.approx(4.0)
    assert row(out, "b", "2024-01").roas == pytest.approx(50.0 / 6.0)


def test_period_outside_spend_listed(weekly):
    r, touches = weekly
    out = r.efficiency(pd.DataFrame({"channel": ["b"], "period": ["2024-01-08"],
                                     "cost": [4.0]}), touches=touches, freq="W")
    assert row(out, "a", "2024-01-01/2024-01-07").status == "no spend"
    assert row(out, "b", "2024-01-08/2024-01-14").cpa == pytest.approx(2.0)


@pytest.mark.parametrize("spend, kw, error, words", [
    (pd.DataFrame({"channel": ["a"], "costs": [1.0]}), {}, at.MissingColumnError, "cost"),
    (pd.DataFrame({"name": ["a"], "cost": [1.0]}), {}, at.MissingColumnError, "'channel'"),
    (pd.DataFrame({"channel": ["a", "b"], "cost": [1.0, -2.0]}, index=[10, 11]), {},
     at.InputError, "11"),
    (pd.DataFrame({"channel": ["a", "b", "a"], "cost": [1.0, 2.0, 3.0]}), {}, at.InputError,
     "groupby"),
    (pd.DataFrame({"channel": ["a", None], "cost": [1.0, 2.0]}), {}, at.InputError,
     "missing"),
    (pd.DataFrame({"channel": ["a"], "cost": ["1"]}), {}, at.ColumnTypeError, "to_numeric"),
    (pd.DataFrame({"channel": ["a"], "period": ["2024-01"], "cost": [1.0]}), {},
     at.ParameterError, "touches=model.transform"),
    (pd.DataFrame({"channel": ["a"], "cost": [1.0]}), {"freq": "W"}, at.ParameterError,
     "period"),
    (pd.DataFrame({"channel": ["a"], "cost": [1.0]}), {"alpha": 2}, at.ParameterError,
     "alpha"),
])
def test_bad_spend_tables(last, spend, kw, error, words):
    with pytest.raises(error, match=words):
        last.efficiency(spend, **kw)


def test_touchpoint_spend_on_channel_result(last):
    with pytest.raises(at.ParameterError, match="level='touchpoint'"):
        last.efficiency(pd.DataFrame({"touchpoint": ["a"], "cost": [1.0]}))


@pytest.mark.parametrize("periods, freq, words", [
    (["2024-01", "garbage"], None, "row 1 holds 'garbage'"),
    (["2024-01", "2024-01-08"], None, "mixes"),
    (["2024-01", "2024-02"], "W", "freq='W-SUN'"),
    (["2024-01-01 10:00", "2024-01-02 10:00"], None, "freq='D'"),
    (["2024-01-01", "2024-01-03"], "W", "2 rows"),  # two dates in one week: duplicate rows
    (["2024-01-01", "2024-01-08"], "fortnight", "freq must be"),
])
def test_bad_periods(weekly, periods, freq, words):
    r, touches = weekly
    spend = pd.DataFrame({"channel": ["a", "a"], "period": periods, "cost": [1.0, 2.0]})
    with pytest.raises((at.InputError, at.ParameterError), match=words):
        r.efficiency(spend, touches=touches, freq=freq)
