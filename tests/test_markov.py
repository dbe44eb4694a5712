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


@given(j=journeys_strategy(max_journeys=12, max_len=7, n_codes=6), order=st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_state_keys_by_table_equal_keys_by_sorting(j, order):
    import attribution.models._markov_chain as mc

    table = state_paths(j, order)  # small key spaces: marked in a table
    saved = mc.KEY_TABLE_MIN
    try:
        mc.KEY_TABLE_MIN = 0  # ... unless the table is over 8 slots a key: sorted
        sort = state_paths(j, order) if (j.n_touches * 8 < 7**order) else table
    finally:
        mc.KEY_TABLE_MIN = saved
    for a, b in ((table.offsets, sort.offsets), (table.states, sort.states),
                 (table.keys, sort.keys)):
        np.testing.assert_array_equal(a, b)
    assert table.states.dtype == np.int32 and table.keys.dtype == np.int64


def test_sparse_transition_counts_equal_dense(monkeypatch):
    import attribution.models._markov_chain as mc

    rng = np.random.default_rng(2)
    paths = [list(rng.integers(0, 6, size=rng.integers(1, 8))) for _ in range(500)]
    conv = rng.poisson(1.0, 500) * 1.0
    j = make_journeys(paths, conv, rng.poisson(2.0, 500) * 0.5, value=conv * 3.5)
    for order in (1, 3):
        sp_ = state_paths(j.transform("collapse"), order)
        dense = build_chain(sp_, j.conversions, j.nulls, j.value)
        monkeypatch.setattr(mc, "DENSE_TABLE_MAX", 0)
        sparse = build_chain(sp_, j.conversions, j.nulls, j.value)
        monkeypatch.undo()
        np.testing.assert_array_equal(dense.counts.toarray(), sparse.counts.toarray())
        np.testing.assert_array_equal(dense.value, sparse.value)
        assert sparse.counts.has_canonical_format


def test_dense_solves_cap_blas_threads(monkeypatch, ca_journeys):
    from types import SimpleNamespace

    import scipy.linalg
    from threadpoolctl import threadpool_info

    import attribution.models._markov_chain as mc

    def blas_threads():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info()
                if lib["user_api"] == "blas"}

    before, seen = blas_threads(), []

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return scipy.linalg.solve(*args, **kwargs)

    # the chain's own solves only (other code may solve with scipy too)
    monkeypatch.setattr(mc, "scipy", SimpleNamespace(linalg=SimpleNamespace(solve=spy)))
    capped = at.MarkovChain().fit(ca_journeys)
    assert seen and all(set(s.values()) == {1} for s in seen)
    assert blas_threads() == before  # restored after each solve
    seen.clear()
    monkeypatch.setattr(mc, "SOLVE_THREADS", None)
    free = at.MarkovChain().fit(ca_journeys)
    assert seen and all(s == before for s in seen)
    np.testing.assert_allclose(capped.removal_effects_, free.removal_effects_, rtol=1e-13)


def test_order_auc_equals_sklearn_on_ties_and_zero_weights():
    from sklearn.metrics import roc_auc_score

    from attribution.models._markov_order import weighted_auc

    rng = np.random.default_rng(4)
    for _ in range(50):
        n = int(rng.integers(2, 40))
        score = rng.choice(rng.random(5), n)  # many ties
        pos, neg = rng.choice([0, 0, 1, 2.5], n), rng.choice([0, 1, 3], n)
        if pos.sum() == 0 or neg.sum() == 0:
            assert np.isnan(weighted_auc(score, pos, neg))
            continue
        y, w = np.r_[np.ones(n), np.zeros(n)], np.r_[pos, neg]
        keep = w > 0
        expected = roc_auc_score(y[keep], np.r_[score, score][keep], sample_weight=w[keep])
        assert weighted_auc(score, pos, neg) == pytest.approx(expected, abs=1e-14)


# ---- issue 13 item 7: per-touch credit adds up to credit_, the infeasible part on (unallocated)
def fit_quiet(j, **kw):
    return at.MarkovChain(**kw).fit(j)  # fit never warns about the balance; transform does


def entity_touch_sums(t):
    touches = t[t["position"] >= 0]
    return touches.groupby(touches["touchpoint"].astype(str))[["credit", "value_credit"]].sum()


