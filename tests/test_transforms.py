import numpy as np
import pytest
from hypothesis import given, settings

import attribution as at
from tests.conftest import journeys_strategy, make_journeys, paths_of

NAMES = ["a", "b", "c", "direct"]


def j4():
    # a a b a | direct | b direct direct | direct a direct
    return make_journeys([[0, 0, 1, 0], [3], [1, 3, 3], [3, 0, 3]], [1, 1, 0, 2],
                         names=NAMES, channel_of=[0, 0, 1, 1], channel_names=["x", "y"])


@pytest.mark.parametrize("name, params, expected, removed", [
    ("collapse", {}, [["a", "b", "a"], ["direct"], ["b", "direct"], ["direct", "a", "direct"]],
     2),
    ("exposure", {}, [["a", "b", "a"], ["direct"], ["b", "direct"], ["direct", "a", "direct"]],
     2),
    ("first", {}, [["a", "b"], ["direct"], ["b", "direct"], ["direct", "a"]], 4),
    ("trim", {"n": 2}, [["b", "a"], ["direct"], ["direct", "direct"], ["a", "direct"]], 4),
    ("drop_unless_only", {"name": "direct"}, [["a", "a", "b", "a"], ["direct"], ["b"], ["a"]],
     4),
    ("drop_if_last", {"name": "direct"}, [["a", "a", "b", "a"], ["direct"], ["b"],
                                          ["direct", "a"]], 3),
])
def test_transforms_hand_cases(name, params, expected, removed):
    out = j4().transform(name, **params)
    assert paths_of(out) == expected
    last = out.report_.iloc[-1]
    assert last["item"] == "touches removed" and last["count"] == removed
    np.testing.assert_array_equal(out.conversions, [1, 1, 0, 2])


def test_frequency_renames_with_counts_and_keeps_channels():
    out = j4().transform("frequency")
    assert paths_of(out) == [["a(3)", "b(1)"], ["direct(1)"], ["b(1)", "direct(2)"],
                             ["direct(2)", "a(1)"]]
    ch = dict(zip(out.names, out.channel_names[out.channel_of], strict=True))
    assert ch == {"a(1)": "x", "a(3)": "x", "b(1)": "x", "direct(1)": "y", "direct(2)": "y"}


def test_transform_errors():
    with pytest.raises(at.ParameterError, match="unknown transform"):
        j4().transform("dedupe")
    with pytest.raises(at.InputError, match="'email' is not in these journeys"):
        j4().transform("drop_if_last", name="email")
    with pytest.raises(at.ParameterError, match=r"takes \['n'\]"):
        j4().transform("trim")
    with pytest.raises(at.ParameterError, match="no parameters"):
        j4().transform("collapse", n=3)
    with pytest.raises(at.ParameterError, match="n >= 1"):
        j4().transform("trim", n=0)


def test_transforms_keep_times_hand_case():
    j = make_journeys([[0, 0, 1, 0], [3], [1, 3, 3]], [1, 1, 0], names=NAMES,
                      times=np.array([1, 2, 3, 4, 10, 20, 21, 22]))
    # a run of repeats keeps its first touch; "first" keeps each entity's first touch
    for kind, params, times in (("collapse", {}, [1, 3, 4, 10, 20, 21]),
                                ("first", {}, [1, 3, 10, 20, 21]),
                                ("trim", {"n": 2}, [3, 4, 10, 21, 22])):
        assert j.transform(kind, **params).times.tolist() == times, kind


def test_transforms_keep_times_aligned(sample_journeys):
    j = sample_journeys
    out = j.transform("collapse")
    # reference: per journey, the (code, time) of every touch whose code differs from the last
    want_codes, want_times = [], []
    for a, b in zip(j.offsets[:-1], j.offsets[1:], strict=True):
        codes, times = j.codes[a:b], j.times[a:b]
        keep = np.r_[True, codes[1:] != codes[:-1]]
        want_codes.append(codes[keep])
        want_times.append(times[keep])
    np.testing.assert_array_equal(out.codes, np.concatenate(want_codes))
    np.testing.assert_array_equal(out.times, np.concatenate(want_times))
    np.testing.assert_array_equal(out.lengths, [len(c) for c in want_codes])


@given(journeys_strategy(max_journeys=10, max_len=8, n_codes=3))
@settings(max_examples=60, deadline=None)
def test_transform_properties(j):
    c = j.transform("collapse")
    assert paths_of(c.transform("collapse")) == paths_of(c)  # idempotent
    f = j.transform("first")
    for p_first, p in zip(paths_of(f), paths_of(j), strict=True):
        assert p_first == list(dict.fromkeys(p))  # order of first appearance
    assert (f.lengths >= 1).all() and (c.lengths >= 1).all()
    t = j.transform("trim", n=2)
    assert paths_of(t) == [p[-2:] for p in paths_of(j)]
