import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from tests.conftest import CA_PATHS, paths_of


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


# -- the vectorised parser: separators, spellings, groups ----------------------------------
def reference_paths(strings, sep):
    """Each string's path by plain Python (None for an empty path), as from_paths reads it."""
    out = []
    for s in strings:
        if not s.strip():
            out.append(None)
            continue
        out.append([t.strip() for t in s.split(sep.strip())])
    return out


def path_groups_by_value(j):
    """(group, first) of the journeys' paths numbered by first appearance, by plain Python."""
    seen, group, first = {}, [], []
    for i, p in enumerate(paths_of(j)):
        if tuple(p) not in seen:
            seen[tuple(p)] = len(seen)
            first.append(i)
        group.append(seen[tuple(p)])
    return group, first


def test_odd_whitespace_and_unicode_names():
    df = pd.DataFrame({"path": ["\tb\u00a0>  é ", "é>b", " 日本 > a\u2003>b", "a"],
                       "total_conversions": [1, 2, 3, 4], "total_null": 0})
    j = at.Journeys.from_paths(df)
    assert list(j.names) == ["a", "b", "é", "日本"]  # code-point order
    assert paths_of(j) == [["b", "é"], ["é", "b"], ["日本", "a", "b"], ["a"]]
    np.testing.assert_array_equal(j.path_groups[0], [0, 1, 2, 3])


@pytest.mark.parametrize("sep", ["->", " | ", "→", "::", "ab"])
def test_multi_character_separators(sep):
    strings = [f"x{sep}y", f" y {sep.strip()}x{sep}x ", "x", f"y{sep}y"]
    df = pd.DataFrame({"path": strings, "total_conversions": 1, "total_null": [0, 1, 2, 3]})
    j = at.Journeys.from_paths(df, sep=sep)
    assert paths_of(j) == reference_paths(strings, sep)


def test_a_separator_never_spans_two_path_strings():
    # the distinct strings lie back to back in one buffer: "a-" then ">b" reads "a->b"
    df = pd.DataFrame({"path": ["a-", ">b", "a->b"], "total_conversions": 1, "total_null": 0})
    j = at.Journeys.from_paths(df, sep="->")
    assert paths_of(j) == [["a-"], [">b"], ["a", "b"]]


def test_overlapping_separators_split_leftmost_like_str_split():
    strings = ["a>>>b", "a>>b>>>c", ">b>>c"]
    df = pd.DataFrame({"path": strings, "total_conversions": 1, "total_null": 0})
    j = at.Journeys.from_paths(df, sep=">>")
    assert paths_of(j) == reference_paths(strings, ">>")
    assert paths_of(j) == [["a", ">b"], ["a", "b", ">c"], [">b", "c"]]
    with pytest.raises(at.InputError, match="empty touchpoint name"):  # "a", "b", "", "c"
        at.Journeys.from_paths(df.assign(path=["a>>b>>>>c", "a", "b"]), sep=">>")


def test_a_name_with_two_raw_spellings_shares_one_path():
    df = pd.DataFrame({"path": ["a > b", " a > b", "a >b ", "b > a", "b >  a", "a"],
                       "total_conversions": [1, 2, 3, 4, 5, 6], "total_null": 1,
                       "v": [1.0, 2, 3, 4, 5, 6]})
    rows = at.Journeys.from_paths(df, value="v")
    assert paths_of(rows) == [["a", "b"]] * 3 + [["b", "a"]] * 2 + [["a"]]
    group, first = rows.path_groups
    assert (list(group), list(first)) == path_groups_by_value(rows) == ([0, 0, 0, 1, 1, 2],
                                                                        [0, 3, 5])
    agg = at.Journeys.from_paths(df, value="v", aggregate=True)
    assert paths_of(agg) == [["a", "b"], ["b", "a"], ["a"]]
    np.testing.assert_array_equal(agg.conversions, [6, 9, 6])
    np.testing.assert_array_equal(agg.value, [6, 9, 6])
    np.testing.assert_array_equal(rows.aggregate().conversions, agg.conversions)