def test_infeasible_balance_goes_to_unallocated_hand_computed():
    # a > b and c convert once each: RE = 1/2 each, credit_ = 2/3 each. The journey c can give
    # c only 2/3 (its density 1 / (2/3) = 3/2 > 1: it keeps 2/3, 1/3 is unallocated); a > b
    # meets a and b at 1 / (4/3) = 3/4 of their targets: 1/2 each, 1/6 each unallocated
    j = make_journeys([[0, 1], [2]], [1, 1], [0, 0], value=[4.0, 6.0], names=["a", "b", "c"])
    m = fit_quiet(j)
    np.testing.assert_allclose(m.credit_, [2 / 3] * 3, rtol=1e-12)
    with pytest.warns(at.AttributionWarning, match=r"0\.333333 of 2 conversions.*unallocated"):
        t = m.transform(j)
    rows = t.set_index(["journey", "position"])["credit"]
    np.testing.assert_allclose(rows.to_numpy(), [0.5, 0.5, 2 / 3, 1 / 3], rtol=1e-12)
    assert str(t["touchpoint"].iloc[-1]) == "(unallocated)" and t["position"].iloc[-1] == -1
    np.testing.assert_allclose(m.unallocated_["conversion"], [1 / 6, 1 / 6, 0], atol=1e-15)
    by = entity_touch_sums(t)
    np.testing.assert_allclose(by["credit"] + m.unallocated_["conversion"], m.credit_,
                               rtol=1e-12)
    np.testing.assert_allclose(by["value_credit"] + m.unallocated_["value"], m.value_credit_,
                               rtol=1e-12)
    assert t.attrs["balance"]["conversions"]["unallocated"] == pytest.approx(1 / 3)
    text = str(m.result_.summary())
    assert "unallocated per touch (conversion): 0.333333 (16.67%)" in text


def test_entity_only_in_non_converting_journeys_is_unallocated():
    # a > b (1 conversion, 1 null) and z > b (2 nulls): RE = (1/2, 1, 1/2), credit_ =
    # (1/4, 1/2, 1/4); z is in no converting journey: its 1/4 cannot be put on any touch
    j = make_journeys([[0, 1], [2, 1]], [1, 0], [1, 2], value=[8.0, 0.0], names=["a", "b", "z"])
    m = fit_quiet(j)
    with pytest.warns(at.AttributionWarning, match="most owed to z;"):
        t = m.transform(j)
    assert t["credit"].tolist() == pytest.approx([0.25, 0.5, 0.25])
    assert t["touchpoint"].astype(str).tolist() == ["a", "b", "(unallocated)"]
    assert m.unallocated_.loc["z"].tolist() == pytest.approx([0.25, 2.0])
    assert m.balance_report_.loc["conversion", "residual"] <= 1e-15  # over all entities


def test_single_touch_repeat_buyers():
    # c alone converts 3 times, a > b once: RE = (1/4, 1/4, 3/4), credit_ = (0.8, 0.8, 2.4).
    # The journey c keeps 2.4 (0.6 unallocated); a > b splits its 1 as 1/2, 1/2
    j = make_journeys([[2], [0, 1]], [3, 1], [0, 0], names=["a", "b", "c"])
    m = fit_quiet(j)
    np.testing.assert_allclose(m.credit_, [0.8, 0.8, 2.4], rtol=1e-12)
    with pytest.warns(at.AttributionWarning):
        t = m.transform(j)
    got = t.groupby(t["touchpoint"].astype(str))["credit"].sum()
    assert got.to_dict() == pytest.approx({"a": 0.5, "b": 0.5, "c": 2.4, "(unallocated)": 0.6})
    assert m.unallocated_["conversion"].tolist() == pytest.approx([0.3, 0.3, 0.0])
    assert t.groupby("journey")["credit"].sum().tolist() == pytest.approx([3.0, 1.0])


