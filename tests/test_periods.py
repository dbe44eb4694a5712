"""Credit by period of conversion, and the conversion id and time of per-touch credit."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

import attribution as at
from attribution.periods import by_period
from tests.conftest import journeys_strategy

EVENTS = pd.DataFrame({
    "user": ["u1", "u1", "u2", "u2", "u3", "u3", "u3", "u3", "u3"],
    "ts": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-03 10:00",
                          "2024-01-09 10:00", "2024-01-08 10:00", "2024-01-09 11:00",
                          "2024-01-10 10:00", "2024-01-11 10:00", "2024-01-12 10:00"]),
    "tp": ["a", None, "b", None, "a", "b", None, "a", None],
    "conv": [0, 1, 0, 1, 0, 0, 1, 0, 1], "rev": [0, 10, 0, 30, 0, 0, 20.0, 0, 4.0]})
COLS = dict(journey="user", time="ts", touchpoint="tp", conversion="conv", value="rev")


def journeys(events=EVENTS, **kw):
    return at.Journeys.from_events(events, **COLS, **kw)


def test_transform_carries_conversion_time_and_id():
    j = journeys()
    t = at.get_model("linear").fit(j).transform(j)
    conv_rows = EVENTS[EVENTS["conv"] == 1]
    want = dict(zip(zip(conv_rows["user"], [0, 0, 0, 1], strict=True), conv_rows["ts"],
                    strict=True))
    got = t.groupby(["journey", "conversion"])["conversion_time"].agg(["min", "max"])
    assert (got["min"] == got["max"]).all() and got["min"].to_dict() == want
    ids = t.groupby(["journey", "conversion"])["conversion_id"].nunique()
    assert (ids == 1).all() and t["conversion_id"].nunique() == 4


def test_conversion_id_is_stable():
    """Same ids whatever the row order, and for ids read as numbers or as text."""
    a = journeys()
    t1 = at.get_model("last").fit(a).transform(a)
    shuffled = EVENTS.sample(frac=1, random_state=3)
    b = journeys(shuffled)
    t2 = at.get_model("last").fit(b).transform(b)
    key = ["journey", "conversion"]
    pd.testing.assert_frame_equal(
        t1.drop_duplicates(key)[[*key, "conversion_id"]].reset_index(drop=True),
        t2.drop_duplicates(key)[[*key, "conversion_id"]].reset_index(drop=True))
    num = EVENTS.assign(user=EVENTS["user"].str[1:].astype(int))
    txt = EVENTS.assign(user=EVENTS["user"].str[1:])
    ids = [at.get_model("last").fit(x).transform(x)["conversion_id"].to_numpy()
           for x in (journeys(num), journeys(txt))]
    np.testing.assert_array_equal(*ids)


def test_weeks_by_hand():
    """Last touch: week 1: u1 -> a (1, 10); week 2: u2 -> b (1, 30, touch in week 1), u3 -> b
    (1, 20) then a (1, 4)."""
    j = journeys()
    m = at.get_model("last").fit(j)
    out = m.result_.by_period("W", touches=m.transform(j))
    got = {(str(p), e): (c, v) for p, e, c, v in
           out[["period", "entity", "conversions", "value"]].itertuples(index=False)}
    w1, w2 = "2024-01-01/2024-01-07", "2024-01-08/2024-01-14"
    assert got == {(w1, "a"): (1.0, 10.0), (w2, "a"): (1.0, 4.0), (w2, "b"): (2.0, 50.0)}
    share = out.set_index(["entity"])[out["period"].astype(str).to_numpy() == w2]["share"]
    assert share.to_dict() == pytest.approx({"a": 1 / 3, "b": 2 / 3})


def test_linear_days_by_hand():
    j = journeys()
    m = at.get_model("linear").fit(j)
    out = by_period(m.transform(j), "day")
    got = {(str(p), e): c for p, e, c in out[["period", "entity", "conversions"]].itertuples(
        index=False)}
    assert got == pytest.approx({("2024-01-02", "a"): 1.0, ("2024-01-09", "b"): 1.0,
                                 ("2024-01-10", "a"): 0.5, ("2024-01-10", "b"): 0.5,
                                 ("2024-01-12", "a"): 1.0})


def test_periods_in_the_time_zone():
    """A conversion at 00:30 on 1 February in Paris is 23:30 on 31 January in UTC."""
    ev = pd.DataFrame({"user": [1, 1], "ts": ["2024-01-31 20:00", "2024-02-01 00:30"],
                       "tp": ["a", None], "conv": [0, 1], "rev": [0.0, 5.0]})
    j = journeys(ev, tz="Europe/Paris")
    m = at.get_model("last").fit(j)
    out = m.result_.by_period("M", touches=m.transform(j))
    assert out["period"].astype(str).tolist() == ["2024-02"]


@pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
def test_remainder_rows_per_period_and_channel_level():
    """Logistic on journeys that all convert credits nothing to touches: each conversion's
    credit is on an (unattributed) row, in its own period, listed after the entities."""
    j = journeys()
    m = at.get_model("logistic").fit(j)
    out = by_period(m.transform(j), "W", level="channel", entities=["b", "a"])
    rest = out[out["entity"] == "(unattributed)"]
    assert rest["conversions"].tolist() == [1.0, 3.0] and rest["value"].tolist() == [10.0, 54.0]
    assert out.groupby("period")["entity"].last().eq("(unattributed)").all()
    week2 = out[out["period"].astype(str) == "2024-01-08/2024-01-14"]["entity"].tolist()
    assert week2 == ["b", "a", "(unattributed)"]  # in the order of entities


@pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
@pytest.mark.parametrize("name", ["linear", "time_decay", "markov", "shapley", "logistic",
                                  "additive_hazard"])
@settings(max_examples=15, deadline=None)
@given(j=journeys_strategy(with_times=True, touchpoints=True))
def test_period_sums_equal_totals(name, j):
    """Summed over periods, the credit of each entity (and of rows such as (baseline)) is the
    per-touch credit's, and so the model's: per-period credit is a partition of the totals."""
    m = at.get_model(name).fit(j)
    r, t = m.result_, m.transform(j)
    per_touch = t.groupby(t["touchpoint"].astype(str))[["credit", "value_credit"]].sum()
    per_touch.columns = ["conversions", "value"]
    for freq in ("h", "D", "W"):
        out = r.by_period(freq, touches=t)
        sums = out.groupby("entity")[["conversions", "value"]].sum()
        np.testing.assert_allclose(sums.reindex(per_touch.index), per_touch, rtol=1e-12,
                                   atol=1e-12)
        shares = out.groupby("period")["share"].sum()
        per = out.groupby("period")["conversions"].sum()
        np.testing.assert_allclose(shares[per != 0], 1.0, rtol=1e-12)
    if "(unallocated)" not in per_touch.index:  # else the credit off the touches is there
        want = r.to_frame().set_index("entity")[["conversions", "value"]]
        both = want.index.union(per_touch.index)
        np.testing.assert_allclose(per_touch.reindex(both, fill_value=0.0),
                                   want.reindex(both, fill_value=0.0), rtol=1e-9, atol=1e-9)


def test_numeric_times_take_a_number_of_steps():
    ev = pd.DataFrame({"user": [1, 1, 2, 2], "ts": [0, 3, 5, 12], "tp": ["a", None, "b", None],
                       "conv": [0, 1, 0, 1], "rev": [0.0, 1.0, 0.0, 2.0]})
    j = journeys(ev, time_unit="step")
    m = at.get_model("last").fit(j)
    out = m.result_.by_period(10, touches=m.transform(j))
    assert out[["period", "entity", "conversions"]].values.tolist() == [[0, "a", 1.0],
                                                                        [1, "b", 1.0]]
    with pytest.raises(at.ParameterError, match="whole number of steps"):
        m.result_.by_period("W", touches=m.transform(j))


def test_errors(ca_journeys):
    m = at.get_model("last").fit(ca_journeys)
    with pytest.raises(at.InputError, match="needs journeys with times"):
        m.result_.by_period("W", touches=m.transform(ca_journeys))
    with pytest.raises(at.ParameterError, match="touches=model.transform"):
        m.result_.by_period("W")
    j = journeys()
    t = at.get_model("last").fit(j).transform(j)
    for bad in ("2W", "fortnight", 7):
        with pytest.raises(at.ParameterError, match="freq"):
            by_period(t, bad)
    with pytest.raises(at.InputError, match="no 'touchpoint' column"):
        by_period(t.drop(columns="touchpoint"), "W", level="touchpoint")


def test_touches_of_another_model_are_refused(sample_journeys):
    """by_period labels the touches' credit with this result's name: another model's touches
    would be reported as this model's, so they are refused, naming an entity that differs."""
    lin = at.Linear().fit(sample_journeys)
    other = at.LastTouch().fit(sample_journeys).transform(sample_journeys)
    with pytest.raises(at.InputError, match="do not add up to this result's credit"):
        lin.result_.by_period("M", touches=other)
    out = lin.result_.by_period("M", touches=lin.transform(sample_journeys))
    assert out["conversions"].sum() == pytest.approx(sample_journeys.conversions.sum())
