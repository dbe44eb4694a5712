import numpy as np
import pandas as pd
import pytest

import attribution as at
from tests.conftest import paths_of


def test_from_paths_parses_strips_and_keeps_fractions():
    df = pd.DataFrame({"path": [" b >a", "a > b > a", "c"], "total_conversions": [1.5, 0, 2],
                       "total_null": [1, 2, 0]})
    j = at.Journeys.from_paths(df)
    assert list(j.names) == ["a", "b", "c"]  # sorted vocabulary, spaces stripped
    assert paths_of(j) == [["b", "a"], ["a", "b", "a"], ["c"]]
    np.testing.assert_array_equal(j.conversions, [1.5, 0, 2])  # fractions kept
    np.testing.assert_array_equal(j.nulls, [1, 2, 0])
    assert list(j.ids) == [0, 1, 2]
    assert j.level == "channel"


def test_from_paths_custom_columns_separator_and_value():
    df = pd.DataFrame({"p": ["x|y", "y"], "c": [1, 2], "v": [10.0, 5.0]})
    j = at.Journeys.from_paths(df, path="p", conversions="c", nulls=None, value="v", sep="|")
    assert paths_of(j) == [["x", "y"], ["y"]]
    np.testing.assert_array_equal(j.value, [10, 5])
    np.testing.assert_array_equal(j.nulls, [0, 0])


def test_repeated_path_strings_parse_identically():
    df = pd.DataFrame({"path": ["a > b", "c", "a > b", "c", "a > b"],
                       "total_conversions": [1, 2, 3, 4, 5], "total_null": 0})
    j = at.Journeys.from_paths(df)
    assert paths_of(j) == [["a", "b"], ["c"], ["a", "b"], ["c"], ["a", "b"]]


def test_channel_map_gives_touchpoint_level():
    df = pd.DataFrame({"path": ["tv > blog", "blog"], "total_conversions": [1, 1],
                       "total_null": [0, 1]})
    j = at.Journeys.from_paths(df, channel_map={"tv": "offline", "blog": "web"})
    assert j.level == "touchpoint"
    assert list(j.channel_names[j.channel_of]) == ["web", "offline"]  # names: blog, tv
    jc = j.at_level("channel")
    assert paths_of(jc) == [["offline", "web"], ["web"]]
    with pytest.raises(at.InputError, match="channel_map has no channel"):
        at.Journeys.from_paths(df, channel_map={"tv": "offline"})


def test_empty_path_with_conversions_names_the_row():
    df = pd.DataFrame({"path": ["a", "  ", "b"], "total_conversions": [1, 2, 0],
                       "total_null": [0, 0, 1]}, index=[10, 11, 12])
    with pytest.raises(at.InputError, match=r"row\(s\) 11 .*empty path.*conversions"):
        at.Journeys.from_paths(df)


def test_empty_path_with_only_nulls_is_dropped_and_counted():
    df = pd.DataFrame({"path": ["a", "", "b > a"], "total_conversions": [1, 0, 0],
                       "total_null": [0, 4, 1]})
    with pytest.warns(at.DroppedDataWarning, match="1 row"):
        j = at.Journeys.from_paths(df)
    assert j.n_journeys == 2 and list(j.names) == ["a", "b"]
    rep = j.report_
    assert rep.loc[rep["item"].str.contains("empty path"), "count"].item() == 1


def test_doubled_separator_is_an_error():
    df = pd.DataFrame({"path": ["a > > b"], "total_conversions": [1], "total_null": [0]})
    with pytest.raises(at.InputError, match="empty touchpoint name between separators"):
        at.Journeys.from_paths(df)


def test_missing_column_lists_present_columns():
    df = pd.DataFrame({"path": ["a"], "conv": [1]})
    msg = "conversions='total_conversions'.*'path', 'conv'"
    with pytest.raises(at.MissingColumnError, match=msg):
        at.Journeys.from_paths(df)


