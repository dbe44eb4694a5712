import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.journeys.paths import group_identical_paths
from tests.conftest import journeys_strategy, make_journeys


def test_constructor_validates():
    with pytest.raises(at.InputError, match="no touch"):
        at.Journeys([0, 1, 1], [0], names=["a"])
    with pytest.raises(at.InputError, match="codes must lie"):
        at.Journeys([0, 1], [3], names=["a"])
    with pytest.raises(at.InputError, match="one entry per journey"):
        at.Journeys([0, 1], [0], [1, 2], names=["a"])
    with pytest.raises(at.InputError, match=">= 0"):
        at.Journeys([0, 1], [0], [-1], names=["a"])


def test_aggregate_sums_identical_paths():
    j = make_journeys([[0, 1], [1], [0, 1], [1, 0], [1]], [1, 0, 2, 1, 3], [0, 1, 1, 0, 0],
                      [5, 0, 7, 1, 2])
    a = j.aggregate()
    assert a.n_journeys == 3
    got = {tuple(a.codes[s:e]): (c, n, v) for s, e, c, n, v in
           zip(a.offsets[:-1], a.offsets[1:], a.conversions, a.nulls, a.value, strict=False)}
    assert got == {(0, 1): (3, 1, 12), (1,): (3, 1, 2), (1, 0): (1, 0, 1)}
    assert a.ids is None and a.times is None


@given(journeys_strategy(max_journeys=30, max_len=5, n_codes=3))
@settings(max_examples=60, deadline=None)
def test_grouping_matches_python_tuples(j):
    group, first = group_identical_paths(j.offsets, j.codes)
    keys = [tuple(j.codes[a:b]) for a, b in zip(j.offsets[:-1], j.offsets[1:], strict=False)]
    expected = {}
    for _i, k in enumerate(keys):
        expected.setdefault(k, len(expected))
    assert list(group) == [expected[k] for k in keys]
    assert [keys[f] for f in first] == list(expected)


def test_select_and_at_level():
    j = make_journeys([[0, 1, 2], [2], [1, 1]], [1, 0, 2], names=["tv", "blog", "store"],
                      channel_of=[0, 1, 0], channel_names=["offline", "web"])
    s = j.select([2, 0])
    assert s.n_journeys == 2 and list(s.codes) == [1, 1, 0, 1, 2]
    np.testing.assert_array_equal(s.conversions, [2, 1])
    c = j.at_level("channel")
    assert c.level == "channel" and list(c.names) == ["offline", "web"]
    assert list(c.codes) == [0, 1, 0, 0, 1, 1]
    with pytest.raises(at.ParameterError, match="channel level"):
        c.at_level("touchpoint")


def test_describe_reports_figures(sample_journeys):
    d = sample_journeys.describe()
    ov = d.overview
    assert ov["journeys (rows)"] == sample_journeys.n_journeys
    assert ov["conversions"] == pytest.approx(sample_journeys.conversions.sum())
    assert ov["touches per journey (mean)"] == pytest.approx(sample_journeys.lengths.mean())
    assert ov["touches per journey (median)"] == np.median(sample_journeys.lengths)
    conv = sample_journeys.conversions > 0
    assert ov["touches before conversion (mean)"] == pytest.approx(
        sample_journeys.lengths[conv].mean())
    assert len(d.top_paths) == 10
    assert d.top_paths["journeys"].is_monotonic_decreasing
    assert "Top paths" in str(d) and "<h4>" in d._repr_html_()


def test_weighted_describe_on_aggregated(ca_journeys):
    d = ca_journeys.describe(top=3)
    w = ca_journeys.conversions + ca_journeys.nulls
    assert d.overview["touches per journey (mean)"] == pytest.approx(
        np.average(ca_journeys.lengths, weights=w))
    assert d.overview["conversion rate"] == pytest.approx(18 / 57)


def test_journeys_pickle(ca_journeys):
    j2 = pickle.loads(pickle.dumps(ca_journeys))
    np.testing.assert_array_equal(j2.codes, ca_journeys.codes)


def test_describe_with_separator_in_names():
    j = at.Journeys([0, 2, 3], [0, 1, 0], [1, 0], [0, 1], names=["a>b", "c"])
    assert list(j.describe().top_paths["path"]) == ["a>b | c", "a>b"]


def test_distinct_pairs_and_exposure():
    j = make_journeys([[0, 1, 0], [1, 1], [2]], [1, 0, 2], [0, 3, 0])
    jj, code = j.distinct()
    assert list(zip(jj, code, strict=True)) == [(0, 0), (0, 1), (1, 1), (2, 2)]
    # weighted touches: c0 twice in journey 0 (weight 1), c1 once in 0 and twice in 1 (weight 3)
    np.testing.assert_array_equal(j.exposure(), [2, 7, 2])


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=20))
@settings(max_examples=100, deadline=None)
def test_ranges_concatenates_aranges(pairs):
    from attribution.journeys.paths import ranges

    starts = np.array([p[0] for p in pairs], dtype=np.int64)
    lengths = np.array([p[1] for p in pairs], dtype=np.int64)
    expected = [x for s, n in pairs for x in range(s, s + n)]
    assert ranges(starts, lengths).tolist() == expected


