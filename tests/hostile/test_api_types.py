"""Odd Python types given to the public API: each call raises a subclass of
``attribution.AttributionError`` with a one-line message naming the argument, never a raw
numpy, pandas, pyarrow or scikit-learn error (and never a silent wrong answer).

Cases that fail because of code outside attribution/inference and attribution/evaluation are
marked ``xfail(strict=True)`` with the fix they need; they pass (and the mark must go) once
it is made."""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.journeys.validation import (
    AttributionError,
    AttributionWarning,
    ColumnTypeError,
    InputError,
    ParameterError,
    UnknownModelError,
)

EVENTS = pd.DataFrame({"user": [1, 1, 2],
                       "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                       "tp": ["a", "b", "a"], "conv": [0, 1, 1]})
COLS = dict(journey="user", time="time", touchpoint="tp", conversion="conv")
PATHS = pd.DataFrame({"path": ["a > b", "b", "a"], "total_conversions": [1, 2, 0],
                      "total_null": [0, 1, 3]})


def journeys():
    return at.Journeys.from_paths(PATHS)


class PolarsLike:
    """Quacks like a polars DataFrame: columns, shape, to_pandas, item access."""

    columns = list(PATHS.columns)
    shape = PATHS.shape

    def to_pandas(self):
        return PATHS.copy()

    def __getitem__(self, key):
        return PATHS[key].to_list()

    def __len__(self):
        return len(PATHS)


def bootstrapped():
    m = at.Linear()
    at.bootstrap(m, journeys(), n_boot=3, random_state=0)
    return m.result_


def fails(reason):
    return pytest.mark.xfail(strict=True, reason=reason)


CASES = [
    # Journeys.from_events: not a frame
    ("events-list", lambda: at.Journeys.from_events([[1, 2]], **COLS), ColumnTypeError,
     r"event log must be a pandas DataFrame, got list"),
    ("events-dict", lambda: at.Journeys.from_events(EVENTS.to_dict("list"), **COLS),
     ColumnTypeError, r"event log must be a pandas DataFrame, got dict"),
    ("events-ndarray", lambda: at.Journeys.from_events(EVENTS.to_numpy(), **COLS),
     ColumnTypeError, r"got ndarray"),
    ("events-None", lambda: at.Journeys.from_events(None, **COLS), ColumnTypeError,
     r"got NoneType"),
    ("events-Series", lambda: at.Journeys.from_events(EVENTS["tp"], **COLS), ColumnTypeError,
     r"got Series"),
    ("events-polars-like", lambda: at.Journeys.from_events(PolarsLike(), **COLS),
     ColumnTypeError, r"got PolarsLike"),
    ("events-object-times",
     lambda: at.Journeys.from_events(EVENTS.assign(time=[object()] * 3), **COLS),
     ColumnTypeError, r"column 'time' \(time\)"),
    ("events-max_touches-text", lambda: at.Journeys.from_events(EVENTS, **COLS,
                                                                max_touches="3"),
     ParameterError, r"max_touches must be"),
    ("events-journey-list",
     lambda: at.Journeys.from_events(EVENTS, **{**COLS, "journey": ["user"]}),
     ParameterError, r"^journey must be one column name \(a str or int\), got list \['user'\]"),
    ("events-time-None", lambda: at.Journeys.from_events(EVENTS, **{**COLS, "time": None}),
     ParameterError, r"^time must name a column of the frame, got None"),
    ("events-duplicate-columns",
     lambda: at.Journeys.from_events(pd.concat([EVENTS, EVENTS[["tp"]]], axis=1), **COLS),
     InputError, r"^column 'tp' \(touchpoint\) appears 2 times in the frame; drop or rename"),
    ("events-conversion_touchpoints-int",
     lambda: at.Journeys.from_events(EVENTS, journey="user", time="time", touchpoint="tp",
                                     conversion_touchpoints=5),
     ParameterError, r"^conversion_touchpoints must be a list of names .*got int 5"),
    # Journeys.from_paths: not a frame
    ("paths-list", lambda: at.Journeys.from_paths([["a > b", 1]]), ColumnTypeError,
     r"path table must be a pandas DataFrame, got list"),
    ("paths-dict", lambda: at.Journeys.from_paths(PATHS.to_dict("list")), ColumnTypeError,
     r"path table must be a pandas DataFrame, got dict"),
    ("paths-ndarray", lambda: at.Journeys.from_paths(PATHS.to_numpy()), ColumnTypeError,
     r"got ndarray"),
    ("paths-None", lambda: at.Journeys.from_paths(None), ColumnTypeError, r"got NoneType"),
    ("paths-Series", lambda: at.Journeys.from_paths(PATHS["path"]), ColumnTypeError,
     r"got Series"),
    ("paths-polars-like", lambda: at.Journeys.from_paths(PolarsLike()), ColumnTypeError,
     r"got PolarsLike"),
    ("paths-sep-int", lambda: at.Journeys.from_paths(PATHS, sep=3), InputError, r"sep must be"),
    ("paths-object-conversions",
     lambda: at.Journeys.from_paths(PATHS.assign(total_conversions=[object(), 1, 0])),
     ColumnTypeError, r"column 'total_conversions'"),
    ("paths-path-None", lambda: at.Journeys.from_paths(PATHS, path=None), ParameterError,
     r"^path must name a column of the frame, got None"),
    ("paths-path-list-name", lambda: at.Journeys.from_paths(PATHS, path=["path"]),
     ParameterError, r"^path must be one column name"),
    ("paths-path-of-lists",
     lambda: at.Journeys.from_paths(PATHS.assign(path=[["a"], ["b"], ["a"]])),
     AttributionError, r"'path'"),
    ("paths-complex-conversions",
     lambda: at.Journeys.from_paths(PATHS.assign(total_conversions=[1j, 2j, 0j])),
     ColumnTypeError, r"^column 'total_conversions' \(conversions\) holds complex numbers"),
    # the Journeys constructor
    ("init-nan-codes",
     lambda: at.Journeys([0, 1, 2], np.array([0.0, np.nan]), [1, 0], names=["a"]),
     InputError, r"^codes must hold entity codes \(whole numbers\), but position 1 holds nan"),
    ("init-short-conversions", lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0, 3], names=["a"]),
     InputError, r"conversions must have one entry per journey"),
    ("init-level", lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0], names=["a"], level="x"),
     ParameterError, r"level must be"),
    ("init-object-codes",
     lambda: at.Journeys([0, 1, 2], np.array([0, "x"], dtype=object), [1, 0], names=["a"]),
     InputError, r"^codes must hold entity codes, got dtype object holding 'x'"),
    ("init-fractional-codes",
     lambda: at.Journeys([0, 1, 2], np.array([0.0, 0.7]), [1, 0], names=["a"]),
     InputError, r"^codes must hold .*whole numbers.*position 1 holds 0.7"),
    ("init-2d-offsets", lambda: at.Journeys(np.array([[0, 1, 2]]), [0, 0], [1, 0], names=["a"]),
     InputError, r"^offsets must be a 1-D array of CSR offsets, got shape \(1, 3\)"),
    ("init-2d-codes", lambda: at.Journeys([0, 1, 2], np.array([[0], [0]]), [1, 0], names=["a"]),
     InputError, r"^codes must be a 1-D array of entity codes, got shape \(2, 1\)"),
    ("init-names-None", lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0], names=None), InputError,
     r"^names must be a 1-D array of names, got NoneType"),
    ("init-2d-names",
     lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0], names=np.array([["a"]])), InputError,
     r"^names must be a 1-D array of names, got shape \(1, 1\)"),
    ("init-times-length",
     lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0], names=["a"], times=[1, 2, 3]), InputError,
     r"^times must have one entry per touch \(2\), got 3"),
    ("init-text-conversions", lambda: at.Journeys([0, 1, 2], [0, 0], ["x", "y"], names=["a"]),
     InputError, r"^conversions must hold numbers, got dtype <U1 holding 'x'"),
    ("init-object-conversions",
     lambda: at.Journeys([0, 1, 2], [0, 0], np.array([object(), 1], dtype=object),
                         names=["a"]),
     InputError, r"^conversions must hold numbers, got dtype object holding <object"),
    # models
    ("fit-DataFrame", lambda: at.Linear().fit(PATHS), ColumnTypeError,
     r"models take a Journeys object, got DataFrame"),
    ("fit-None", lambda: at.MarkovChain().fit(None), ColumnTypeError, r"got NoneType"),
    ("fit-list", lambda: at.Shapley().fit([[0, 1]]), ColumnTypeError, r"got list"),
    ("transform-DataFrame", lambda: at.Linear().fit(journeys()).transform(PATHS),
     ColumnTypeError, r"got DataFrame"),
    ("transform-before-fit", lambda: at.Linear().transform(journeys()), AttributionError,
     r"Linear is not fitted yet; call fit\(journeys\) first"),
    ("scorer-before-fit", lambda: at.Linear().scorer(), AttributionError, r"not fitted yet"),
    ("position-first-text", lambda: at.PositionBased(first="a").fit(journeys()),
     ParameterError, r"^first must be a finite number >= 0 and <= 1, got 'a'"),
    ("get_model-int", lambda: at.get_model(3), UnknownModelError, r"unknown model 3"),
    # compare
    ("compare-unknown-name", lambda: at.compare(["linear", "nope"], journeys()),
     UnknownModelError, r"unknown model 'nope'"),
    ("compare-non-model", lambda: at.compare(["linear", 42], journeys()), ParameterError,
     r"models\[1\] is a int, not a model name"),
    ("compare-class", lambda: at.compare([at.Linear], journeys()), ParameterError,
     r"models\[0\] is a .*pass an instance, Linear\(\)"),
    ("compare-dict-non-model", lambda: at.compare({"x": 3.5}, journeys()), ParameterError,
     r"models\['x'\] is a float"),
    ("compare-empty", lambda: at.compare([], journeys()), ParameterError,
     r"at least one model"),
    ("compare-None", lambda: at.compare(None, journeys()), ParameterError,
     r"models must be .*got NoneType"),
    ("compare-int", lambda: at.compare(3, journeys()), ParameterError, r"models must be"),
    ("compare-DataFrame", lambda: at.compare(["linear"], PATHS), ColumnTypeError,
     r"Journeys object, got DataFrame"),
    ("compare-level", lambda: at.compare(["linear"], journeys(), level="region"),
     ParameterError, r"level must be"),
    # bootstrap
    ("bootstrap-n_boot", lambda: at.bootstrap(at.Linear(), journeys(), n_boot=-3),
     ParameterError, r"^n_boot must be an integer >= 2, got -3"),
    ("bootstrap-alpha", lambda: at.bootstrap(at.Linear(), journeys(), alpha=2),
     ParameterError, r"^alpha must be a number in \(0, 1\)"),
    ("bootstrap-alpha-text", lambda: at.bootstrap(at.Linear(), journeys(), alpha="5%"),
     ParameterError, r"^alpha must be"),
    ("bootstrap-method", lambda: at.bootstrap(at.Linear(), journeys(), method=1),
     ParameterError, r"^method must be one of"),
    ("bootstrap-n_jobs", lambda: at.bootstrap(at.Linear(), journeys(), n_jobs="all"),
     ParameterError, r"^n_jobs must be"),
    ("bootstrap-random_state", lambda: at.bootstrap(at.Linear(), journeys(), random_state=-1),
     ParameterError, r"^random_state must be"),
    ("bootstrap-model-name", lambda: at.bootstrap("linear", journeys()), ParameterError,
     r"^model must be an attribution model"),
    ("bootstrap-DataFrame", lambda: at.bootstrap(at.Linear(), PATHS, n_boot=3),
     ColumnTypeError, r"Journeys object, got DataFrame"),
    # results and files
    ("conf_int-alpha", lambda: bootstrapped().conf_int(alpha=2), ParameterError,
     r"^alpha must be a number in \(0, 1\)"),
    ("conf_int-alpha-text", lambda: bootstrapped().conf_int(alpha="0.1"), ParameterError,
     r"^alpha must be"),
    ("concentration-text", lambda: at.Linear().fit(journeys()).result_.concentration(p="x"),
     ParameterError, r"^p must be a number in \(0, 1\], got 'x'"),
    ("select-text", lambda: journeys().select("x"), InputError,
     r"^select needs a 1-D array of journey positions \(integers\) or a boolean mask"),
    ("load_json-None", lambda: at.load_json(None), InputError, r"load_json needs a path"),
]


