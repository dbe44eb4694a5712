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


JOURNEYS_COLS = ("journeys/validation.py require_columns: refuse a column name that is not a "
                 "str/int (ParameterError naming the role) and None for a required role")
CSR = ("journeys/arrays.py _csr/_weights/_optional: np.asarray each argument in a try, refuse "
       "ndim != 1, non-integral or non-numeric codes and offsets, wrong lengths (InputError "
       "naming the argument)")

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
    pytest.param("events-journey-list",
                 lambda: at.Journeys.from_events(EVENTS, **{**COLS, "journey": ["user"]}),
                 AttributionError, r"journey", marks=fails(JOURNEYS_COLS)),
    pytest.param("events-time-None",
                 lambda: at.Journeys.from_events(EVENTS, **{**COLS, "time": None}),
                 AttributionError, r"time", marks=fails(JOURNEYS_COLS)),
    pytest.param("events-duplicate-columns",
                 lambda: at.Journeys.from_events(pd.concat([EVENTS, EVENTS[["tp"]]], axis=1),
                                                 **COLS),
                 AttributionError, r"'tp'", marks=fails(
                     "journeys/validation.py require_columns: refuse a column that appears "
                     "more than once in df.columns (InputError naming it)")),
    pytest.param("events-conversion_touchpoints-int",
                 lambda: at.Journeys.from_events(EVENTS, journey="user", time="time",
                                                 touchpoint="tp", conversion_touchpoints=5),
                 AttributionError, r"conversion_touchpoints", marks=fails(
                     "journeys/events.py _check_arguments: conversion_touchpoints must be a "
                     "list-like of names, not a scalar or a bare str (ParameterError)")),
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
    pytest.param("paths-path-None", lambda: at.Journeys.from_paths(PATHS, path=None),
                 AttributionError, r"path", marks=fails(JOURNEYS_COLS)),
    pytest.param("paths-path-list-name", lambda: at.Journeys.from_paths(PATHS, path=["path"]),
                 AttributionError, r"path", marks=fails(JOURNEYS_COLS)),
    pytest.param("paths-path-of-lists",
                 lambda: at.Journeys.from_paths(PATHS.assign(path=[["a"], ["b"], ["a"]])),
                 AttributionError, r"'path'", marks=fails(
                     "journeys/path_table.py _encode_rows: also catch "
                     "pa.ArrowNotImplementedError (a list column) as a non-string value")),
    pytest.param("paths-complex-conversions",
                 lambda: at.Journeys.from_paths(PATHS.assign(total_conversions=[1j, 2j, 0j])),
                 AttributionError, r"total_conversions", marks=fails(
                     "journeys/validation.py numeric_column: complex dtypes pass "
                     "is_numeric_dtype and to_numpy(float64) drops the imaginary part "
                     "silently (conversions become 0); refuse dtype kind 'c'")),
    # the Journeys constructor
    pytest.param("init-nan-codes",
                 lambda: at.Journeys([0, 1, 2], np.array([0.0, np.nan]), [1, 0], names=["a"]),
                 InputError, r"codes", marks=fails(
                     CSR + "; numpy's RuntimeWarning 'invalid value encountered in cast' "
                     "leaks before the InputError")),
    ("init-short-conversions", lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0, 3], names=["a"]),
     InputError, r"conversions must have one entry per journey"),
    ("init-level", lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0], names=["a"], level="x"),
     ParameterError, r"level must be"),
    pytest.param("init-object-codes",
                 lambda: at.Journeys([0, 1, 2], np.array([0, "x"], dtype=object), [1, 0],
                                     names=["a"]),
                 AttributionError, r"codes", marks=fails(CSR)),
    pytest.param("init-fractional-codes",
                 lambda: at.Journeys([0, 1, 2], np.array([0.0, 0.7]), [1, 0], names=["a"]),
                 AttributionError, r"codes", marks=fails(CSR + "; 0.7 is truncated to 0 today")),
    pytest.param("init-2d-offsets",
                 lambda: at.Journeys(np.array([[0, 1, 2]]), [0, 0], [1, 0], names=["a"]),
                 AttributionError, r"offsets", marks=fails(CSR)),
    pytest.param("init-2d-codes",
                 lambda: at.Journeys([0, 1, 2], np.array([[0], [0]]), [1, 0], names=["a"]),
                 AttributionError, r"codes", marks=fails(CSR + "; accepted today")),
    pytest.param("init-names-None", lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0], names=None),
                 AttributionError, r"names", marks=fails(CSR)),
    pytest.param("init-2d-names",
                 lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0], names=np.array([["a"]])),
                 AttributionError, r"names", marks=fails(CSR + "; stored as \"['a']\" today")),
    pytest.param("init-times-length",
                 lambda: at.Journeys([0, 1, 2], [0, 0], [1, 0], names=["a"], times=[1, 2, 3]),
                 AttributionError, r"times", marks=fails(CSR + "; accepted today")),
    pytest.param("init-text-conversions",
                 lambda: at.Journeys([0, 1, 2], [0, 0], ["x", "y"], names=["a"]),
                 AttributionError, r"conversions", marks=fails(CSR)),
    pytest.param("init-object-conversions",
                 lambda: at.Journeys([0, 1, 2], [0, 0], np.array([object(), 1], dtype=object),
                                     names=["a"]),
                 AttributionError, r"conversions", marks=fails(CSR)),
    # models
    ("fit-DataFrame", lambda: at.Linear().fit(PATHS), ColumnTypeError,
     r"models take a Journeys object, got DataFrame"),
    ("fit-None", lambda: at.MarkovChain().fit(None), ColumnTypeError, r"got NoneType"),
    ("fit-list", lambda: at.Shapley().fit([[0, 1]]), ColumnTypeError, r"got list"),
    ("transform-DataFrame", lambda: at.Linear().fit(journeys()).transform(PATHS),
     ColumnTypeError, r"got DataFrame"),
    pytest.param("transform-before-fit", lambda: at.Linear().transform(journeys()),
                 AttributionError, r"fit", marks=fails(
                     "models/_base.py transform and scorer use sklearn's check_is_fitted, "
                     "which raises sklearn NotFittedError; raise an AttributionError subclass "
                     "that also subclasses sklearn.exceptions.NotFittedError instead")),
    pytest.param("scorer-before-fit", lambda: at.Linear().scorer(), AttributionError, r"fit",
                 marks=fails("models/_base.py scorer: as transform")),
    pytest.param("position-first-text", lambda: at.PositionBased(first="a").fit(journeys()),
                 ParameterError, r"first", marks=fails(
                     "models/heuristic.py PositionBased._check_params: np.isscalar('a') is "
                     "True, so 'a' >= 0 raises TypeError; check for a real number first")),
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
    pytest.param("concentration-text",
                 lambda: at.Linear().fit(journeys()).result_.concentration(p="x"),
                 ParameterError, r"\bp\b", marks=fails(
                     "metrics.py _check_p (via AttributionResult.concentration): compare only "
                     "after checking p and q are real numbers")),
    pytest.param("select-text", lambda: journeys().select("x"), AttributionError,
                 r"select|index", marks=fails(
                     "journeys/reshape.py select: refuse an index that is not integers or "
                     "booleans (InputError naming it) before indexing numpy arrays")),
    ("load_json-None", lambda: at.load_json(None), InputError, r"load_json needs a path"),
]


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
