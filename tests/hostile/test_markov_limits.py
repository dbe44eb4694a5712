"""Markov chains too large to solve (issue "No silent wrong answers", item 13).

Order 3 on one journey of 50k touches over 3,000 touchpoints is 49,979 states and 3,000
removal solves: refused before the first solve, naming the state count and what to change.
Below the limit the sparse solves are bounded and match the dense LU; a solve that cannot
converge within the bound is an error, and the progress bar obeys TQDM_DISABLE.
"""

import time

import numpy as np
import pytest

import attribution as at
from attribution.journeys.validation import ParameterError
from attribution.models import _markov_chain as mc
from attribution.models import _markov_solve as ms
from tests.conftest import make_journeys


def long_journeys(n_journeys, length, k, seed):
    """Long journeys of uniform random touches: nearly every window is a new state (a path
    graph, where unpreconditioned Krylov solvers break down)."""
    rng = np.random.default_rng(seed)
    paths = [list(rng.integers(0, k, length)) for _ in range(n_journeys)]
    conv = np.arange(n_journeys) % 2 * 1.0
    return make_journeys(paths, conv, 1.0 - conv, value=conv * 10.0, names=[f"t{i}" for i in
                                                                          range(k)])


def n_states(j, order):
    """The distinct states of order ``order`` of collapsed paths, counted independently."""
    states = set()
    for a, b in zip(j.offsets[:-1], j.offsets[1:], strict=True):
        path = [int(c) for c in j.codes[a:b]]
        path = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        if len(path) <= order:
            states.add(tuple(path))
        else:
            states.update(tuple(path[t - order:t]) for t in range(order, len(path) + 1))
    return len(states)


def test_pathological_journey_is_refused_at_once_naming_the_state_count():
    j = long_journeys(1, 50_000, 3_000, seed=0)
    S = n_states(j, 3)
    assert 49_000 < S < 50_000
    start = time.perf_counter()
    with pytest.raises(ParameterError) as err:
        at.MarkovChain(order=3).fit(j)
    assert time.perf_counter() - start < 5.0
    msg = str(err.value)
    assert f"{S:,} states" in msg and "3,000 entities" in msg and f"{S * 3000:,}" in msg
    for remedy in ("`order`", "level='channel'", "collapse_repeats=True", "MAX_SOLVE_WORK"):
        assert remedy in msg


def test_just_under_the_limit_solves_and_matches_the_dense_answer(monkeypatch):
    j = long_journeys(5, 100, 100, seed=1)
    S, K = n_states(j, 2), len(np.unique(j.codes))
    assert S < mc.DENSE_MAX  # the reference is the dense LU
    dense = at.MarkovChain(order=2).fit(j)
    factored = []

    def spy(a):
        factored.append(a.shape[0])
        return ilu(a)

    ilu = ms._ilu
    monkeypatch.setattr(ms, "_ilu", spy)
    monkeypatch.setattr(mc, "DENSE_MAX", 50)
    monkeypatch.setattr(ms, "MAX_SOLVE_WORK", S * K)
    sparse = at.MarkovChain(order=2).fit(j)
    assert sparse.n_states_ == S and sparse.solve_residual_ < ms.RESIDUAL_TOL
    assert len(factored) > 1  # removals on a path graph need their own incomplete LU
    np.testing.assert_allclose(sparse.removal_effects_, dense.removal_effects_, rtol=0,
                               atol=1e-10)
    np.testing.assert_allclose(sparse.credit_, dense.credit_, rtol=1e-9)
    assert dense.removal_effects_["conversion"].std() > 0.05  # not all 1: a real check
    monkeypatch.setattr(ms, "MAX_SOLVE_WORK", S * K - 1)
    with pytest.raises(ParameterError, match=f"{S:,} states.*{K:,} entities"):
        at.MarkovChain(order=2).fit(j)


def test_sparse_removals_of_short_journeys_match_the_dense_answer(monkeypatch):
    """Well-mixed states (short journeys) and one long tail: warm-started BiCGSTAB."""
    rng = np.random.default_rng(3)
    paths = [list(rng.integers(0, 12, rng.integers(1, 6))) for _ in range(1500)]
    paths.append(list(rng.integers(0, 12, 400)))
    conv = (rng.random(len(paths)) < 0.3) * 1.0
    j = make_journeys(paths, conv, 1.0 - conv, value=conv * 7.0)
    monkeypatch.setattr(mc, "DENSE_MAX", 10**6)
    dense = at.MarkovChain(order=3).fit(j)
    monkeypatch.setattr(mc, "DENSE_MAX", 50)
    sparse = at.MarkovChain(order=3).fit(j)
    assert sparse.n_states_ > 1000 and sparse.solve_residual_ < ms.RESIDUAL_TOL
    np.testing.assert_allclose(sparse.removal_effects_, dense.removal_effects_, rtol=0,
                               atol=1e-10)


def test_a_solve_that_cannot_converge_within_the_bound_is_an_error(monkeypatch):
    rng = np.random.default_rng(3)
    paths = [list(rng.integers(0, 12, rng.integers(1, 6))) for _ in range(1500)]
    conv = (rng.random(len(paths)) < 0.3) * 1.0
    j = make_journeys(paths, conv, 1.0 - conv)
    monkeypatch.setattr(mc, "DENSE_MAX", 50)
    monkeypatch.setattr(ms, "SOLVE_MAXITER", 1)  # one step of each solver, a crude ILU
    monkeypatch.setattr(ms, "ILU_DROP_TOL", 0.9)
    monkeypatch.setattr(ms, "ILU_FILL", 1.0)
    with pytest.raises(ParameterError, match="did not converge") as err:
        at.MarkovChain(order=3).fit(j)
    msg = str(err.value)
    assert "transient states" in msg and "residual" in msg and "SOLVE_MAXITER" in msg


@pytest.mark.parametrize("disabled", [True, False])
def test_progress_goes_to_stderr_unless_disabled(monkeypatch, capsys, disabled):
    j = long_journeys(3, 60, 30, seed=2)
    monkeypatch.setattr(mc, "DENSE_MAX", 20)
    monkeypatch.setattr(ms, "PROGRESS_MIN_WORK", 0)  # every fit "large"
    monkeypatch.setattr(ms, "PROGRESS_DELAY", 0.0)
    if disabled:
        monkeypatch.setenv("TQDM_DISABLE", "1")
    else:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    at.MarkovChain(order=2).fit(j)
    out = capsys.readouterr()
    assert out.out == ""
    assert ("Markov removal effects" in out.err) != disabled


def test_no_progress_for_small_work_or_when_turned_off(monkeypatch, capsys):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(ms, "PROGRESS_DELAY", 0.0)
    j = long_journeys(3, 60, 30, seed=2)
    at.MarkovChain(order=2).fit(j)  # far below PROGRESS_MIN_WORK
    paths = mc.state_paths(j, 2)
    chain = mc.build_chain(paths, j.conversions, j.nulls, j.value)
    monkeypatch.setattr(ms, "PROGRESS_MIN_WORK", 0)
    mc.removal_effects(paths, chain, len(j.names), progress=False)
    assert capsys.readouterr().err == ""
    mc.removal_effects(paths, chain, len(j.names), progress=True)
    assert "Markov removal effects" in capsys.readouterr().err