@pytest.mark.parametrize("bad, err, msg", [
    (["1", "x"], at.ColumnTypeError, "must be numeric"),
    ([1, np.nan], at.InputError, "missing value.*row.*1"),
    ([1, -2], at.InputError, "finite and >= 0.*row.*1"),
    ([1, np.inf], at.InputError, "finite and >= 0"),
])
def test_bad_counts(bad, err, msg):
    df = pd.DataFrame({"path": ["a", "b"], "total_conversions": bad, "total_null": [0, 0]})
    with pytest.raises(err, match=msg):
        at.Journeys.from_paths(df)


def test_bad_path_values_and_empty_input():
    with pytest.raises(at.InputError, match="missing value"):
        at.Journeys.from_paths(pd.DataFrame({"path": ["a", None], "total_conversions": [1, 1],
                                             "total_null": [0, 0]}))
    with pytest.raises(at.ColumnTypeError, match="must hold strings"):
        at.Journeys.from_paths(pd.DataFrame({"path": [1.5], "total_conversions": [1],
                                             "total_null": [0]}))
    with pytest.raises(at.EmptyInputError):
        at.Journeys.from_paths(pd.DataFrame({"path": [], "total_conversions": [],
                                             "total_null": []}))
    with pytest.raises(at.ColumnTypeError, match="DataFrame"):
        at.Journeys.from_paths([("a", 1)])


def test_round_trip_to_paths(ca_paths):
    j = at.Journeys.from_paths(ca_paths, value="total_conversion_value")
    back = at.Journeys.from_paths(j.to_paths(), value="total_conversion_value")
    a = j.aggregate()
    assert paths_of(back) == paths_of(a)
    np.testing.assert_allclose(back.conversions, a.conversions)
    np.testing.assert_allclose(back.value, a.value)


def test_separator_inside_a_name_is_refused_on_output():
    j = at.Journeys([0, 2], [0, 1], [1], names=["a>b", "c"])
    with pytest.raises(at.InputError, match="contain the path separator '>'"):
        j.to_paths()
    assert list(j.to_paths(sep=" | ")["path"]) == ["a>b | c"]


def test_chunked_arrow_strings_after_concat():
    a = pd.DataFrame({"path": ["a > b"], "total_conversions": [1], "total_null": [0]})
    b = pd.DataFrame({"path": ["b", "a > b"], "total_conversions": [0, 2], "total_null": [1, 0]})
    j = at.Journeys.from_paths(pd.concat([a, b], ignore_index=True))
    assert paths_of(j) == [["a", "b"], ["b"], ["a", "b"]]
    assert j.aggregate().n_journeys == 2


def test_aggregate_option_merges_spelling_variants():
    df = pd.DataFrame({"path": ["a > b", "a>b", " a >  b ", "b", "", "b > a"],
                       "total_conversions": [1, 2, 0.5, 1, 0, 3],
                       "total_null": [1, 0, 2, 0, 4, 1], "v": [5.0, 6, 1, 2, 0, 9]})
    with pytest.warns(at.DroppedDataWarning):
        j = at.Journeys.from_paths(df, value="v", aggregate=True)
    assert paths_of(j) == [["a", "b"], ["b"], ["b", "a"]]
    np.testing.assert_array_equal(j.conversions, [3.5, 1, 3])
    np.testing.assert_array_equal(j.nulls, [3, 0, 1])
    np.testing.assert_array_equal(j.value, [12, 2, 9])
    assert j.ids is None


@pytest.mark.parametrize("model", ["first", "last", "linear", "position", "markov"])
def test_aggregate_option_gives_the_same_credit(ca_paths, model):
    rows = at.Journeys.from_paths(ca_paths, value="total_conversion_value")
    agg = at.Journeys.from_paths(ca_paths, value="total_conversion_value", aggregate=True)
    a = at.get_model(model).fit(rows)
    b = at.get_model(model).fit(agg)
    np.testing.assert_allclose(a.credit_, b.credit_, rtol=1e-12)
    np.testing.assert_allclose(a.value_credit_, b.value_credit_, rtol=1e-12)
