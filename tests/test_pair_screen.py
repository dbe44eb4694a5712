"""The score-test screen of pairwise terms (``Logistic(interactions="auto")``, the default).

Independent expectations: the likelihood-ratio statistic of the same pair from two separate
fits (score and LR tests agree asymptotically), the generating pairs of simulated data, and
the chi-square law of the statistic where no pair exists (the screen's family-wise level).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.journeys.validation import ParameterError
from attribution.models import _pair_screen
from attribution.models._links import fit_link, probability
from attribution.models._pair_screen import candidate_pairs, score_statistics, screen_pairs

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
NAMES = np.array(list("abcde"))


def patterns(link, n, seed, pair_effect):
    """Binomial counts on random 0/1 patterns of three features, with a pair term (0, 1)."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 3)) < 0.4).astype(float)
    both = x[:, 0] * x[:, 1]
    if link == "logit":
        p = 1 / (1 + np.exp(-(-2 + x @ [0.5, 0.3, 0.2] + pair_effect * both)))
    elif link == "noisy_or":
        p = 1 - 0.9 * np.prod((1 - np.array([0.2, 0.1, 0.05])) ** x, axis=1) * (
            1 - pair_effect) ** both
    else:
        p = 0.1 + x @ [0.1, 0.05, 0.05] + pair_effect * both
    m = rng.integers(5, 30, n)
    conv = rng.binomial(m, p).astype(float)
    return x, conv, m - conv


def neg_log_lik(link, b, coef, x, conv, nulls):
    q = np.clip(probability(link, b, coef, x), 1e-12, 1 - 1e-12)
    return -(conv @ np.log(q) + nulls @ np.log1p(-q))


@pytest.mark.parametrize(("link", "effect"), [("logit", 0.15), ("noisy_or", 0.03),
                                              ("identity", 0.03)])
def test_the_score_statistic_agrees_with_the_likelihood_ratio(link, effect):
    x, conv, nulls = patterns(link, 4000, 1, effect)
    C = 1e6  # (almost) no penalty: the textbook tests
    b, coef = fit_link(link, x, conv, nulls, C)
    pairs = np.array([[0, 1], [1, 2]])
    u, stat = score_statistics(link, b, coef, x, conv, nulls, C, pairs)
    for (a, c), got, sign in zip(pairs, stat, u, strict=True):
        xx = np.hstack([x, (x[:, a] * x[:, c])[:, None]])
        b2, coef2 = fit_link(link, xx, conv, nulls, C)
        lr = 2 * (neg_log_lik(link, b, coef, x, conv, nulls)
                  - neg_log_lik(link, b2, coef2, xx, conv, nulls))
        assert got == pytest.approx(lr, rel=0.05, abs=0.05), (a, c)
        if lr > 1:  # the score's sign is the direction the pair's coefficient moves
            assert np.sign(sign) == np.sign(coef2[-1])
    assert stat[0] > 3.84  # the real pair is seen at 5%