def test_empty_paths_dropped_keep_path_groups():
    df = pd.DataFrame({"path": ["", "b > a", " ", "a", "b>a", "\t"],
                       "total_conversions": [0, 1, 0, 2, 3, 0], "total_null": [4, 0, 1, 1, 0, 2]})
    with pytest.warns(at.DroppedDataWarning, match="3 row"):
        rows = at.Journeys.from_paths(df)
    assert list(rows.ids) == [1, 3, 4]
    assert list(map(list, rows.path_groups)) == list(path_groups_by_value(rows))
    with pytest.warns(at.DroppedDataWarning, match="3 row"):
        agg = at.Journeys.from_paths(df, aggregate=True)
    assert paths_of(agg) == [["b", "a"], ["a"]]
    np.testing.assert_array_equal(agg.nulls, [0, 1])
    for j in (rows, agg):
        rep = j.report_
        assert rep.loc[rep["item"].str.contains("empty path"), "count"].item() == 3


def test_only_empty_paths_with_conversions_are_refused():
    df = pd.DataFrame({"path": ["a", " ", "b > a", " "], "total_conversions": [1, 0, 2, 1],
                       "total_null": 1}, index=list("wxyz"))
    for aggregate in (False, True):
        with pytest.raises(at.InputError, match=r"row\(s\) 'z' .*empty path"):
            at.Journeys.from_paths(df, aggregate=aggregate)


def test_trailing_or_leading_separator_is_an_error():
    for bad in ["a > b >", "> a", "a >> b"]:
        df = pd.DataFrame({"path": ["a", bad], "total_conversions": 1, "total_null": 0})
        with pytest.raises(at.InputError, match=r"empty touchpoint name .* row\(s\) 1 "):
            at.Journeys.from_paths(df)


@pytest.mark.parametrize("dtype", ["object", "category", "string[python]", "string[pyarrow]",
                                   "large_string"])
def test_path_column_dtypes(dtype):
    import pyarrow as pa

    col = pd.Series(["a > b", "b", "a > b", " b > a"])
    col = col.astype(pd.ArrowDtype(pa.large_string()) if dtype == "large_string" else dtype)
    df = pd.DataFrame({"path": col, "total_conversions": 1, "total_null": 0})
    j = at.Journeys.from_paths(df.iloc[1:])  # a slice: the strings need not start at 0
    assert paths_of(j) == [["b"], ["a", "b"], ["b", "a"]]


NAME = st.sampled_from(["a", "b", "é", "日本", "x y", "a-b", "-", "ch01"])
PAD = st.sampled_from(["", " ", "  ", "\t", "\u00a0"])


@st.composite
def path_tables(draw):
    sep = draw(st.sampled_from([">", " > ", "->", "|", "→", "--"]))
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        names = draw(st.lists(NAME.filter(lambda x: sep.strip() not in x), max_size=5))
        if not names:
            rows.append(draw(PAD))
            continue
        toks = [draw(PAD) + nm + draw(PAD) for nm in names]
        rows.append(sep.join(toks) if draw(st.booleans()) else sep.strip().join(toks))
    conv = [0.0 if not r.strip() else draw(st.sampled_from([0.0, 1.0, 2.5])) for r in rows]
    df = pd.DataFrame({"path": rows, "total_conversions": conv,
                       "total_null": draw(st.lists(st.sampled_from([0, 1, 3]),
                                                   min_size=len(rows), max_size=len(rows)))})
    return df, sep


@given(table=path_tables())
@settings(max_examples=150, deadline=None)
def test_parser_matches_plain_python(table):
    df, sep = table
    expected = reference_paths(df["path"], sep)
    kept = [i for i, p in enumerate(expected) if p is not None]
    if any("" in expected[i] for i in kept):  # e.g. "-" + "--" + "-" with sep "--"
        with pytest.raises(at.InputError, match="empty touchpoint name"):
            at.Journeys.from_paths(df, sep=sep)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        rows = at.Journeys.from_paths(df, sep=sep)
        agg = at.Journeys.from_paths(df, sep=sep, aggregate=True)
    if not kept:  # only empty paths: no journey left
        assert rows.n_journeys == agg.n_journeys == 0
        return
    assert paths_of(rows) == [expected[i] for i in kept]
    assert list(rows.names) == sorted({n for i in kept for n in expected[i]})
    assert list(rows.ids) == kept
    assert list(map(list, rows.path_groups)) == list(path_groups_by_value(rows))
    by_hash = rows.replace(path_groups=None).aggregate()
    assert paths_of(agg) == paths_of(by_hash)
    for w in ("conversions", "nulls", "value"):
        np.testing.assert_array_equal(getattr(agg, w), getattr(by_hash, w))