def events(**changes):
    return at.Journeys.from_events(EVENTS.assign(**changes), **COLS)


def with_columns(df, labels):
    out = df.copy()
    out.columns = labels
    return out


def stamped(zone):
    """Journeys with datetime touch times in ``zone`` (None: naive)."""
    return at.Journeys([0, 1], [0], [1], names=["a"], times=[0], time_zone=zone)


MULTI_COLUMNS = with_columns(EVENTS, pd.MultiIndex.from_product([["ev"], EVENTS.columns]))
MULTI_COLS = {role: ("ev", column) for role, column in COLS.items()}
MULTI_ROWS = EVENTS.set_axis(pd.MultiIndex.from_tuples([("x", 1), ("x", 2), ("y", 1)]))
NO_CONVERSION_COLUMN = dict(journey="user", time="time", touchpoint="tp")

# Odd frames and arguments given to the data tier: each is refused with one line naming the
# column, row or argument (the frames that must work are in test_odd_frames_work).
ODD_DATA = [
    ("events-empty-frame", lambda: at.Journeys.from_events(EVENTS.iloc[:0], **COLS),
     at.EmptyInputError, r"^event log has no rows"),
    ("events-no-columns", lambda: at.Journeys.from_events(pd.DataFrame(), **COLS),
     at.EmptyInputError, r"^event log has no rows"),
    ("events-all-nan-touchpoint", lambda: events(tp=np.nan), at.EmptyInputError,
     r"^column 'tp' \(touchpoint\) holds no touch"),
    ("events-all-nan-time", lambda: events(time=pd.NaT), InputError,
     r"^column 'time' \(time\) has 3 missing value\(s\) at row\(s\) 0, 1, 2"),
    ("events-all-nan-journey", lambda: events(user=np.nan), InputError,
     r"^column 'user' \(journey\) has 3 missing"),
    ("events-all-nan-channel",
     lambda: at.Journeys.from_events(EVENTS.assign(ch=np.nan), **COLS, channel="ch"),
     InputError, r"^column 'ch' \(channel\) is missing on touch row\(s\) 0, 1, 2"),
    ("events-bool-conversion-with-nan", lambda: events(conv=[False, True, np.nan]), InputError,
     r"^column 'conv' \(conversion\) has 1 missing value\(s\) at row\(s\) 2"),
    ("events-nullable-boolean-NA",
     lambda: events(conv=pd.array([False, True, None], dtype="boolean")), InputError,
     r"^column 'conv' \(conversion\) has 1 missing value\(s\) at row\(s\) 2"),
    ("events-complex-conversion", lambda: events(conv=[0j, 1j, 1]), ColumnTypeError,
     r"^column 'conv' \(conversion\) holds complex numbers"),
    ("events-complex-value",
     lambda: at.Journeys.from_events(EVENTS.assign(v=[0j, 2j, 1]), **COLS, value="v"),
     ColumnTypeError, r"^column 'v' \(value\) holds complex numbers"),
    ("events-duplicated-index-missing-journey",
     lambda: at.Journeys.from_events(EVENTS.set_axis([7, 7, 8]).assign(user=[1, None, 2]),
                                     **COLS),
     InputError, r"^column 'user' \(journey\) has 1 missing value\(s\) at row\(s\) 7"),
    ("events-multiindex-rows-missing-time",
     lambda: at.Journeys.from_events(MULTI_ROWS.assign(time=[pd.NaT, *EVENTS.time[1:]]),
                                     **COLS),
     InputError, r"^column 'time' \(time\) has 1 missing value\(s\) at row\(s\) \('x', 1\)"),
    ("events-multiindex-columns-first-level",
     lambda: at.Journeys.from_events(MULTI_COLUMNS, **{**MULTI_COLS, "journey": "ev"}),
     InputError,
     r"^column 'ev' \(journey\) names 4 columns of the frame's MultiIndex columns; pass the "
     r"full label, e.g. journey=\('ev', 'user'\)"),
    ("events-multiindex-columns-short-names",
     lambda: at.Journeys.from_events(MULTI_COLUMNS, **COLS), at.MissingColumnError,
     r"^column\(s\) not found: journey='user'"),
    ("events-integer-column-names-missing",
     lambda: at.Journeys.from_events(with_columns(EVENTS, [0, 1, 2, 3]), journey=0, time=1,
                                     touchpoint=5, conversion=3),
     at.MissingColumnError, r"^column\(s\) not found: touchpoint=5"),
    ("events-column-name-dict",
     lambda: at.Journeys.from_events(EVENTS, **{**COLS, "touchpoint": {"tp": 1}}),
     ParameterError, r"^touchpoint must be one column name \(a str or int\), got dict"),
    ("events-conversion_touchpoints-str",
     lambda: at.Journeys.from_events(EVENTS, **NO_CONVERSION_COLUMN,
                                     conversion_touchpoints="purchase"),
     ParameterError, r"^conversion_touchpoints must be a list of names, got the string "
                     r"'purchase' \(it would be read letter by letter\); pass \['purchase'\]"),
    ("events-conversion_touchpoints-nested",
     lambda: at.Journeys.from_events(EVENTS, **NO_CONVERSION_COLUMN,
                                     conversion_touchpoints=["a", ["b"]]),
     ParameterError, r"^conversion_touchpoints must be a list of names, but it holds \['b'\]"),
    ("events-conversion_touchpoints-dict",
     lambda: at.Journeys.from_events(EVENTS, **NO_CONVERSION_COLUMN,
                                     conversion_touchpoints={"b": 1}),
     ParameterError, r"^conversion_touchpoints must be a list of names .*got dict"),
    ("paths-empty-frame", lambda: at.Journeys.from_paths(PATHS.iloc[:0]), at.EmptyInputError,
     r"^path table has no rows"),
    ("paths-all-nan-path", lambda: at.Journeys.from_paths(PATHS.assign(path=np.nan)),
     ColumnTypeError, r"^column 'path' \(path\) must hold strings"),
    ("paths-all-nan-conversions",
     lambda: at.Journeys.from_paths(PATHS.assign(total_conversions=np.nan)), InputError,
     r"^column 'total_conversions' \(conversions\) has 3 missing value\(s\)"),
    ("paths-bool-conversions-with-nan",
     lambda: at.Journeys.from_paths(PATHS.assign(total_conversions=[True, np.nan, False])),
     InputError, r"^column 'total_conversions' \(conversions\) has 1 missing value\(s\) at "
                 r"row\(s\) 1"),
    ("paths-nullable-int-NA",
     lambda: at.Journeys.from_paths(PATHS.assign(total_null=pd.array([1, None, 0], "Int64"))),
     InputError, r"^column 'total_null' \(nulls\) has 1 missing value\(s\) at row\(s\) 1"),
    ("paths-duplicate-columns",
     lambda: at.Journeys.from_paths(pd.concat([PATHS, PATHS[["total_null"]]], axis=1)),
     InputError, r"^column 'total_null' \(nulls\) appears 2 times in the frame"),
    ("init-duplicate-names", lambda: at.Journeys([0, 1, 2], [0, 1], names=["a", "a"]),
     InputError, r"^names must be distinct, but 'a' appears more than once"),
    ("init-names-one-str", lambda: at.Journeys([0, 1, 2], [0, 1], names="ab"), InputError,
     r"^names must be a 1-D array of names, got str 'ab'"),
    ("init-duplicate-channel-names",
     lambda: at.Journeys([0, 1, 2], [0, 1], names=["a", "b"], channel_of=[0, 1],
                         channel_names=["web", "web"]),
     InputError, r"^channel_names must be distinct, but 'web' appears more than once"),
    ("init-codes-beyond-int32", lambda: at.Journeys([0, 1], [2**32], names=["a"]), InputError,
     r"^touch codes must lie in \[0, 1\) to index the 1 names, got 4294967296"),
    ("init-boolean-offsets", lambda: at.Journeys(np.array([False, True]), [0], names=["a"]),
     InputError, r"^offsets must hold CSR offsets \(integers\), got booleans"),
    ("init-ragged-codes", lambda: at.Journeys([0, 1, 2], [[0], [0, 1]], names=["a"]),
     InputError, r"^codes must be a 1-D array of entity codes, got list"),
    ("init-fractional-seq", lambda: at.Journeys([0, 1, 2], [0, 0], names=["a"], seq=[0, 0.5]),
     InputError, r"^seq must hold integers \(whole numbers\), but position 1 holds 0.5"),
    ("init-ids-length", lambda: at.Journeys([0, 1, 2], [0, 0], names=["a"], ids=["x"]),
     InputError, r"^ids must have one entry per journey \(2\), got 1"),
    ("init-stage_of-length",
     lambda: at.Journeys([0, 1], [0], names=["a"], stage_of=["pre", "post"]), InputError,
     r"^stage_of must have one entry per name \(1\), got 2"),
    ("init-end_times-nan",
     lambda: at.Journeys([0, 1], [0], names=["a"], end_times=[np.nan]), InputError,
     r"^end_times must hold integers \(whole numbers\), but position 0 holds nan"),
    ("init-time_zone-unknown", lambda: stamped("Mars/Base"), ParameterError,
     r"^time_zone='Mars/Base' is not a time zone"),
    ("init-time_zone-not-str", lambda: stamped(1), ParameterError,
     r"^time_zone must be a zone name such as 'Europe/Paris' or None, got int 1"),
    ("init-time_zone-on-steps",
     lambda: at.Journeys([0, 1], [0], names=["a"], times=[3], time_kind="numeric",
                         time_zone="UTC"),
     ParameterError, r"^time_zone='UTC' is the zone of datetimes, but these journeys have steps"),
    ("init-time_zone-without-times",
     lambda: at.Journeys([0, 1], [0], names=["a"], time_zone="UTC"), ParameterError,
     r"^time_zone='UTC' is the zone of datetimes, but these journeys have no times"),
    ("select-out-of-range", lambda: journeys().select([0, 3]), InputError,
     r"^select: position 3 is out of range for 3 journeys \(positions run from -3 to 2\)"),
    ("select-short-mask", lambda: journeys().select([True, False]), InputError,
     r"^a boolean mask for select needs one entry per journey \(3\), got 2"),
    ("select-floats", lambda: journeys().select([0.0, 1.0]), InputError,
     r"^select needs a 1-D array of journey positions .* of dtype float64"),
    ("select-2d", lambda: journeys().select([[0, 1]]), InputError,
     r"^select needs a 1-D array of journey positions"),
    ("concat-naive-and-zoned", lambda: at.Journeys.concat([stamped(None), stamped("Europe/Paris")]),
     InputError, r"^the parts mix naive times and times in zone\(s\) \['Europe/Paris'\]"),
    ("top_share-p-bool", lambda: at.metrics.top_share([1.0, 2.0], p=True), ParameterError,
     r"^p must be a number in \(0, 1\], got True"),
    ("k_share-q-nan", lambda: at.metrics.k_share([1.0, 2.0], q=float("nan")), ParameterError,
     r"^q must be a number in \(0, 1\], got nan"),
]
CASES += ODD_DATA


