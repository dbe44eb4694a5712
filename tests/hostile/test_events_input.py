"""Hostile event logs and Journeys arguments: labels that print the same but differ in type
(item 9 of "No silent wrong answers"), channel maps that do not cover every touchpoint, and
options of from_events. Each case is an AttributionError of the right class whose one-line
message names the culprit.
"""

import numpy as np
import pandas as pd
import pytest

import attribution as at

from .test_times import raises

D = pd.Timestamp


def frame(**cols):
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2],
                       "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
                                             "2024-01-01", "2024-01-02"]),
                       "tp": ["a", "b", None, "c", None], "ch": ["x", "y", None, "z", None],
                       "st": ["pre", "pre", None, "post", None], "conv": [0, 0, 1, 0, 1]})
    for k, v in cols.items():
        df[k] = pd.Series(v, dtype=object) if isinstance(v, list) else v
    return df


def build(df, **kw):
    args = dict(journey="user", time="ts", touchpoint="tp", conversion="conv")
    args.update(kw)
    return at.Journeys.from_events(df, **args)


# ---------------------------------------------------------------- 9. 1 and "1"
@pytest.mark.parametrize("col, values, kw, role, shown", [
    ("tp", [1, "1", None, 2, None], {}, "touchpoint", "1 (int) and '1' (str)"),
    ("tp", [1.5, "1.5", None, "a", None], {}, "touchpoint", "1.5 (float) and '1.5' (str)"),
    ("tp", [True, "True", None, "a", None], {}, "touchpoint", "True (bool) and 'True' (str)"),
    ("ch", [7, "7", None, "z", None], dict(channel="ch"), "channel", "7 (int) and '7' (str)"),
    ("st", [0, "0", None, "post", None], dict(stage="st"), "stage", "0 (int) and '0' (str)"),
    ("user", [1, 1, 1, "1", "1"], {}, "journey", "1 (int) and '1' (str)"),
    ("user", [np.int64(5), 5, 5, "5", "5"], {}, "journey", "'5' (str)"),
])
def test_labels_that_print_the_same(col, values, kw, role, shown):
    raises(at.InputError, f"column {col!r} ({role})", shown, "one type", ".astype(str)",
           fn=lambda: build(frame(**{col: values}), **kw))


def test_categorical_labels_that_print_the_same():
    tp = pd.Series(pd.Categorical([1, "1", None, 1, None], categories=[1, "1"]))
    raises(at.InputError, "column 'tp' (touchpoint)", "1 (int) and '1' (str)",
           fn=lambda: build(frame(tp=tp)))


def test_labels_of_one_type_are_fine():
    j = build(frame(tp=[1, 2, None, 10, None]))
    assert list(j.names) == ["1", "10", "2"]
    j = build(frame(user=["1", "1", "1", 2.5, 2.5]))  # mixed, but all distinct when printed
    assert sorted(map(str, j.ids)) == ["1", "2.5"]


# ---------------------------------------------------------------- the channel map
@pytest.mark.parametrize("kw, cls, parts", [
    (dict(channel_of=[0, 0]), at.ParameterError, ["channel_of needs channel_names"]),
    (dict(channel_names=["web"]), at.ParameterError, ["channel_names needs channel_of"]),
    (dict(channel_of=[0], channel_names=["web"]), at.InputError,
     ["each of the 2 names", "got 1 code(s)"]),
    (dict(channel_of=[0, 1], channel_names=["web"]), at.InputError,
     ["gives 'b' the code 1", "1 channel names"]),
    (dict(channel_of=[-1, 0], channel_names=["web"]), at.InputError, ["gives 'a' the code -1"]),
    (dict(channel_of=[0, 2**32], channel_names=["web"]), at.InputError,
     ["gives 'b' the code 4294967296"]),
    (dict(channel_of=[0, 0.5], channel_names=["web"]), at.InputError,
     ["integer channel codes"]),
    (dict(channel_of=["web", "web"], channel_names=["web"]), at.InputError,
     ["integer channel codes"]),
    (dict(channel_of=[0, 0], channel_names="web"), at.ParameterError,
     ["channel_names must be a sequence"]),
])
def test_constructor_channel_map_covers_every_touchpoint(kw, cls, parts):
    raises(cls, *parts, fn=lambda: at.Journeys([0, 1, 2], [0, 1], [1, 0], names=["a", "b"],
                                               **kw))


# ---------------------------------------------------------------- options of from_events
@pytest.mark.parametrize("kw, parts", [
    (dict(conversion_window="2024-01-01"), ["conversion_window must be a pair"]),
    (dict(conversion_window=("2024-01-01",)), ["conversion_window must be a pair"]),
    (dict(conversion_window=5), ["conversion_window must be a pair", "5"]),
    (dict(conversion_window=("2024-02-01", "2024-01-01")), ["start <= end"]),
    (dict(max_touches=True), ["max_touches must be an integer >= 1", "True"]),
    (dict(max_touches=2.0), ["max_touches must be an integer >= 1", "2.0"]),
    (dict(open_journeys="maybe"), ["open_journeys must be 'keep' or 'drop'", "'maybe'"]),
])
def test_bad_options(kw, parts):
    raises(at.ParameterError, *parts, fn=lambda: build(frame(), **kw))
