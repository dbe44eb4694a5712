import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.shapley import shapley

K = 8


def random_game(seed, k=K):
    table = np.random.default_rng(seed).normal(size=1 << k)
    game = lambda masks: table[masks.astype(np.int64)]  # noqa: E731
    game.table = table.tolist()
    return game


def brute_force(players, v):
    """Average marginal contribution over all orderings (the definition)."""
    table = v.table
    phi = {p: 0.0 for p in players}
    n_perms = 0
    for perm in itertools.permutations(players):
        n_perms += 1
        mask = 0
        for p in perm:
            before = table[mask]
            mask |= 1 << p
            phi[p] += table[mask] - before
    return {p: x / n_perms for p, x in phi.items()}


@given(seed=st.integers(0, 10_000),
       sets=st.lists(st.sets(st.integers(0, K - 1), min_size=1, max_size=K), min_size=1,
                     max_size=4, unique_by=frozenset))
@settings(max_examples=25, deadline=None)
def test_exact_equals_brute_force(seed, sets):
    v = random_game(seed)
    masks = np.array([sum(1 << p for p in s) for s in sets], dtype=np.uint64)
    phi, se, v_set, v_empty = shapley(masks, v, K)
    for row, s in enumerate(sets):
        expected = brute_force(sorted(s), v)
        for p in range(K):
            assert phi[row, p] == pytest.approx(expected.get(p, 0.0), abs=1e-12)
        assert (se[row] == 0).all()


@given(seed=st.integers(0, 10_000), size=st.integers(1, K))
@settings(max_examples=25, deadline=None)
def test_axioms(seed, size):
    rng = np.random.default_rng(seed)
    players = rng.choice(K, size=size, replace=False)
    mask = np.array([sum(1 << int(p) for p in players)], dtype=np.uint64)
    v, w = random_game(seed), random_game(seed + 1)
    phi_v, _, v_set, v_empty = shapley(mask, v, K)
    # efficiency
    assert phi_v.sum() == pytest.approx(v_set[0] - v_empty, abs=1e-12)
    # additivity
    phi_w = shapley(mask, w, K)[0]
    phi_sum = shapley(mask, lambda m: v(m) + w(m), K)[0]
    np.testing.assert_allclose(phi_sum, phi_v + phi_w, atol=1e-12)
    # null player: a game that ignores player 0 gives it exactly 0 (not a rounding residue,
    # which would read as negative credit), at any scale of the values
    for scale in (1.0, 1e6, 1e-6):
        ignore0 = lambda m, c=scale: c * v(m & ~np.uint64(1)) + 3 * c  # noqa: E731
        phi0 = shapley(np.array([mask[0] | np.uint64(1)]), ignore0, K)[0]
        assert phi0[0, 0] == 0.0
    # symmetry: a game symmetric in players 0 and 1 gives them equal values
    def swap01(m):
        b0, b1 = m & np.uint64(1), (m >> np.uint64(1)) & np.uint64(1)
        return (m & ~np.uint64(3)) | (b0 << np.uint64(1)) | b1
    sym = lambda m: v(m) + v(swap01(m))  # noqa: E731
    phi = shapley(np.array([mask[0] | np.uint64(3)]), sym, K)[0]
    assert phi[0, 0] == pytest.approx(phi[0, 1], abs=1e-12)


def test_sampling_is_efficient_and_calibrated():
    k = 10
    v = random_game(3, k)
    sets = np.array([2**k - 1, 0b1111110000, 0b0111111111], dtype=np.uint64)
    exact, _, v_set, v_empty = shapley(sets, v, k, max_exact=12)
    est, se, _, _ = shapley(sets, v, k, max_exact=4, n_permutations=400,
                            rng=np.random.default_rng(7))
    # each permutation's contributions add up to v(T) - v(empty): exactly efficient
    np.testing.assert_allclose(est.sum(axis=1), v_set - v_empty, atol=1e-10)
    inside = se > 0
    z = np.abs(est - exact)[inside] / se[inside]
    assert (z <= 3).mean() >= 0.9, z
    assert (est[~inside] == 0).all()


def test_deterministic_for_a_seed():
    v = random_game(1, 10)
    sets = np.array([2**10 - 1], dtype=np.uint64)
    a = shapley(sets, v, 10, max_exact=3, rng=np.random.default_rng(5))[0]
    b = shapley(sets, v, 10, max_exact=3, rng=np.random.default_rng(5))[0]
    np.testing.assert_array_equal(a, b)


def test_too_many_players():
    with pytest.raises(ValueError, match="at most 64"):
        shapley(np.array([1], dtype=np.uint64), lambda m: m * 0.0, 65)


def test_tags_give_each_set_its_own_game():
    v, w = random_game(11), random_game(12)
    mask = np.uint64(0b1011)
    tag = np.uint64(1) << np.uint64(K)

    def game(masks):  # the tag bit switches between the two games
        low = masks & np.uint64(2**K - 1)
        return np.where((masks & tag) > 0, w(low), v(low))

    phi, _, v_set, v_empty = shapley(np.array([mask, mask], dtype=np.uint64), game, K,
                                     tags=np.array([0, tag], dtype=np.uint64))
    np.testing.assert_allclose(phi[0], shapley(np.array([mask]), v, K)[0][0], atol=1e-12)
    np.testing.assert_allclose(phi[1], shapley(np.array([mask]), w, K)[0][0], atol=1e-12)
    assert v_empty[1] == pytest.approx(w(np.zeros(1, dtype=np.uint64))[0])
