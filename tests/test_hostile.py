"""Hostile input: whatever the frame or file holds, only documented exceptions come out
(subclasses of ``attribution.AttributionError``, with a message), never a raw numpy or pandas
traceback, and never a hang (each example has a deadline)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.cli import main

pytestmark = pytest.mark.filterwarnings("ignore")

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NAMES = st.one_of(st.sampled_from(["a", "b", "c", "ü", "東京", "a > b", ">", "", " ", "x,y",
                                   "None", "nan", "\t", "\n"]), TEXT)
NUMBERS = st.one_of(st.sampled_from([0, 1, 2, -1, 0.5, np.nan, np.inf, -np.inf, 1e308, 10**19]),
                    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20))
ANY = st.one_of(NAMES, NUMBERS, st.none(), st.booleans())


def column(elements, n):
    return st.lists(elements, min_size=n, max_size=n)


@st.composite
def path_frames(draw):
    n = draw(st.integers(0, 8))
    df = pd.DataFrame({
        "path": draw(column(st.one_of(NAMES, st.lists(NAMES, max_size=4).map(" > ".join),
                                      st.none(), NUMBERS), n)),
        "total_conversions": draw(column(st.one_of(NUMBERS, NAMES, st.none()), n)),
        "total_null": draw(column(st.one_of(NUMBERS, st.none()), n)),
        "value": draw(column(st.one_of(NUMBERS, st.none()), n)),
    })
    drop = draw(st.sets(st.sampled_from(list(df.columns)), max_size=1))
    return df.drop(columns=list(drop))


@st.composite
def event_frames(draw):
    n = draw(st.integers(0, 10))
    times = st.one_of(st.datetimes(min_value=pd.Timestamp("1970-01-02").to_pydatetime(),
                                   max_value=pd.Timestamp("2200-01-01").to_pydatetime()),
                      st.integers(-10**18, 10**18), st.none(), NAMES)
    kind = draw(st.sampled_from(["datetime", "int", "mixed"]))
    if kind == "datetime":
        t = pd.to_datetime(draw(column(st.datetimes(
            min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
            max_value=pd.Timestamp("2030-01-01").to_pydatetime()), n)))
    elif kind == "int":
        t = draw(column(st.integers(-10**15, 10**15), n))
    else:
        t = draw(column(times, n))
    df = pd.DataFrame({
        "user": draw(column(st.one_of(st.integers(0, 3), NAMES, st.none(),
                                      st.just(np.nan)), n)),
        "time": t,
        "touchpoint": draw(column(st.one_of(NAMES, st.none()), n)),
        "channel": draw(column(st.one_of(NAMES, st.none()), n)),
        "converted": draw(column(st.one_of(st.sampled_from([0, 1, 1, 2, -1, np.nan, True]),
                                           NAMES), n)),
        "value": draw(column(NUMBERS, n)),
    })
    drop = draw(st.sets(st.sampled_from(list(df.columns)), max_size=1))
    return df.drop(columns=list(drop))


CLEAN_NAMES = st.sampled_from(["a", "b", "ü", "東京", "social post", "e-mail"])


@st.composite
def perturbed(draw, df):
    """A clean frame with at most two cells replaced by anything."""
    df = df.astype(object)
    for _ in range(draw(st.integers(0, 2))):
        if len(df):
            r = draw(st.integers(0, len(df) - 1))
            c = draw(st.sampled_from(list(df.columns)))
            df.iat[r, df.columns.get_loc(c)] = draw(ANY)
    return df


@st.composite
def clean_path_frames(draw):
    n = draw(st.integers(1, 8))
    df = pd.DataFrame({
        "path": draw(column(st.lists(CLEAN_NAMES, min_size=1, max_size=4).map(" > ".join), n)),
        "total_conversions": draw(column(st.integers(0, 5), n)),
        "total_null": draw(column(st.integers(0, 5), n)),
        "value": draw(column(st.floats(0, 1e6), n)),
    })
    return draw(perturbed(df)) if draw(st.booleans()) else df


@st.composite
def clean_event_frames(draw):
    n = draw(st.integers(1, 10))
    df = pd.DataFrame({
        "user": draw(column(st.integers(0, 3), n)),
        "time": pd.to_datetime(draw(column(st.integers(0, 10**6), n)), unit="s"),
        "touchpoint": draw(column(CLEAN_NAMES, n)),
        "channel": draw(column(st.sampled_from(["web", "tv"]), n)),
        "converted": draw(column(st.sampled_from([0, 0, 1]), n)),
        "value": draw(column(st.floats(0, 1e6), n)),
    })
    return draw(perturbed(df)) if draw(st.booleans()) else df


def only_documented(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    except at.AttributionError as exc:
        assert str(exc).strip(), "an error needs a message"
        return None


@given(df=st.one_of(path_frames(), clean_path_frames()), sep=st.sampled_from([">", ",", "|"]),
       aggregate=st.booleans())
@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
def test_from_paths_hostile(df, sep, aggregate):
    j = only_documented(lambda: at.Journeys.from_paths(
        df, value="value" if "value" in df else None, sep=sep, aggregate=aggregate))
    if j is not None:
        assert np.isfinite(j.conversions).all() and (j.conversions >= 0).all()
        only_documented(lambda: at.Linear().fit(j))


@given(df=st.one_of(event_frames(), clean_event_frames()),
       lookback=st.sampled_from([None, "7D", 5, "bogus"]),
       max_touches=st.sampled_from([None, 0, 2, -1]))
@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
def test_from_events_hostile(df, lookback, max_touches):
    j = only_documented(lambda: at.Journeys.from_events(
        df, journey="user", time="time", touchpoint="touchpoint",
        channel="channel" if "channel" in df else None,
        conversion="converted" if "converted" in df else None,
        value="value" if "value" in df else None, lookback=lookback, max_touches=max_touches))
    if j is not None:
        assert np.isfinite(j.conversions).all() and np.isfinite(j.value).all()
        only_documented(lambda: at.MarkovChain().fit(j))


@given(df=st.one_of(path_frames(), event_frames(), clean_path_frames(),
                     clean_event_frames()), fmt=st.sampled_from(["csv", "parquet"]),
       extra=st.sampled_from([[], ["--format", "paths"], ["--format", "events"],
                              ["--journey", "user", "--time", "time"], ["-m", "markov"]]))
@settings(max_examples=120, deadline=5000, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_cli_hostile(df, fmt, extra, tmp_path, capsys):
    src = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        df.to_csv(src, index=False)
    else:
        try:
            df.to_parquet(src)
        except Exception:  # pyarrow cannot store this mix of types: not our input to judge
            return
    code = main(["fit", str(src), *extra])
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.startswith("attribution: error:")]
        assert len(lines) == 1 and "Traceback" not in err


def test_garbage_files(tmp_path, capsys):
    for name, content in [("a.csv", b"\x00\xff\xfe garbage"), ("b.parquet", b"not parquet"),
                          ("c.csv", b""), ("d.csv.gz", b"not gzip")]:
        p = tmp_path / name
        p.write_bytes(content)
        assert main(["fit", str(p)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("attribution: error:") and len(err.strip().splitlines()) == 1