@pytest.mark.parametrize("label, call, exc, match", CASES,
                         ids=[getattr(c, "values", c)[0] for c in CASES])
def test_odd_types(label, call, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        with pytest.raises(exc, match=match) as info:
            call()
    assert "\n" not in str(info.value), label


class Fragile(at.Linear):
    """A model with a bug: not a refusal of the data, so compare must not hide it."""

    def _fit(self, j):
        raise RuntimeError("a bug")


def test_compare_goes_on_when_a_model_refuses():
    j = journeys()  # a path table: TimeDecay(by="time") needs timestamps and refuses it
    with pytest.warns(AttributionWarning, match=r"model 'time_decay' refused the journeys "
                                                r"and is left out \(InputError: TimeDecay"):
        got = at.compare(["linear", "time_decay", "first"], j)
    want = at.compare(["linear", "first"], j)
    pd.testing.assert_frame_equal(got, want, check_exact=True)  # same columns and rows
    assert list(got.attrs["refused"]) == ["time_decay"]
    assert got.attrs["refused"]["time_decay"].startswith("InputError: TimeDecay(by='time')")
    assert want.attrs["refused"] == {}


def test_compare_raises_when_every_model_refuses():
    j = journeys()
    with pytest.raises(InputError, match=r"^TimeDecay\(by='time'\) needs touch timestamps"):
        at.compare(["time_decay"], j)  # one model: its own error
    with pytest.raises(InputError, match=r"^every model refused the journeys: time_decay: "
                                         r"InputError: .*; decay: InputError"):
        at.compare({"time_decay": "time_decay", "decay": at.TimeDecay(half_life="1D")}, j)
    with pytest.raises(AttributionError, match=r"every model refused.*shapley: ParameterError"):
        at.compare(["time_decay", at.Shapley(value="nope")], j)


def test_compare_does_not_hide_bugs():
    with pytest.raises(RuntimeError, match="a bug"):
        at.compare(["linear", Fragile()], journeys())


def same_journeys(got, want, ids=True):
    for key in ("offsets", "codes", "names", "conversions", "nulls", "value", "times",
                "end_times", "seq", "channel_names", "channel_of") + (("ids",) if ids else ()):
        a, b = getattr(got, key), getattr(want, key)
        assert (a is None) == (b is None), key
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=key)


