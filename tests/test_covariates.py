"""Journey covariates: carried by every Journeys operation, checked when read, binned once,
never entities; confounding adjustment in the value models."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.evaluation.scenario import scenario_journeys
from attribution.journeys import merge


def _log():
    """Three persons; u1 converts twice (two journeys), u3 never converts."""
    return pd.DataFrame({
        "user": ["u1", "u1", "u1", "u1", "u1", "u2", "u2", "u3", "u3"],
        "t": [1, 2, 3, 4, 5, 1, 2, 1, 2],
        "tp": ["a", "b", None, "a", None, "a", None, "c", "a"],
        "conv": [0, 0, 1, 0, 1, 0, 1, 0, 0],
        "seg": ["x", "x", "x", "y", "y", "y", "y", "x", "x"],
        "score": [0.1, 0.1, 0.1, 0.7, 0.7, 0.4, 0.4, 0.9, 0.9],
    })


def _read(df, **kw):
    return at.Journeys.from_events(df, "user", "t", "tp", conversion="conv", time_unit="step",
                                   **kw)


def _rows(j):
    """Each journey as (path, covariates, conversions, nulls), for order-free comparison."""
    cov = j.covariates.astype(str).to_numpy().tolist()
    return sorted((tuple(j.names[j.codes[a:b]]), tuple(c), float(cv), float(n))
                  for a, b, c, cv, n in zip(j.offsets[:-1], j.offsets[1:], cov,
                                            j.conversions, j.nulls, strict=True))


def test_from_events_reads_one_value_per_journey():
    j = _read(_log(), covariates=["seg", "score"], covariate_bins=2)
    assert j.covariate_names == ["seg", "score"]
    # score has 3 distinct journey values > 2 bins: cut at its weighted median 0.4
    np.testing.assert_array_equal(j.covariate_edges["score"], [-np.inf, 0.4, np.inf])
    got = {(j.ids[i], int(j.seq[i])): tuple(j.covariates.astype(str).iloc[i])
           for i in range(j.n_journeys)}
    assert got == {("u1", 0): ("x", "[-inf, 0.4)"), ("u1", 1): ("y", "[0.4, inf)"),
                   ("u2", 0): ("y", "[0.4, inf)"), ("u3", 0): ("x", "[0.4, inf)")}
    assert isinstance(j.covariates["seg"].dtype, pd.CategoricalDtype)


def test_covariate_varying_within_a_journey_is_refused_naming_rows():
    df = _log()
    df.loc[3, "seg"] = "z"  # the touch "a" of u1's second journey (closed at row 4: "y")
    with pytest.raises(at.InputError, match=r"'seg' varies within the journey 'u1'.*row 3.*"
                                            r"row 4"):
        _read(df, covariates=["seg"])
    df = _log()
    df.loc[0, "seg"] = "z"  # u1's first touch: in its first journey ...
    with pytest.raises(at.InputError, match="varies within the journey"):
        _read(df, covariates=["seg"])
    # ... unless max_touches drops it: only the touches a journey keeps must agree
    with pytest.warns(at.DroppedDataWarning, match="beyond max_touches"):
        j = _read(df, covariates=["seg"], max_touches=1)
    assert list(j.covariates["seg"].astype(str)) == ["x", "y", "y", "x"]


def test_missing_covariate_is_refused():
    df = _log()
    df.loc[6, "seg"] = None  # u2's conversion row
    with pytest.raises(at.InputError, match=r"'seg' is missing at row\(s\) 6"):
        _read(df, covariates=["seg"])
    with pytest.raises(at.ParameterError, match="journey column"):
        _read(_log(), covariates=["user"])
    with pytest.raises(at.InputError, match="not found"):
        _read(_log(), covariates=["nope"])


def test_carried_by_select_aggregate_transform_level_concat_pickle():
    j = _read(_log(), covariates=["seg", "score"], covariate_bins=2)
    edges = j.covariate_edges
    s = j.select([3, 0])
    assert list(s.ids) == [j.ids[3], j.ids[0]]
    pd.testing.assert_frame_equal(s.covariates, j.covariates.iloc[[3, 0]].reset_index(drop=True))
    for other in (j.transform("collapse"), j.transform("trim", n=1), j.at_level("channel"),
                  pickle.loads(pickle.dumps(j)), j.converting(), j.replace(value=j.conversions)):
        n = other.n_journeys
        pd.testing.assert_frame_equal(other.covariates, j.covariates.iloc[:n]
                                      if n == j.n_journeys else other.covariates)
        assert other.covariate_edges.keys() == edges.keys()
    conv = j.converting()
    pd.testing.assert_frame_equal(conv.covariates, j.covariates[
        (j.conversions > 0)].reset_index(drop=True))
    both = at.Journeys.concat([j, j.select([1])])
    assert both.n_journeys == 5
    pd.testing.assert_frame_equal(both.covariates.iloc[:4], j.covariates)
    np.testing.assert_array_equal(both.covariate_edges["score"], edges["score"])


def test_aggregate_keys_on_path_and_covariates():
    paths = pd.DataFrame({"path": ["a > b", "a > b", "a > b", "c"],
                          "total_conversions": [1, 2, 4, 0], "total_null": [1, 1, 0, 3],
                          "dev": ["m", "d", "m", "m"]})
    j = at.Journeys.from_paths(paths, covariates=["dev"])
    a = j.aggregate()
    assert _rows(a) == [(("a", "b"), ("d",), 2.0, 1.0), (("a", "b"), ("m",), 5.0, 1.0),
                        (("c",), ("m",), 0.0, 3.0)]
    assert _rows(at.Journeys.from_paths(paths, covariates=["dev"], aggregate=True)) == _rows(a)
    # without the covariate the two a > b rows merge
    assert at.Journeys.from_paths(paths, aggregate=True).n_journeys == 2
    # compact (what per-path models fit on) keeps the (path, covariate) rows
    assert _rows(j.compact()) == _rows(a)[:2]


def test_merge_is_independent_of_the_split():
    j = _read(_log(), covariates=["seg", "score"], covariate_bins={"score": [0.3, 0.6]})
    whole = merge([j])
    for parts in ([j.select([0, 1]), j.select([2, 3])], [j.select([3]), j.select([2, 1, 0])]):
        m = merge(parts)
        np.testing.assert_array_equal(m.codes, whole.codes)
        np.testing.assert_array_equal(m.conversions, whole.conversions)
        pd.testing.assert_frame_equal(m.covariates, whole.covariates)


def test_binning_edges_are_fixed_once_and_reused():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    paths = pd.DataFrame({"path": "a", "total_conversions": 1.0, "total_null": 1.0, "x": x})
    j = at.Journeys.from_paths(paths, covariates=["x"])
    edges = j.covariate_edges["x"]
    np.testing.assert_allclose(edges[1:-1], np.quantile(x, [0.2, 0.4, 0.6, 0.8],
                                                        method="inverted_cdf"))
    counts = j.covariates["x"].value_counts().to_numpy()
    assert len(counts) == 5 and counts.min() >= 199
    # a part keeps the edges of the whole; a new read with the edges cuts at the same places
    part = j.select(np.arange(100))
    np.testing.assert_array_equal(part.covariate_edges["x"], edges)
    again = at.Journeys.from_paths(paths.iloc[:100], covariates=["x"],
                                   covariate_bins=j.covariate_edges)
    pd.testing.assert_frame_equal(again.covariates, part.covariates)
    # parts binned on their own quantiles cannot be concatenated
    alone = at.Journeys.from_paths(paths.iloc[:100], covariates=["x"])
    with pytest.raises(at.InputError, match="'x' was binned with other edges"):
        at.Journeys.concat([j, alone])


def test_row_weights_enter_the_quantiles():
    paths = pd.DataFrame({"path": ["a"] * 6, "total_conversions": [97.0, 1, 1, 1, 0, 0],
                          "total_null": 0.0, "x": [1.0, 2, 3, 4, 5, 6]})
    j = at.Journeys.from_paths(paths, covariates=["x"], covariate_bins=2)
    # the weighted median is 1 (97 of 100 journeys): the edge at the minimum is dropped
    assert j.covariate_edges["x"].tolist() == [-np.inf, np.inf]


def test_covariates_are_never_entities():
    paths = pd.DataFrame({"path": ["a > b", "b", "a"], "total_conversions": [3, 1, 2],
                          "total_null": [2, 5, 4], "seg": ["s", "t", "s"]})
    with pytest.raises(at.InputError, match="name of an entity"):
        at.Journeys.from_paths(paths.rename(columns={"seg": "a"}), covariates=["a"])
    j = at.Journeys.from_paths(paths, covariates=["seg"])
    assert "seg" not in list(j.names) and "seg" not in list(j.channel_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in (at.get_model("last"), at.get_model("markov"),
                      at.get_model("logistic")):
            res = model.fit(j).result_
            frame = res.to_frame()
            assert "seg" not in set(map(str, res.names))
            assert not frame.index.astype(str).str.contains("seg").any()


def test_row_order_does_not_change_covariates():
    df = _log()
    j = _read(df, covariates=["seg", "score"], covariate_bins=2)
    k = _read(df.sample(frac=1.0, random_state=3), covariates=["seg", "score"],
              covariate_bins=2)
    assert _rows(j) == _rows(k)


# ---------------------------------------------------------------------- adjustment in the models
def _additive_table():
    """p = 0.1 + 0.2 a + 0.05 b + 0.3 s exactly, s a segment: 60% of journeys have s = 1."""
    cells = [("a", "0", 1000, 0.3), ("a", "1", 3000, 0.6), ("b", "0", 2000, 0.15),
             ("b", "1", 1000, 0.45), ("a > b", "0", 1000, 0.35), ("a > b", "1", 2000, 0.65)]
    return pd.DataFrame({"path": [c[0] for c in cells], "s": [c[1] for c in cells],
                         "total_conversions": [round(c[2] * c[3]) for c in cells],
                         "total_null": [round(c[2] * (1 - c[3])) for c in cells]})


@pytest.mark.parametrize("make", [
    lambda: at.get_model("logistic", link="identity", C=1e8),
    lambda: at.get_model("shapley", value="model", link="identity", C=1e8)])
def test_standardised_game_equals_the_hand_average(make):
    # by hand: v(S) = 0.1 + 0.2 [a in S] + 0.05 [b in S] + 0.3 * 0.6 (s averaged over the
    # journeys): v() = .28, v(a) = .48, v(b) = .33, v(ab) = .53; phi_a = .2, phi_b = .05 in
    # every set; a journey's credit is its conversions * phi / v(T)
    j = at.Journeys.from_paths(_additive_table(), covariates=["s"])
    res = make().fit(j).result_
    credit = pd.Series(res.conversions, index=res.names.astype(str))
    a = 2100 * 0.2 / 0.48 + 1650 * 0.2 / 0.53
    b = 750 * 0.05 / 0.33 + 1650 * 0.05 / 0.53
    base = 2100 * 0.28 / 0.48 + 750 * 0.28 / 0.33 + 1650 * 0.28 / 0.53
    np.testing.assert_allclose(credit[["a", "b"]], [a, b], rtol=2e-3)
    np.testing.assert_allclose(res.extra["(baseline)"][0], base, rtol=2e-3)
    assert list(credit.index) == ["a", "b"]  # the covariate is no entity
    # ignoring the segment (60% of s = 1 among a-journeys vs 33% among b-only) credits b
    # and a differently
    plain = make().fit(j.replace(covariates=None)).result_
    assert abs(pd.Series(plain.conversions, index=plain.names.astype(str))["a"] - a) > 20


def test_logistic_keeps_covariate_coefficients_apart_and_transform_agrees():
    j = at.Journeys.from_paths(_additive_table(), covariates=["s"])
    m = at.get_model("logistic", link="identity", C=1e8).fit(j)
    assert list(m.coef_.index) == ["a", "b"]
    np.testing.assert_allclose(m.coef_.to_numpy(), [0.2, 0.05], atol=1e-3)
    np.testing.assert_allclose(m.covariate_coef_.to_numpy(), [0.3], atol=1e-3)
    assert list(m.covariate_design_.columns) == ["s=1", "(weight)"]
    # transform credits touches of new journeys with the game of the fit (their covariates,
    # or none, do not matter)
    touches = m.transform(j.replace(covariates=None))
    per_channel = touches.groupby("channel", observed=True)["credit"].sum().reindex(["a", "b"])
    np.testing.assert_allclose(per_channel.to_numpy(), m.result_.conversions, rtol=1e-9)


def test_adjust_options_are_checked():
    j = at.Journeys.from_paths(_additive_table(), covariates=["s"])
    plain = j.replace(covariates=None)
    with pytest.raises(at.ParameterError, match="needs journeys with covariates"):
        at.get_model("logistic", adjust="ipw").fit(plain)
    with pytest.raises(at.ParameterError, match="adjust must be"):
        at.get_model("logistic", adjust="yes").fit(j)
    with pytest.raises(at.ParameterError, match="needs value='model'"):
        at.get_model("shapley", value="count", adjust="regression").fit(j)
    # the count game ignores covariates; the default adjusts the model game
    at.get_model("shapley").fit(j)
    m = at.get_model("shapley", value="model").fit(j)
    assert m.result_.diagnostics["adjust"] == "regression"


def test_adjusting_for_observed_intent_removes_most_confounding():
    from attribution.evaluation import harness
    from attribution.evaluation.simulate import simulate_journeys

    # intent raises the baseline and steers touches to the targeted types
    events, truth = simulate_journeys(30_000, tier="confounded", targeting=1.0, mean_length=3,
                                      random_state=0)
    plain = scenario_journeys(events)
    with_intent = scenario_journeys(events, covariates=["intent"], covariate_bins=10)
    assert "intent" not in set(with_intent.names)
    true = truth.shapley[truth.shapley.index.isin(plain.names)]

    def tv(j, **kw):
        model = at.get_model("logistic", random_state=0, **kw)
        return harness.score("logistic", model, j, truth, true)["tv_distance"]

    unadjusted = tv(plain)
    assert unadjusted > 0.1  # measured 0.117: the confounding is strong
    assert tv(with_intent) < 0.6 * unadjusted  # measured 0.052
    assert tv(with_intent, adjust="ipw") < 0.6 * unadjusted  # measured 0.062


def test_adjusted_logistic_round_trips_through_json():
    from attribution.inference.persist import load_json, to_json

    j = at.Journeys.from_paths(_additive_table(), covariates=["s"])
    m = at.get_model("logistic", link="identity", C=1e8).fit(j)
    back = load_json(to_json(m))
    pd.testing.assert_frame_equal(back.covariate_design_, m.covariate_design_)
    pd.testing.assert_frame_equal(back.transform(j), m.transform(j), check_exact=True)


@pytest.mark.parametrize("game", ["model"])
def test_adjusted_shapley_round_trips_through_json(game):
    """The value model of an adjusted Shapley has one column per covariate cell column
    beyond the entities: the reader expects them (it refused the file before)."""
    from attribution.inference.persist import load_json, to_json

    j = at.Journeys.from_paths(_additive_table(), covariates=["s"])
    m = at.Shapley(value=game).fit(j)
    assert m.estimator_.n_features_in_ > len(m.credit_)
    back = load_json(to_json(m))
    pd.testing.assert_frame_equal(back.transform(j), m.transform(j), check_exact=True)
