"""Hostile model parameters and data: every case is an AttributionError of the right class
whose message names the culprit, or a result whose totals are asserted exactly.

Items of the issue "No silent wrong answers": per-touch credit adds up to what the model
reports, the infeasible part of Markov's balance on ``(unallocated)`` rows (7); value on
journeys without conversions, sampled Shapley without a seed, an entity left out of every
bag (8); entities unseen at fit met by ``transform`` (``unseen="error"|"separate"``).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.journeys.validation import InputError, ParameterError
from tests.conftest import CA_PATHS, make_journeys

MODELS = ["first", "last", "linear", "position", "time_decay", "markov", "shapley", "logistic",
          "shao_li"]
STATEFUL = ["markov", "shapley", "logistic", "shao_li"]  # refuse entities unseen at fit
PARAMS = {"time_decay": dict(by="position")}


def model(name, **kw):
    return at.get_model(name, **{**PARAMS.get(name, {}), **kw})


def quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        return fn()


def ca():
    return at.Journeys.from_paths(CA_PATHS, value="total_conversion_value")


def per_entity(t, col="touchpoint"):
    touches = t[t["position"] >= 0]
    return touches.groupby(touches[col].astype(str))[["credit", "value_credit"]].sum()


# -- bad parameters: ParameterError whose message starts with the parameter's name -----------
BAD = [
    ("markov", dict(order=0), "order"), ("markov", dict(order="high"), "order"),
    ("markov", dict(order=True), "order"), ("markov", dict(order=2.5), "order"),
    ("markov", dict(max_order=0), "max_order"), ("markov", dict(n_folds=1), "n_folds"),
    ("markov", dict(penalty=-1.0), "penalty"), ("markov", dict(penalty="1"), "penalty"),
    ("markov", dict(smoothing=float("nan")), "smoothing"),
    ("markov", dict(ipf_tol=0.0), "ipf_tol"), ("markov", dict(ipf_tol="1e-10"), "ipf_tol"),
    ("markov", dict(ipf_max_iter=0), "ipf_max_iter"),
    ("markov", dict(collapse_repeats="no"), "collapse_repeats"),
    ("markov", dict(random_state=-1), "random_state"),
    ("markov", dict(random_state="seed"), "random_state"),
    ("logistic", dict(features="bits"), "features"), ("logistic", dict(features=["count"]),
                                                      "features"),
    ("logistic", dict(C="1"), "C"), ("logistic", dict(C=float("nan")), "C"),
    ("logistic", dict(C=0), "C"), ("logistic", dict(n_estimators=0), "n_estimators"),
    ("logistic", dict(n_estimators=2.0), "n_estimators"),
    ("logistic", dict(max_samples=1.5), "max_samples"),
    ("logistic", dict(max_features=0), "max_features"),
    ("logistic", dict(max_features="half"), "max_features"),
    ("logistic", dict(credit="all"), "credit"), ("logistic", dict(max_exact=21), "max_exact"),
    ("logistic", dict(max_exact=True), "max_exact"),
    ("logistic", dict(n_permutations=1), "n_permutations"),
    ("logistic", dict(clip="yes"), "clip"), ("logistic", dict(inference=1), "inference"),
    ("logistic", dict(n_jobs=0), "n_jobs"), ("logistic", dict(n_jobs="2"), "n_jobs"),
    ("logistic", dict(random_state=1.5), "random_state"),
    ("shapley", dict(value="coalitions"), "value"), ("shapley", dict(prior=-1), "prior"),
    ("shapley", dict(prior="1"), "prior"), ("shapley", dict(ordered="yes"), "ordered"),
    ("shapley", dict(estimator=object()), "estimator"), ("shapley", dict(n_jobs=1.5), "n_jobs"),
    ("position", dict(first="0.4"), "first"), ("position", dict(last=float("nan")), "last"),
    ("position", dict(first=-0.1), "first"),
    ("time_decay", dict(by="steps"), "by"),
    ("linear", dict(level="campaign"), "level"), ("shao_li", dict(level=np.str_("x")), "level"),
]


@pytest.mark.parametrize("name, params, param", BAD,
                         ids=[f"{n}-{p}-{i}" for i, (n, _, p) in enumerate(BAD)])
def test_bad_parameter_names_itself(name, params, param):
    with pytest.raises(ParameterError, match=f"^{param} must") as info:
        at.get_model(name, **params).fit(ca())
    assert "np.str_" not in str(info.value) and "\n" not in str(info.value)


def test_position_shares_over_one():
    with pytest.raises(ParameterError, match=r"first \+ last <= 1, got first=0.7, last=0.7"):
        at.PositionBased(first=0.7, last=0.7).fit(ca())


@pytest.mark.parametrize("name", MODELS)
def test_bad_unseen_option(name):
    m = quiet(lambda: model(name).fit(ca()))
    with pytest.raises(ParameterError, match="^unseen must be one of 'error', 'separate'"):
        m.transform(ca(), unseen="drop")
    with pytest.raises(ParameterError, match="^unseen must"):
        m.scorer(unseen=None)


# -- entities unseen at fit ------------------------------------------------------------------
def new_day():
    """Channels b and seven new ones (the models are fitted on the channels of the
    ChannelAttribution table); the second journey touches only known ones."""
    names = ["b", *(f"new{i}" for i in range(7)), "a"]
    return make_journeys([[1, 0, 2], [0, 8], [3, 4, 5, 6, 7]], [1, 2, 0], [0, 0, 1],
                         value=[10.0, 4.0, 0.0], names=[np.str_(n) for n in names])


@pytest.mark.parametrize("name", STATEFUL)
def test_unseen_entities_are_named_in_the_error(name):
    m = quiet(lambda: model(name).fit(ca()))
    with pytest.raises(InputError) as info:
        m.transform(new_day())
    msg = str(info.value)
    assert msg.startswith("channels 'new0', 'new1', 'new2', 'new3', 'new4' (and 2 more) were "
                          f"not in the data {type(m).__name__} was fitted on")
    assert "np.str_" not in msg and "unseen='separate'" in msg
    with pytest.raises(InputError, match="^channels 'new0'"):
        m.scorer()(new_day())


@pytest.mark.parametrize("name", STATEFUL)
def test_unseen_separate_keeps_their_journeys_apart(name):
    m = quiet(lambda: model(name).fit(ca()))
    t = quiet(lambda: m.transform(new_day(), unseen="separate"))
    first = t[t["journey"] == 0]  # new0 > b > new1: all of it on (unseen), 0 on touches
    assert first["credit"].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert first["value_credit"].tolist() == [0.0, 0.0, 0.0, 10.0]
    assert first["channel"].astype(str).tolist() == ["new0", "b", "new1", "(unseen)"]
    # the journey of known touchpoints gets what it gets without the others
    alone = quiet(lambda: m.transform(make_journeys([[0, 1]], [2], [0], value=[4.0],
                                                    names=["b", "a"])))
    got = t[t["journey"] == 1].reset_index(drop=True)
    np.testing.assert_allclose(got["credit"], alone["credit"], rtol=1e-12)
    assert t.attrs["unseen"] == dict(journeys=2, conversions=1.0, value=10.0,
                                     names=[f"new{i}" for i in range(7)])
    assert t["credit"].sum() == pytest.approx(3.0) and t["value_credit"].sum() == 14.0
    same = quiet(lambda: m.scorer(unseen="separate")(new_day()))
    pd.testing.assert_frame_equal(same, t)


def test_unseen_channel_at_channel_level():
    m = quiet(lambda: at.Shapley(value="model", level="channel").fit(ca()))
    j = make_journeys([[0, 1], [1]], [1, 1], [0, 1], names=["a", "tv"])
    with pytest.raises(InputError, match="^channel 'tv' was not in the data Shapley"):
        m.transform(j)
    t = m.transform(j, unseen="separate")
    assert t["channel"].astype(str).tolist() == ["a", "tv", "tv", "(unseen)", "(unseen)"]
    assert t["credit"].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_unseen_names_no_journey_touches_are_no_error():
    m = quiet(lambda: at.MarkovChain().fit(ca()))
    j = new_day().select([1])  # knows new0..new6, touches b and a only
    t = quiet(lambda: m.transform(j))
    assert t["credit"].sum() == pytest.approx(2.0) and "unseen" not in t.attrs
    alone = make_journeys([[0, 1]], [2], [0], value=[4.0], names=["b", "a"])
    np.testing.assert_allclose(t["credit"], quiet(lambda: m.transform(alone))["credit"],
                               rtol=1e-12)


def test_heuristics_score_unseen_entities_either_way():
    m = at.LastTouch().fit(ca())
    a, b = m.transform(new_day()), m.transform(new_day(), unseen="separate")
    pd.testing.assert_frame_equal(a, b)
    assert a.groupby("journey")["credit"].sum().tolist() == [1.0, 2.0]
    assert "unseen" not in a.attrs


# -- one-class and empty outcomes ------------------------------------------------------------
def test_every_journey_converts():
    j = make_journeys([[0, 1], [1], [0]], [1, 2, 1], [0, 0, 0], value=[3.0, 4.0, 5.0])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        m = at.Logistic().fit(j)  # no model: total credit is (unattributed)
    assert [str(w.message)[:40] for w in seen] == [
        "the journeys have only one outcome (all ", "3 journey set(s) with 4 conversions have"]
    assert m.credit_.sum() == 0 and m.result_.extra["(unattributed)"] == (4.0, 12.0)
    t = quiet(lambda: m.transform(j))
    assert t.loc[t["position"] < 0, "credit"].sum() == 4.0
    assert t["touchpoint"].astype(str).iloc[-1] == "(unattributed)"


def test_no_journey_converts():
    j = make_journeys([[0, 1], [1]], [0, 0], [2, 3])
    for name in ("markov", "logistic", "shapley"):
        m = quiet(lambda name=name: model(name, **({"value": "model"} if name == "shapley"
                                                     else {})).fit(j))
        assert (m.credit_ == 0).all() and m.result_.total_conversions == 0
        t = m.transform(j)
        assert len(t) == 0 and list(t.columns) == ["journey", "conversion_id", "position",
                                                   "touchpoint", "channel", "credit",
                                                   "value_credit"]


@pytest.mark.parametrize("name", MODELS)
def test_value_without_conversions_is_credited_by_transform_too(name):
    # journey 1 has value 6 but no conversion: fit credits its value, so transform must too
    j = make_journeys([[0, 1], [1, 2], [2]], [1, 0, 1], [1, 2, 1], value=[4.0, 6.0, 2.0],
                      names=["a", "b", "c"])
    m = quiet(lambda: model(name).fit(j))
    t = quiet(lambda: m.transform(j))
    assert t["value_credit"].sum() == pytest.approx(12.0, rel=1e-12)
    assert t.groupby("journey")["value_credit"].sum().tolist() == pytest.approx([4, 6, 2])
    assert t.groupby("journey")["credit"].sum().tolist() == pytest.approx([1, 0, 1], abs=1e-12)
    lost = getattr(m, "unallocated_", pd.DataFrame({"value": 0.0}, index=m.credit_.index))
    by = per_entity(t).reindex(m.credit_.index, fill_value=0.0)
    np.testing.assert_allclose(by["value_credit"] + lost["value"], m.value_credit_,
                               rtol=1e-9, atol=1e-9)


# -- Markov: credit that no split of the journeys can put on touches -------------------------
def test_markov_entity_only_in_non_converting_journeys():
    # a > b converts once (one null), z > b never: credit_ = (1/4, 1/2, 1/4), z's quarter
    # cannot be on any touch: the journey a > b keeps 3/4 on touches, 1/4 is (unallocated)
    j = make_journeys([[0, 1], [2, 1]], [1, 0], [1, 2], value=[8.0, 0.0], names=["a", "b", "z"])
    m = at.MarkovChain().fit(j)
    with pytest.warns(at.AttributionWarning, match=r"0\.25 of 1 conversions and 2 of 8 value "
                                                   r"cannot be put on touches \(most owed to z;"):
        t = m.transform(j)
    assert t["credit"].tolist() == [0.25, 0.5, 0.25]
    assert t["value_credit"].tolist() == [2.0, 4.0, 2.0]
    assert m.unallocated_.to_dict("index") == {"a": {"conversion": 0.0, "value": 0.0},
                                               "b": {"conversion": 0.0, "value": 0.0},
                                               "z": {"conversion": 0.25, "value": 2.0}}


def test_markov_single_touch_repeat_buyers_exact_totals():
    # c alone converts 3 times, a > b once: credit_ (0.8, 0.8, 2.4); the journey c keeps 2.4
    j = make_journeys([[2], [0, 1], [2]], [2, 1, 1], [0, 0, 0], names=["a", "b", "c"])
    m = at.MarkovChain().fit(j)
    t = quiet(lambda: m.transform(j))
    assert t.groupby("journey")["credit"].sum().tolist() == pytest.approx([2, 1, 1], abs=1e-15)
    by = t.groupby(t["touchpoint"].astype(str))["credit"].sum()
    assert by.to_dict() == pytest.approx({"(unallocated)": 0.6, "a": 0.5, "b": 0.5, "c": 2.4},
                                         abs=1e-12)
    assert (by.drop("(unallocated)") + m.unallocated_["conversion"]).to_dict() == \
        pytest.approx(m.credit_.to_dict(), abs=1e-12)
    assert "unallocated per touch (conversion): 0.6 (15.00%)" in str(m.result_.summary())


def test_markov_unallocated_in_chunks_matches_the_whole():
    j = make_journeys([[2], [0, 1], [2], [0, 2], [1]], [2, 1, 1, 0, 0], [0, 0, 0, 1, 2],
                      names=["a", "b", "c"])
    m = at.MarkovChain().fit_partitions([j.select([0, 1]).aggregate(),
                                         j.select([2, 3, 4]).aggregate()], 5)
    whole = quiet(lambda: m.transform(j))
    score = m.scorer()
    parts = [quiet(lambda idx=idx: score(j.select(idx))) for idx in ([0, 1], [2, 3, 4])]
    assert parts[0]["credit"].tolist() == whole[whole["journey"] < 2]["credit"].tolist()
    assert sum(p["credit"].sum() for p in parts) == pytest.approx(4.0, abs=1e-12)


# -- the same answer for the same seed --------------------------------------------------------
@pytest.mark.parametrize("name", ["shapley", "logistic"])
def test_sampled_shapley_without_seed_transforms_what_fit_credited(name):
    j = make_journeys([[0, 1, 2, 3], [1, 2, 3, 0], [2, 0], [3, 1, 2]], [2, 1, 1, 0],
                      [1, 2, 1, 3], value=[5.0, 2.0, 1.0, 0.0])
    kw = dict(max_exact=2, n_permutations=4, random_state=None)
    m = quiet(lambda: model(name, **({"value": "model"} if name == "shapley" else {}),
                            **kw).fit(j))
    assert isinstance(m.seed_, int)
    t = quiet(lambda: m.transform(j))
    by = per_entity(t).reindex(m.credit_.index)
    np.testing.assert_allclose(by["credit"], m.credit_, rtol=1e-12, atol=1e-12)
    again = quiet(lambda: m.transform(j))
    pd.testing.assert_frame_equal(again, t, check_exact=True)


def test_generator_random_state_is_drawn_once():
    j = make_journeys([[0, 1, 2, 3], [1, 2, 3, 0], [2, 0]], [2, 1, 1], [1, 2, 1])
    m = quiet(lambda: at.Logistic(max_exact=2, n_permutations=4,
                                  random_state=np.random.default_rng(5)).fit(j))
    t1, t2 = quiet(lambda: m.transform(j)), quiet(lambda: m.transform(j))
    pd.testing.assert_frame_equal(t1, t2, check_exact=True)


def test_entity_in_no_bag_keeps_the_totals():
    j = make_journeys([[0], [1], [0, 1]], [1, 1, 2], [1, 2, 1], names=["a", "b"])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        m = at.Logistic(max_features=0.5, random_state=0).fit(j)
    assert any("drawn by no bag" in str(w.message) for w in seen)
    assert m.result_.to_frame()["conversions"].sum() == pytest.approx(4.0, abs=1e-12)
    t = quiet(lambda: m.transform(j))
    assert t["credit"].sum() == pytest.approx(4.0, abs=1e-12)