def categories(values, extra):
    return pd.Categorical(values, categories=[*pd.unique(values), *extra])


BUY = pd.DataFrame({"user": [1, 1, 2, 2], "time": pd.date_range("2024-01-01", periods=4),
                    "tp": ["a", "buy", "b", "buy"]})
ODD_EVENT_FRAMES = [
    ("categorical-touchpoint-unused-categories",
     EVENTS.assign(tp=categories(EVENTS.tp, ["zz", "yy"])), COLS),
    ("categorical-journey-unused-categories", EVENTS.assign(user=categories(EVENTS.user, [9])),
     COLS),
    ("duplicated-index-labels", EVENTS.set_axis([7, 7, 7]), COLS),
    ("multiindex-rows", MULTI_ROWS, COLS),
    ("multiindex-columns-full-labels", MULTI_COLUMNS, MULTI_COLS),
    ("integer-column-names", with_columns(EVENTS, [0, 1, 2, 3]),
     dict(journey=0, time=1, touchpoint=2, conversion=3)),
    ("object-bool-conversions", EVENTS.assign(conv=np.array([False, True, True], object)), COLS),
    ("object-number-conversions", EVENTS.assign(conv=np.array([0, 1.0, 1], object)), COLS),
]


@pytest.mark.parametrize("label, frame, columns", ODD_EVENT_FRAMES,
                         ids=[c[0] for c in ODD_EVENT_FRAMES])
