import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.models._markov_chain import ChainDesign, build_chain, state_paths
from tests.conftest import CA_PATHS, journeys_strategy, make_journeys


def hand_chain():
    # a>b: 2 conv, 2 null, value 20 | b: 1 conv, 3 null, value 5 | a>c: 1 conv 1 null, value 10
    # a>b>a: 1 null (a loop)
    return make_journeys([[0, 1], [1], [0, 2], [0, 1, 0]], [2, 1, 1, 0], [2, 3, 1, 1],
                         [20, 5, 10, 0], names=["a", "b", "c"])


def test_hand_computed_absorption_with_a_loop():
    # start -> a 7/11, b 4/11; a -> b 5/8, c 2/8, null 1/8; b -> conv 3/9, null 5/9, a 1/9;
    # c -> conv 1/2, null 1/2.  x_b = 1/3 + x_a/9, x_a = 5/8 x_b + 1/8  =>  x_b = 25/67,
    # x_a = 24/67, P(C) = (7*24 + 4*25) / 737 = 4/11.
    # without a: x_b = 1/3, P = 4/33; without b: x_a = 1/8, P = 7/88;
    # without c: x_b = 24/67, x_a = 15/67, P = 201/737.
    m = at.MarkovChain().fit(hand_chain())
    assert m.conversion_probability_ == pytest.approx(4 / 11, abs=1e-12)
    re = m.removal_effects_["conversion"]
    assert re["a"] == pytest.approx(2 / 3, abs=1e-12)
    assert re["b"] == pytest.approx(25 / 32, abs=1e-12)
    assert re["c"] == pytest.approx(1 - 201 / 268, abs=1e-12)
    # value: r_v(b) = 25/9, r_v(c) = 5; V = 35/11; without c: V = 1675/737  => REv_c = 2/7
    assert m.expected_value_ == pytest.approx(35 / 11, abs=1e-12)
    assert m.removal_effects_["value"]["c"] == pytest.approx(2 / 7, abs=1e-12)
    total = re.sum()
    assert m.removal_effects_sum_ == pytest.approx(total)
    np.testing.assert_allclose(m.credit_, 4 * re / total, rtol=1e-12)
    tm = m.transition_matrix_.set_index(["from", "to"])["probability"]
    assert tm[("a", "b")] == pytest.approx(5 / 8) and tm[("b", "a")] == pytest.approx(1 / 9)


def test_ca_transition_matrix_order_1(ca_journeys):
    # ChannelAttribution 2.2.5 markov_model(order=1) printed these transition probabilities
    m = at.MarkovChain().fit(ca_journeys)
    tm = m.transition_matrix_.set_index(["from", "to"])["probability"]
    assert tm[("(start)", "a")] == pytest.approx(0.403509, abs=1e-6)
    assert tm[("a", "b")] == pytest.approx(0.634146, abs=1e-6)
    assert tm[("b", "(conversion)")] == pytest.approx(0.113636, abs=1e-6)
    assert tm[("d", "a")] == pytest.approx(0.75, abs=1e-6)
    # its Monte Carlo removal effects (nsim 1e6) were a .585, b .708, c .696, d .220; power
    # iteration of its own matrix gives ours: .61326, .72789, .70844, .26924
    re = m.removal_effects_["conversion"]
    np.testing.assert_allclose(re, [0.6132582, 0.7278895, 0.7084438, 0.2692352], atol=2e-6)


def power_absorption(counts, removed_rows=(), tol=1e-15):
    """P(conversion) from (start) by iterating the full transition matrix (independent)."""
    c = counts.toarray()
    t = c.shape[0]
    out = c.sum(axis=1)
    p = np.divide(c, out[:, None], out=np.zeros_like(c), where=out[:, None] > 0)
    full = np.zeros((t + 2, t + 2))
    full[:t] = p
    full[t, t] = full[t + 1, t + 1] = 1.0
    stuck = out == 0
    full[np.flatnonzero(stuck), t + 1] = 1.0
    for r in removed_rows:
        full[r] = 0.0
        full[r, t + 1] = 1.0
    x = np.zeros(t + 2)
    x[0] = 1.0
    for _ in range(200_000):
        nxt = x @ full
        if np.abs(nxt - x).max() < tol:
            break
        x = nxt
    return nxt[t]


