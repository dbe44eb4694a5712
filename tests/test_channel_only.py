"""Channel-only event logs: ``touchpoint=None`` reads the channel column as the touchpoints; a
row with a channel but no touchpoint is a touch named after its channel (counted); conversion
rows without either are conversions of their own; a conversion row with a channel but no
touchpoint is ambiguous and refused, naming the rows."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from tests.conftest import paths_of

T = pd.Timestamp
ARGS = dict(journey="user", time="ts", conversion="conv", value="rev")


def log(rows):
    return pd.DataFrame(rows, columns=["user", "ts", "tp", "ch", "conv", "rev"])


CHANNELS = log([
    (1, T("2024-01-01"), None, "email", 0, 0.0),
    (1, T("2024-01-02"), None, "search", 0, 0.0),
    (1, T("2024-01-03"), None, None, 1, 10.0),   # a conversion of its own
    (2, T("2024-01-01"), None, "search", 1, 4.0),  # a touch that converts
    (2, T("2024-01-05"), None, "email", 0, 0.0),   # after the last conversion
])


def test_channel_column_as_touchpoints():
    j = at.Journeys.from_events(CHANNELS, channel="ch", touchpoint=None, **ARGS)
    assert paths_of(j) == [["email", "search"], ["search"], ["email"]]
    np.testing.assert_array_equal(j.conversions, [1, 1, 0])
    np.testing.assert_array_equal(j.value, [10, 4, 0])
    assert list(j.names) == list(j.channel_names) == ["email", "search"]
    # the same as naming the channel column as the touchpoint column
    same = at.Journeys.from_events(CHANNELS, channel="ch", touchpoint="ch", **ARGS)
    for attr in ("offsets", "codes", "conversions", "value", "times", "channel_of"):
        np.testing.assert_array_equal(getattr(j, attr), getattr(same, attr), err_msg=attr)
    credit = at.LastTouch().fit(j).credit_
    assert credit.to_dict() == {"email": 0.0, "search": 2.0}
    with pytest.raises(at.ParameterError, match="or for channel-only data the channel column"):
        at.Journeys.from_events(CHANNELS, touchpoint=None, **ARGS)


def test_empty_touchpoint_on_a_touch_row_takes_its_channel():
    df = log([
        (1, T("2024-01-01"), "newsletter", "email", 0, 0.0),
        (1, T("2024-01-02"), None, "direct", 0, 0.0),    # a touch named after its channel
        (1, T("2024-01-03"), None, None, 1, 10.0),        # a conversion of its own
        (2, T("2024-01-01"), None, "direct", 0, 0.0),
        (2, T("2024-01-02"), "newsletter", "email", 1, 3.0),
    ])
    j = at.Journeys.from_events(df, touchpoint="tp", channel="ch", **ARGS)
    assert paths_of(j) == [["newsletter", "direct"], ["direct", "newsletter"]]
    ch = dict(zip(j.names, j.channel_names[j.channel_of], strict=True))
    assert ch == {"direct": "direct", "newsletter": "email"}
    report = j.report_.set_index("item")["count"]
    assert report["touch rows without touchpoint named after their channel"] == 2
    assert at.LastNonDirect().fit(j).credit_.to_dict() == {"direct": 0.0, "newsletter": 2.0}


def test_rows_without_touchpoint_nor_channel_that_do_not_convert_are_counted():
    df = CHANNELS.copy()
    df.loc[4, "ch"] = None
    with pytest.warns(at.DroppedDataWarning, match="1 row.s. with neither touchpoint nor "
                                                   "conversion"):
        j = at.Journeys.from_events(df, channel="ch", touchpoint=None, **ARGS)
    assert paths_of(j) == [["email", "search"], ["search"]]
    report = j.report_.set_index("item")["count"]
    assert report["rows with neither touchpoint nor conversion dropped"] == 1


def test_a_conversion_row_with_a_channel_but_no_touchpoint_is_refused():
    df = log([
        (1, T("2024-01-01"), "newsletter", "email", 0, 0.0),
        (1, T("2024-01-02"), None, "direct", 1, 5.0),
    ]).set_axis(["r1", "r2"])
    with pytest.raises(at.InputError, match=r"row\(s\) 'r2' are conversions with a channel "
                                            r"\(column 'ch'\) but no touchpoint"):
        at.Journeys.from_events(df, touchpoint="tp", channel="ch", **ARGS)
    # without a channel column the row is a conversion of its own, as before
    j = at.Journeys.from_events(df, touchpoint="tp", **ARGS)
    assert paths_of(j) == [["newsletter"]] and j.conversions.tolist() == [1.0]


def test_a_filled_name_that_clashes_with_a_touchpoint_of_another_channel_is_refused():
    df = log([
        (1, T("2024-01-01"), "email", "web", 0, 0.0),
        (1, T("2024-01-02"), None, "email", 0, 0.0),
        (1, T("2024-01-03"), None, None, 1, 1.0),
    ])
    with pytest.raises(at.InputError, match="touchpoint 'email' appears with several values"):
        at.Journeys.from_events(df, touchpoint="tp", channel="ch", **ARGS)


@given(rows=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 30),
                               st.sampled_from(["a", "b", None]), st.booleans()),
                     min_size=1, max_size=20))
@settings(max_examples=40, deadline=None)
def test_filling_equals_naming_the_touchpoint_after_its_channel(rows):
    """Blank touchpoints on non-converting rows with a channel give the journeys of a log
    where those touchpoints hold the channel's name."""
    df = pd.DataFrame(rows, columns=["user", "minute", "ch", "conv"])
    df["ts"] = T("2024-01-01") + pd.to_timedelta(df.pop("minute"), "min")
    df["tp"] = df["ch"].map({"a": "a1", "b": "b1"})
    df.loc[df["ch"].notna() & ~df["conv"], "tp"] = None  # blank on non-converting rows
    full = df.assign(tp=df["tp"].where(df["tp"].notna(), df["ch"]))
    kw = dict(journey="user", time="ts", touchpoint="tp", channel="ch", conversion="conv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        try:
            want = at.Journeys.from_events(full, **kw)
        except at.EmptyInputError:
            with pytest.raises(at.EmptyInputError):
                at.Journeys.from_events(df, **kw)
            return
        got = at.Journeys.from_events(df, **kw)
    assert paths_of(got) == paths_of(want)
    np.testing.assert_array_equal(got.conversions, want.conversions)
    filled = int((df["tp"].isna() & df["ch"].notna()).sum())
    report = got.report_.set_index("item")["count"]
    assert report.get("touch rows without touchpoint named after their channel", 0) == filled


@pytest.mark.parametrize("kind", ["object", "string", "category", "arrow"])
def test_empty_strings_are_missing_labels_as_a_csv_reader_may_keep_them(kind):
    """pyarrow's CSV reader and keep_default_na=False keep "" where pandas reads NaN: the same
    journeys either way, never a touchpoint named ""."""
    rows = [(1, T("2024-01-01"), "newsletter", "email", 0, 0.0),
            (1, T("2024-01-02"), "ad", "display", 0, 0.0),
            (1, T("2024-01-03"), None, None, 1, 10.0),
            (2, T("2024-01-01"), "ad", "display", 0, 0.0),
            (2, T("2024-01-04"), None, None, 1, 5.0)]
    nan = log(rows)
    blank = nan.fillna({"tp": "", "ch": ""})
    if kind == "arrow":
        import pyarrow as pa

        blank = pa.Table.from_pandas(blank, preserve_index=False)
    else:
        blank = blank.astype({"tp": kind, "ch": kind})
    want = at.Journeys.from_events(nan, touchpoint="tp", channel="ch", **ARGS)
    got = at.Journeys.from_events(blank, touchpoint="tp", channel="ch", **ARGS)
    assert "" not in list(got.names) and "" not in list(got.channel_names)
    assert paths_of(got) == paths_of(want) == [["newsletter", "ad"], ["ad"]]
    assert at.Linear().fit(got).credit_.to_dict() == at.Linear().fit(want).credit_.to_dict()