def test_odd_event_frames_work(label, frame, columns):
    """Odd but valid frames read exactly like the plain frame (unused categories add no
    touchpoint or person, the index is not used to align anything)."""
    want = at.Journeys.from_events(EVENTS, **COLS)
    same_journeys(at.Journeys.from_events(frame, **columns), want)


@pytest.mark.parametrize("labels", [np.array(["buy"]), ("buy",), {"buy"}, pd.Index(["buy"]),
                                    pd.Series(["buy"]), ["buy", "never-seen"]])
def test_conversion_touchpoints_any_list_like(labels):
    want = at.Journeys.from_events(BUY, **NO_CONVERSION_COLUMN, conversion_touchpoints=["buy"])
    got = at.Journeys.from_events(BUY, **NO_CONVERSION_COLUMN, conversion_touchpoints=labels)
    same_journeys(got, want)
    assert list(got.conversions) == [1, 1]


def test_all_missing_stage_and_channel_where_no_touch():
    j = at.Journeys.from_events(EVENTS.assign(st=np.nan), **COLS, stage="st")
    assert list(j.stage_of) == [None, None]
    ch = at.Journeys.from_events(EVENTS.assign(ch=["x", "y", "x"]).astype({"ch": "category"})
                                 .assign(ch=lambda d: d.ch.cat.add_categories(["q"])),
                                 **COLS, channel="ch")
    assert list(ch.channel_names) == ["x", "y"]  # the unused category is no channel