def test_feasible_balance_has_no_unallocated_rows(sample_journeys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no (unallocated) warning where all can be placed
        for kw in (dict(), dict(order=3), dict(order=2, level="channel")):
            m = at.MarkovChain(**kw).fit(sample_journeys)
            t = m.transform(sample_journeys)
            assert (t["position"] >= 0).all() and (m.unallocated_.to_numpy() == 0).all()
            assert (m.balance_report_["residual"] <= 1e-10).all()


@given(j=journeys_strategy(max_journeys=10, max_len=4, n_codes=5), order=st.integers(1, 2))
@settings(max_examples=60, deadline=None)
def test_placed_credit_is_the_max_flow(j, order):
    """What transform puts on touches is the maximum any split can place (a linear program
    solved independently); journeys never exceed their conversions nor entities credit_."""
    from scipy.optimize import linprog

    m = fit_quiet(j, order=order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        t = m.transform(j)
    placed = t.loc[t["position"] >= 0, "credit"].sum()
    jj, code = j.distinct()
    re = m.removal_effects_["conversion"].to_numpy()
    has = np.bincount(jj, re[code], minlength=j.n_journeys) > 0
    keep = (j.conversions[jj] > 0) & ((re[code] > 0) | ~has[jj])  # the support
    r, c = jj[keep], code[keep]
    n, k = j.n_journeys, len(j.names)
    a_ub = np.zeros((n + k, len(r)))
    a_ub[r, np.arange(len(r))] = 1
    a_ub[n + c, np.arange(len(r))] = 1
    lp = linprog(-np.ones(len(r)), A_ub=a_ub, b_ub=np.r_[j.conversions, m.credit_.to_numpy()],
                 method="highs")
    assert placed == pytest.approx(-lp.fun, rel=1e-8, abs=1e-9)
    by = entity_touch_sums(t).reindex(m.credit_.index, fill_value=0.0)
    tol = 1e-9 * max(j.conversions.sum(), 1.0)
    assert (by["credit"].to_numpy() <= m.credit_.to_numpy() + tol).all()
    lost = t.loc[t["position"] < 0, "credit"].sum()
    assert lost == pytest.approx(m.unallocated_["conversion"].sum(), abs=tol)


def test_chunks_scored_after_fit_partitions_equal_the_whole():
    """_prepare_scoring (batch, Dask) gives every journey the credit, and (unallocated) row,
    it has in transform of all the journeys at once."""
    rng = np.random.default_rng(3)
    paths = [list(rng.integers(0, 6, size=rng.integers(1, 5))) for _ in range(300)]
    paths += [[5]] * 20 + [[4, 0]] * 5  # single-touch repeat buyers: infeasible
    n = len(paths)
    conv = np.r_[(rng.random(300) < 0.3) * 1.0, np.full(25, 2.0)]
    j = make_journeys(paths, conv, 1 - np.minimum(conv, 1), value=conv * 10)
    whole = fit_quiet(j)
    halves = [j.select(np.arange(0, n, 2)), j.select(np.arange(1, n, 2))]
    parted = at.MarkovChain().fit_partitions([h.aggregate() for h in halves], n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        want = whole.transform(j)
        got = [parted.transform(h) for h in halves]
    assert whole.unallocated_["conversion"].sum() > 0.1
    pd.testing.assert_frame_equal(parted.balance_factors_, whole.balance_factors_, rtol=1e-9)
    ids = [np.arange(0, n, 2), np.arange(1, n, 2)]
    for part, idx in zip(got, ids, strict=True):
        part = part.assign(journey=idx[part["journey"].to_numpy()])
        mine = want[want["journey"].isin(idx)]
        np.testing.assert_allclose(part.sort_values(["journey", "position"])["credit"],
                                   mine.sort_values(["journey", "position"])["credit"],
                                   rtol=1e-12, atol=1e-15)


def test_newton_balance_converges_where_ipf_crawls():
    """Nearly tight totals (column 0 needs 6.495 of the 6.5 its two rows hold): IPF still
    errs by 1e-4 of the total after 1000 sweeps; the Newton solve meets the totals in a few
    steps."""
    from attribution.models._ipf import balance

    rows = np.array([0, 0, 1, 2, 2, 2, 3, 3, 4, 4])
    cols = np.array([1, 2, 1, 0, 1, 2, 1, 2, 0, 1])
    ones = np.ones(len(rows))
    a = np.array([3.25, 2.0, 3.25, 2.0, 3.25])
    t = np.array([6.49515853, 7.21231214, 0.04252933])  # column 0: rows 2 and 4 only
    values, steps, residual, _ = balance(rows, cols, ones, a, t, tol=1e-13)
    assert residual <= 1e-13 and steps < 30
    np.testing.assert_allclose(np.bincount(rows, values), a, rtol=1e-14)
    np.testing.assert_allclose(np.bincount(cols, values), t, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad, name", [(dict(order=0), "order"), (dict(order=1.5), "order"),
                                       (dict(ipf_tol=0), "ipf_tol"),
                                       (dict(ipf_max_iter=0), "ipf_max_iter"),
                                       (dict(penalty=-1), "penalty"),
                                       (dict(smoothing=float("nan")), "smoothing"),
                                       (dict(collapse_repeats="yes"), "collapse_repeats")])
def test_bad_parameters_name_themselves(bad, name, ca_journeys):
    with pytest.raises(at.ParameterError, match=f"^{name} must"):
        at.MarkovChain(**bad).fit(ca_journeys)