@given(j=journeys_strategy(max_journeys=10, max_len=6, n_codes=4), order=st.integers(1, 3))
@settings(max_examples=40, deadline=None)
def test_random_chains_against_power_iteration(j, order):
    m = at.MarkovChain(order=order).fit(j)
    src = j.transform("collapse")
    paths = state_paths(src, order)
    chain = build_chain(paths, src.conversions, src.nulls, src.value)
    base = power_absorption(chain.counts)
    assert m.conversion_probability_ == pytest.approx(base, abs=1e-9)
    digits = paths.digits()
    for i, name in enumerate(j.names):
        rows = 1 + np.flatnonzero((digits == i).any(axis=1))
        expected = 1 - power_absorption(chain.counts, rows) / base if base > 0 else 0.0
        assert m.removal_effects_["conversion"][name] == pytest.approx(expected, abs=1e-8)


def test_order_above_every_length_is_exposure_share():
    # each journey is one state: RE_i = conversions of journeys containing i / C
    j = make_journeys([[0, 1], [1, 2, 0], [2], [1]], [1, 2, 3, 0], [1, 1, 1, 4],
                      names=["a", "b", "c"])
    m = at.MarkovChain(order=10).fit(j)
    np.testing.assert_allclose(m.removal_effects_["conversion"], [3 / 6, 3 / 6, 5 / 6],
                               atol=1e-12)


def test_edge_cases():
    # a channel met only in non-converting journeys, whose states cannot reach conversion:
    # removal effect 0
    j = make_journeys([[0, 1], [1, 2], [2]], [1, 0, 0], [1, 2, 3], names=["a", "b", "z"])
    m = at.MarkovChain().fit(j)
    assert abs(m.removal_effects_["conversion"]["z"]) < 1e-12 and m.credit_["z"] == 0
    # ... in a chain, a non-converting journey z > b still leads into b, which converts
    # elsewhere: start -> a 1/2, z 1/2; a, z -> b; b -> conversion 1/4: P(C) = 1/4, and 1/8
    # without z, so RE_z = 1/2
    j = make_journeys([[0, 1], [2, 1]], [1, 0], [1, 2], names=["a", "b", "z"])
    assert at.MarkovChain().fit(j).removal_effects_["conversion"]["z"] == pytest.approx(0.5)
    # every conversion leaves a state containing x: removal effect 1
    j = make_journeys([[0, 1], [1], [0, 1, 2]], [1, 2, 0], [1, 0, 5], names=["a", "x", "y"])
    assert at.MarkovChain().fit(j).removal_effects_["conversion"]["x"] == pytest.approx(1)
    # ... but being in every converting journey is not enough in a chain: b -> conversion is
    # learnt from x > b and reached through the non-converting journey b
    j = make_journeys([[0, 1], [1]], [1, 0], [0, 1], names=["x", "b"])
    assert at.MarkovChain().fit(j).removal_effects_["conversion"]["x"] == pytest.approx(0.5)
    # one channel
    j = make_journeys([[0], [0, 0]], [2, 1], [3, 0], names=["only"])
    m = at.MarkovChain().fit(j)
    assert m.removal_effects_["conversion"]["only"] == 1 and m.credit_["only"] == 3


def test_no_conversions_warns_and_gives_zero_credit():
    j = make_journeys([[0, 1], [1]], [0, 0], [2, 3])
    with pytest.warns(at.AttributionWarning, match="no conversions"):
        m = at.MarkovChain().fit(j)
    assert (m.credit_ == 0).all() and (m.removal_effects_["conversion"] == 0).all()


def test_zero_weight_rows_change_nothing(ca_journeys):
    base = at.MarkovChain(order=2).fit(ca_journeys).credit_
    extra = pd.concat([CA_PATHS, pd.DataFrame({"path": ["e > a", "b > e"],
                                               "total_conversions": [0, 0],
                                               "total_null": [0, 0],
                                               "total_conversion_value": [0.0, 0.0]})])
    j = at.Journeys.from_paths(extra, value="total_conversion_value")
    got = at.MarkovChain(order=2).fit(j).credit_
    np.testing.assert_allclose(got[base.index], base, rtol=1e-12)
    assert got["e"] == 0


def test_long_journeys():
    rng = np.random.default_rng(1)
    paths = [list(rng.integers(0, 5, size=n)) for n in (150, 230, 3, 101)]
    j = make_journeys(paths, [1, 0, 1, 2], [2, 1, 0, 1])
    m = at.MarkovChain(order=2).fit(j)
    assert m.credit_.sum() == pytest.approx(4)
    t = m.transform(j)
    assert len(t) == 150 + 3 + 101