ODD_PATH_FRAMES = [
    ("categorical-path-unused-categories", PATHS.assign(path=categories(PATHS.path, ["zz"])),
     {}),
    ("integer-column-names", with_columns(PATHS, [0, 1, 2]),
     dict(path=0, conversions=1, nulls=2)),
    ("object-bool-conversions", PATHS.assign(total_conversions=np.array([1, 2, 0], object)),
     {}),
]


@pytest.mark.parametrize("label, frame, columns", ODD_PATH_FRAMES,
                         ids=[c[0] for c in ODD_PATH_FRAMES])
def test_odd_path_frames_work(label, frame, columns):
    same_journeys(at.Journeys.from_paths(frame, **columns), at.Journeys.from_paths(PATHS))


@pytest.mark.parametrize("index", [pd.Index([5, 5, 6]),
                                   pd.MultiIndex.from_tuples([("x", 1), ("x", 2), ("y", 1)])])
def test_path_table_row_labels_become_ids(index):
    """Duplicated labels and MultiIndex rows: the journeys are the same, ids are the labels."""
    j = at.Journeys.from_paths(PATHS.set_axis(index))
    same_journeys(j, at.Journeys.from_paths(PATHS), ids=False)
    assert list(j.ids) == list(index)
    assert list(j.select([2, 0]).ids) == [index[2], index[0]]