def test_immutable_read_only_views_of_the_callers_arrays():
    codes = np.array([0, 1, 1], dtype=np.int32)
    conversions = np.array([1.0, 0.0])
    j = at.Journeys([0, 2, 3], codes, conversions, names=["a", "b"])
    for key in ("offsets", "codes", "conversions", "nulls", "value", "names", "channel_of"):
        assert not getattr(j, key).flags.writeable, key
    assert codes.flags.writeable and conversions.flags.writeable
    with pytest.raises(AttributeError, match=r"immutable.*replace\(codes=\.\.\.\)"):
        j.codes = codes
    r = j.replace(conversions=[0.0, 2.0])
    assert list(r.conversions) == [0, 2] and list(j.conversions) == [1, 0]
    assert np.shares_memory(r.codes, j.codes)
    back = pickle.loads(pickle.dumps(j))
    with pytest.raises(AttributeError):
        back.level = "channel"


def test_to_paths_round_trips_through_from_paths():
    j = make_journeys([[0, 1], [1], [0, 1]], [1, 0, 2], [0, 1, 1], [5, 0, 7],
                      names=["tv", "blog"])
    table = j.to_paths()
    assert list(table["path"]) == ["tv > blog", "blog"]
    assert list(j.path_strings(sep="|")) == ["tv|blog", "blog", "tv|blog"]
    back = at.Journeys.from_paths(table, value="total_conversion_value")
    np.testing.assert_array_equal(back.aggregate().conversions, j.aggregate().conversions)
    np.testing.assert_array_equal(back.aggregate().value, j.aggregate().value)
    assert list(back.path_strings()) == list(table["path"])


def zoned(zone, times=(0, 5)):
    return at.Journeys([0, 1, 2], [0, 1], [1, 0], names=["a", "b"], times=list(times),
                       time_zone=zone)


def test_time_zone_is_carried_and_merged():
    j = zoned("Europe/Paris")
    assert j.time_zone == "Europe/Paris"
    assert j.select([1]).time_zone == "Europe/Paris"
    assert j.with_touches(np.array([True, True]), "none").time_zone == "Europe/Paris"
    assert j.replace(time_zone="UTC").time_zone == "UTC"
    assert j.aggregate().time_zone is None
    assert at.Journeys.concat([j, zoned("Europe/Paris")]).time_zone == "Europe/Paris"
    both = at.Journeys.concat([j, zoned("+02:00")])
    assert both.time_zone == "UTC"  # the parts differ: the instants are kept, shown in UTC
    np.testing.assert_array_equal(both.times, [0, 5, 0, 5])
    assert at.Journeys.concat([zoned(None), zoned(None)]).time_zone is None
    no_times = at.Journeys([0, 1], [0], [1], names=["a"])
    assert at.Journeys.concat([j, no_times]).time_zone is None  # times dropped, zone too
    with pytest.raises(at.ParameterError, match="time_zone='Nowhere' is not a time zone"):
        zoned("Nowhere")


def test_time_columns_are_shown_in_the_zone():
    from attribution.journeys.export import missing_times, time_column

    shown = pd.Series(time_column(zoned("Asia/Tokyo"), np.array([0])))
    assert list(shown) == [pd.Timestamp("1970-01-01 09:00", tz="Asia/Tokyo")]
    gaps = pd.Series(missing_times(zoned("Asia/Tokyo"), 2))
    assert str(gaps.dtype) == "datetime64[ns, Asia/Tokyo]" and gaps.isna().all()
    assert pd.Series(missing_times(zoned(None), 1)).dtype == np.dtype("datetime64[ns]")
    steps = at.Journeys([0, 1], [0], names=["a"], times=[4], time_kind="numeric")
    assert list(missing_times(steps, 2)) == [-1, -1]
    assert list(time_column(steps, steps.times)) == [4]


def test_constructor_reads_whole_numbers_and_refuses_the_rest():
    j = at.Journeys(np.array([0.0, 2.0, 3.0]), np.array([1.0, 0.0, 1.0]), [True, False],
                    names=("a", "b"), seq=[0.0, 1.0], ids=np.array(["x", "y"], dtype=object))
    assert j.offsets.dtype == np.int64 and j.codes.dtype == np.int32
    assert list(j.codes) == [1, 0, 1] and list(j.conversions) == [1, 0] and list(j.seq) == [0, 1]
    with pytest.raises(at.InputError, match="offsets must start at 0 and end at len"):
        at.Journeys([1, 2], [0], names=["a"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning before the error
        with pytest.raises(at.InputError, match="offsets must hold .*position 1 holds inf"):
            at.Journeys(np.array([0.0, np.inf]), [0], names=["a"])


def test_select_positions_masks_and_slices():
    j = make_journeys([[0], [1], [0, 1]], [1, 2, 3])
    assert list(j.select([-1, 0]).conversions) == [3, 1]
    assert list(j.select(np.array([False, True, True])).conversions) == [2, 3]
    assert list(j.select(slice(1, None)).conversions) == [2, 3]
    assert j.select([]).n_journeys == 0
    assert list(j.select(np.array([2], dtype=np.uint8)).conversions) == [3]