def synergy_journeys(n, seed, cd):
    """Five channels seen with probability 0.35 each; c and d add log-odds cd together."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 5)) < 0.35
    x[x.sum(axis=1) == 0, 0] = True
    eta = -2.0 + 0.5 * x[:, 0] + 0.3 * x[:, 1] + cd * (x[:, 2] & x[:, 3])
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    table = pd.DataFrame({"path": [" > ".join(NAMES[row]) for row in x],
                          "total_conversions": y.astype(float), "total_null": (~y).astype(float)})
    return at.Journeys.from_paths(table)


def test_the_default_finds_the_generating_pair_and_only_it():
    m = at.Logistic(link="logit").fit(synergy_journeys(60_000, 0, 0.8))
    assert m.interactions_[["first", "second"]].values.tolist() == [["c", "d"]]
    assert m.interactions_["coef"].iloc[0] == pytest.approx(0.8, abs=0.15)
    listed = at.Logistic(link="logit", interactions=[("c", "d")]).fit(
        synergy_journeys(60_000, 0, 0.8))
    assert m.coef_.to_numpy() == pytest.approx(listed.coef_.to_numpy(), abs=1e-9)
    assert m.credit_.to_numpy() == pytest.approx(listed.credit_.to_numpy(), rel=1e-9)


def test_without_interaction_pairs_enter_at_most_at_the_family_wise_level():
    """40 worlds with main effects only: each fit selects no pair with probability >= 0.95
    (Bonferroni), so more than 7 fits with pairs has probability < 0.001."""
    with_pairs = sum(len(at.Logistic(link="logit").fit(
        synergy_journeys(6000, seed, 0.0)).interactions_) > 0 for seed in range(40))
    assert with_pairs <= 7


def test_the_noisy_or_screen_is_one_sided():
    """A noisy-OR pair hazard is >= 0: a pair that lowers conversion is never selected,
    however clear, while the same pair raising it is."""
    for effect, expected in ((0.1, 1), (-0.1, 0)):
        x, conv, nulls = patterns("noisy_or", 3000, 3, effect)
        pairs, fitted = screen_pairs("noisy_or", x, conv, nulls, 1.0, 3)
        assert pairs.tolist() == [[0, 1]] * expected, effect
        assert fitted[1].shape == (3 + len(pairs),)


def test_pairs_seen_with_few_outcomes_are_not_tested():
    x = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 0, 0]], float)
    conv = np.array([_pair_screen.MIN_SUPPORT - 1, 50, 50, 50], float)
    nulls = np.array([100, 100, _pair_screen.MIN_SUPPORT - 1, 100], float)
    assert candidate_pairs(x, conv, nulls, 3).tolist() == [[0, 2]]
    assert candidate_pairs(x, conv, nulls, 2).tolist() == []  # covariates are never paired


def test_interactions_auto_is_validated():
    with pytest.raises(ParameterError, match="interactions must be 'auto', True, False"):
        at.Logistic(interactions="yes").fit(synergy_journeys(500, 0, 0.0))
    with pytest.raises(ParameterError, match="interactions='auto' .* is Logistic's"):
        at.Shapley(interactions="auto").fit(synergy_journeys(500, 0, 0.0))
    with pytest.raises(ParameterError, match="interactions must be True, False"):
        at.Shapley(interactions="Auto").fit(synergy_journeys(500, 0, 0.0))
    from sklearn.linear_model import LogisticRegression
    with pytest.raises(ParameterError, match="interactions=False cannot be used with it"):
        at.Logistic(estimator=LogisticRegression(), interactions=False).fit(
            synergy_journeys(500, 0, 0.0))


def test_pairs_enter_one_at_a_time_and_a_full_screen_warns(monkeypatch):
    """Two real pairs (0, 1) and (2, 3): forward selection adds both, strongest first, and
    stops; capped at one pair, it says that more passed."""
    rng = np.random.default_rng(5)
    x = (rng.random((4000, 4)) < 0.5).astype(float)
    eta = -1.5 + 0.2 * x.sum(axis=1) + 1.0 * x[:, 0] * x[:, 1] + 0.6 * x[:, 2] * x[:, 3]
    m = rng.integers(10, 20, len(x))
    conv = rng.binomial(m, 1 / (1 + np.exp(-eta))).astype(float)
    pairs, fitted = screen_pairs("logit", x, conv, m - conv, 1.0, 4)
    assert pairs.tolist() == [[0, 1], [2, 3]]
    assert fitted[1][4:] == pytest.approx([1.0, 0.6], abs=0.2)
    monkeypatch.setattr(_pair_screen, "MAX_PAIRS", 1)
    with pytest.warns(at.AttributionWarning, match="stopped at 1 pairs with more passing"):
        pairs, fitted = screen_pairs("logit", x, conv, m - conv, 1.0, 4)
    assert pairs.tolist() == [[0, 1]]


def paths_table(x, y, names):
    return at.Journeys.from_paths(pd.DataFrame({
        "path": [" > ".join(names[row]) for row in x], "total_conversions": y.astype(float),
        "total_null": 1.0 - y}))


def test_an_entity_that_only_occurs_with_another_is_not_a_pair_of_them():
    """b seen only with a: x_a x_b is b's own column; with a strong penalty its score
    measured relief from the penalty, not interaction (it was chosen at C=0.1)."""
    rng = np.random.default_rng(4)
    n = 30_000
    a = rng.random(n) < 0.5
    x = np.column_stack([a, a & (rng.random(n) < 0.5), rng.random(n) < 0.4,
                         rng.random(n) < 0.4])
    x[x.sum(axis=1) == 0, 3] = True
    y = rng.random(n) < 1 / (1 + np.exp(-(-2.5 + x @ [1.0, 1.5, 0.5, 0.2])))
    j = paths_table(x, y, NAMES[:4])
    for C in (0.1, 1.0):
        m = at.Logistic(link="logit", C=C).fit(j)
        assert len(m.interactions_) == 0, C


def test_entities_always_seen_together_share_their_pairs_and_their_credit():
    """a and b always together, {a, b} with a synergy with c: (a, c) and (b, c) are the same
    term and enter together, so a and b get equal credit whatever their names."""
    rng = np.random.default_rng(0)
    n = 20_000
    on = rng.random((n, 3)) < 0.5
    x = np.column_stack([on[:, 0], on[:, 0], on[:, 1], on[:, 2]])
    x[x.sum(axis=1) == 0, 3] = True
    y = rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 0.8 * on[:, 0] + 0.3 * on[:, 1]
                                           + 0.6 * (on[:, 0] & on[:, 1]))))
    credits = []
    for names in (NAMES[:4], NAMES[[1, 0, 2, 3]]):
        m = at.Logistic().fit(paths_table(x, y, names))
        assert m.interactions_[["first", "second"]].values.tolist() == [["a", "c"], ["b", "c"]]
        assert m.credit_["a"] == pytest.approx(m.credit_["b"], rel=1e-9)
        credits.append(m.credit_.sort_index())
    pd.testing.assert_series_equal(credits[0], credits[1], rtol=1e-9)


def test_identity_patterns_predicted_past_a_bound_earn_nothing():
    """The identity model clips p to [0, 1]: a null-only pattern whose linear predictor is
    below 0 fits as well as at 0 (it once earned -log(1 - eta) < 0, more the lower), so the fit
    recovers an additive world where some journeys never convert, and adds no pair."""
    from attribution.models._links import _objective

    x = np.array([[0.0], [1.0]])
    conv, nulls = np.array([5.0, 0.0]), np.array([95.0, 10.0])
    scale = (110.0, 1e-12)
    just_below = _objective(np.array([0.05, -0.06]), "identity", x, conv, nulls, scale)
    below = _objective(np.array([0.05, -0.15]), "identity", x, conv, nulls, scale)
    assert below[0] == pytest.approx(just_below[0], rel=1e-14)
    assert below[1][1] == pytest.approx(0.0, abs=1e-12)  # no pull further down
    with_pairs = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        x = rng.random((20_000, 6)) < 0.3
        x[x.sum(axis=1) == 0, 0] = True
        y = rng.random(len(x)) < 0.04 + x @ [0.10, 0.06, 0.04, 0.02, 0.0, -0.04]
        m = at.Logistic(link="identity").fit(paths_table(x, y, np.array(list("abcdef"))))
        assert m.coef_["f"] == pytest.approx(-0.04, abs=0.012)
        with_pairs += len(m.interactions_) > 0
    assert with_pairs <= 2  # was 8 of 8 (6-12 pairs each)


def symmetric_paths(names):
    """a and b play the same part (b's rows mirror a's), not always together: (a, c) and
    (b, c) have different columns but the same statistic, up to rounding."""
    a, b, c, d = names
    rows = [(a, 80, 3920), (b, 80, 3920), (c, 80, 3920), (f"{a} > {b}", 180, 5820),
            (f"{a} > {c}", 24, 376), (f"{b} > {c}", 24, 376), (f"{a} > {b} > {c}", 360, 5640),
            (d, 60, 5940), (f"{d} > {a}", 30, 970), (f"{d} > {b}", 30, 970)]
    return at.Journeys.from_paths(pd.DataFrame(rows, columns=["path", "total_conversions",
                                                               "total_null"]))


@pytest.mark.parametrize("scale", [1, 4])
def test_tied_pairs_enter_together_so_credit_does_not_follow_names(scale):
    credit = {}
    for names in (("a", "b", "c", "d"), ("b", "a", "c", "d"), ("a", "0", "c", "d")):
        j = symmetric_paths(names)
        j = j.replace(conversions=j.conversions * scale, nulls=j.nulls * scale) \
            if scale != 1 else j
        m = at.Logistic(random_state=0).fit(j)
        got = m.credit_.rename(dict(zip(names, "abcd", strict=True)))
        assert got["a"] == pytest.approx(got["b"], rel=1e-6), names
        credit[names] = got.sort_index()
    first, *rest = credit.values()
    for other in rest:
        pd.testing.assert_series_equal(other, first, rtol=1e-6)


def test_a_pair_in_the_span_of_the_fit_is_not_evidence():
    """With C so large that the penalty vanishes, the saturated pair column (a, b) lies in
    the span of the others: its V is rounding, and the pair must not enter on it."""
    rows = [("a", 100, 900), ("b", 50, 950), ("a > b", 200, 800), ("c", 30, 970)]
    j = at.Journeys.from_paths(pd.DataFrame(rows, columns=["path", "total_conversions",
                                                           "total_null"]))
    for C in (1e14, 1e16):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn: a nearly singular Hessian
            m = at.Logistic(link="logit", C=C).fit(j)
        assert len(m.interactions_) == 0, C


def test_a_pair_is_two_different_entities():
    j = at.Journeys.from_paths(pd.DataFrame({"path": ["1 > 2", "1", "2"],
                                             "total_conversions": [3, 1, 1],
                                             "total_null": [5, 5, 5]}))
    with pytest.raises(ParameterError, match="names one entity twice"):
        at.Logistic(interactions=[(1, "1")]).fit(j)


def test_the_cap_counts_every_pair_that_would_enter(monkeypatch):
    """(a, c) and (b, c) enter together (a and b always together): under a cap of one pair
    neither enters, and the warning says so; the cap is never exceeded."""
    rng = np.random.default_rng(0)
    on = rng.random((20_000, 3)) < 0.5
    x = np.column_stack([on[:, 0], on[:, 0], on[:, 1], on[:, 2]])
    x[x.sum(axis=1) == 0, 3] = True
    y = rng.random(len(x)) < 1 / (1 + np.exp(-(-1.5 + 0.8 * on[:, 0] + 0.3 * on[:, 1]
                                                + 0.6 * (on[:, 0] & on[:, 1]))))
    monkeypatch.setattr(_pair_screen, "MAX_PAIRS", 1)
    with pytest.warns(at.AttributionWarning, match="stopped at 0 pairs .*at most 1"):
        m = at.Logistic().fit(paths_table(x, y, NAMES[:4]))
    assert len(m.interactions_) == 0