@pytest.mark.parametrize("model", ["linear", "markov"])
def test_aggregate_option_same_credit_with_variants_and_empty_paths(model):
    rng = np.random.default_rng(3)
    names = np.array(["a", " a", "b ", "b", "é", " é "])
    rows = [" > ".join(rng.choice(names, size=rng.integers(1, 5))) for _ in range(300)]
    rows[::17] = [" "] * len(rows[::17])
    conv = rng.integers(0, 3, size=300).astype(float)
    conv[::17] = 0
    df = pd.DataFrame({"path": rows, "total_conversions": conv,
                       "total_null": rng.integers(0, 3, size=300), "v": conv * 2.5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        a = at.get_model(model).fit(at.Journeys.from_paths(df, value="v"))
        b = at.get_model(model).fit(at.Journeys.from_paths(df, value="v", aggregate=True))
    np.testing.assert_allclose(a.credit_, b.credit_, rtol=1e-12)
    np.testing.assert_allclose(a.value_credit_, b.value_credit_, rtol=1e-12)


def test_an_object_column_of_numbers_is_refused():
    df = pd.DataFrame({"path": pd.Series([0, 1], dtype=object), "total_conversions": [1, 1],
                       "total_null": [0, 0]})
    with pytest.raises(at.ColumnTypeError, match="non-string value 0 at row 0"):
        at.Journeys.from_paths(df)


@pytest.mark.parametrize("sep, used", [("|", ">"), (">", "|"), ("->", ","), (";", "/")])
def test_a_separator_in_no_path_is_refused_naming_the_one_used(sep, used):
    """A sep that never matches would make each whole path one touchpoint."""
    df = pd.DataFrame({"path": [f"a {used} b", "c"], "total_conversions": [1, 2],
                       "total_null": [0, 1]})
    message = f"sep={sep!r} is in no path, which hold {used!r}: pass sep={used!r}"
    with pytest.raises(at.InputError, match=re.escape(message)):
        at.Journeys.from_paths(df, sep=sep)


def test_single_touch_paths_need_no_separator():
    df = pd.DataFrame({"path": ["a", "b c", "a"], "total_conversions": [1, 2, 0],
                       "total_null": [0, 1, 3]})
    j = at.Journeys.from_paths(df, sep="|")
    assert sorted(j.names) == ["a", "b c"] and j.n_journeys == 3


def test_single_touch_names_that_hold_separator_characters_are_fine():
    """Names such as 'google/cpc' or 'Smith, J' are no sign of another separator: only a
    separator with spaces around it (' > ') is."""
    df = pd.DataFrame({"path": ["google/cpc", "Smith, J", "a|b"], "total_conversions": [1, 2, 0],
                       "total_null": [0, 1, 3]})
    j = at.Journeys.from_paths(df)
    assert sorted(j.names) == ["Smith, J", "a|b", "google/cpc"]


def test_value_defaults_to_channelattributions_column_where_the_table_has_it(tmp_path):
    """to_paths writes total_conversion_value; reading it back (Python or the CLI) keeps the
    value unless told otherwise (it was silently 0)."""
    from attribution.cli import main
    Journeys = at.Journeys
    j = Journeys.from_paths(CA_PATHS)
    assert j.value.sum() == pytest.approx(CA_PATHS["total_conversion_value"].sum())
    assert Journeys.from_paths(CA_PATHS, value=None).value.sum() == 0
    assert Journeys.from_paths(CA_PATHS.drop(columns="total_conversion_value")).value.sum() == 0
    CA_PATHS.to_csv(tmp_path / "p.csv", index=False)
    assert main(["fit", str(tmp_path / "p.csv"), "-m", "linear", "-o",
                 str(tmp_path / "c.csv")]) == 0
    credit = pd.read_csv(tmp_path / "c.csv")
    assert credit["value"].sum() == pytest.approx(CA_PATHS["total_conversion_value"].sum())