def test_transform_balances_rows_and_columns(sample_journeys):
    m = at.MarkovChain().fit(sample_journeys)
    t = m.transform(sample_journeys)
    info = t.attrs["balance"]["conversions"]
    assert info["residual"] < 1e-9 and info["iterations"] >= 1
    by_tp = t.groupby("touchpoint", observed=False)["credit"].sum()
    np.testing.assert_allclose(by_tp[m.credit_.index], m.credit_, rtol=1e-7, atol=1e-7)
    by_val = t.groupby("touchpoint", observed=False)["value_credit"].sum()
    np.testing.assert_allclose(by_val[m.credit_.index], m.value_credit_, rtol=1e-7, atol=1e-6)


def test_order_auto_recovers_the_true_order():
    rng = np.random.default_rng(0)
    n = 40_000
    a = rng.integers(0, 3, size=n)
    b = rng.integers(0, 3, size=n)
    b = np.where(b == a, (b + 1) % 3, b)
    # second order: converts when the last two touches are (0, 1); first order: last touch 1
    for rule, expected in ((lambda x, y: (x == 0) & (y == 1), 2), (lambda x, y: y == 1, 1)):
        p = np.where(rule(a, b), 0.5, 0.05)
        conv = (rng.random(n) < p).astype(float)
        paths = [[x, y] for x, y in zip(a, b, strict=True)]
        j = make_journeys(paths, conv, 1 - conv, names=["p", "q", "r"]).aggregate()
        m = at.MarkovChain(order="auto", max_order=3, random_state=0).fit(j)
        assert m.order_ == expected, m.order_scores_
        scores = m.order_scores_
        assert list(scores.columns) == ["order", "states", "log_loss", "auc", "penalty",
                                        "score", "selected"]
        assert scores["selected"].sum() == 1


def test_auto_is_deterministic_and_params_checked(ca_journeys):
    a = at.MarkovChain(order="auto", random_state=3).fit(ca_journeys).order_scores_
    b = at.MarkovChain(order="auto", random_state=3).fit(ca_journeys).order_scores_
    pd.testing.assert_frame_equal(a, b)
    for bad in (dict(order=0), dict(order="high"), dict(max_order=0), dict(n_folds=1)):
        with pytest.raises(at.ParameterError):
            at.MarkovChain(**bad).fit(ca_journeys)


def test_plots(sample_journeys):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = at.MarkovChain().fit(sample_journeys)
    ax = m.plot_removal_effects()
    assert len(ax.patches) == 2 * len(sample_journeys.names)
    ax = m.plot_transitions(top=10)
    assert ax.images and ax.images[0].get_array().shape[0] == 10
    plt.close("all")


def test_collapse_repeats_off_keeps_self_states():
    j = make_journeys([[0, 0, 1]], [1], [0], names=["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        on = at.MarkovChain(order=2).fit(j).transition_matrix_
        off = at.MarkovChain(order=2, collapse_repeats=False).fit(j).transition_matrix_
    assert "a > a" not in set(on["from"]) and "a > a" in set(off["from"])


def test_sparse_solver_matches_dense(monkeypatch):
    import attribution.models._markov_chain as mc

    rng = np.random.default_rng(5)
    paths = [list(rng.integers(0, 14, size=rng.integers(1, 7))) for _ in range(4000)]
    conv = (rng.random(4000) < 0.3).astype(float)
    j = make_journeys(paths, conv, 1 - conv, value=conv * 10)
    sparse = at.MarkovChain(order=3).fit(j)
    assert sparse.n_states_ > mc.DENSE_MAX and sparse.solve_residual_ < 1e-12
    monkeypatch.setattr(mc, "DENSE_MAX", 10**6)
    dense = at.MarkovChain(order=3).fit(j)
    np.testing.assert_allclose(sparse.removal_effects_, dense.removal_effects_, atol=1e-10)


@given(j=journeys_strategy(max_journeys=10), order=st.integers(1, 3), seed=st.integers(0, 9))
@settings(max_examples=40, deadline=None)
def test_chain_design_equals_build_chain_for_any_weights(j, order, seed):
    """The bootstrap's linear map gives the same counts as building the chain, every time."""
    paths = state_paths(j.transform("collapse"), order)
    design = ChainDesign(paths)
    rng = np.random.default_rng(seed)
    for _ in range(3):  # reuse: the design must not be changed by a call
        c, u = rng.poisson(2.0, j.n_journeys) * 1.0, rng.poisson(1.0, j.n_journeys) * 1.0
        v = c * rng.gamma(2.0, 5.0, j.n_journeys)
        a, b = build_chain(paths, c, u, v), design.chain(c, u, v)
        np.testing.assert_array_equal(a.counts.toarray(), b.counts.toarray())
        np.testing.assert_allclose(a.value, b.value, rtol=1e-12)
