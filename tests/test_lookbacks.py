"""compare_lookbacks: a hand-computed log, the same answer from every frame library, drop
counts that add up, and the plot."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.evaluation.lookbacks import plot_lookbacks

DAY = pd.Timedelta("1D")
T0 = pd.Timestamp("2024-01-01")
COLS = dict(journey="user", time="ts", touchpoint="tp", conversion="conv", value="rev")


def log(rows):
    df = pd.DataFrame(rows, columns=["user", "day", "tp", "conv", "rev"])
    df["ts"] = T0 + df.pop("day") * DAY
    return df


# user 1: email 25 days and search 5 days before converting; user 2: tv 10 days before
LOG = log([(1, 0, "email", 0, 0.0), (1, 20, "search", 0, 0.0), (1, 25, None, 1, 8.0),
           (2, 0, "tv", 0, 0.0), (2, 10, None, 1, 2.0)])


def run(events, lookbacks, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        return at.compare_lookbacks(events, lookbacks, **{**COLS, **kw})


def test_hand_computed_linear_credit():
    f = run(LOG, ["7D", "30D", None], model="linear")
    got = f.pivot_table(index="entity", columns="lookback", values="credit", observed=True)
    # 7D: only search is inside; tv's conversion has no touch left. 30D = no window: all.
    assert got["7D"].to_dict() == {"email": 0.0, "search": 1.0, "tv": 0.0}
    assert got["30D"].to_dict() == {"email": 0.5, "search": 0.5, "tv": 1.0}
    assert got["none"].to_dict() == got["30D"].to_dict()
    per = f.drop_duplicates("lookback").set_index("lookback")
    assert per["touches_dropped"].tolist() == [2, 0, 0]  # email and tv outside 7D
    assert per["conversions_dropped"].tolist() == [1, 0, 0]
    assert per["converting_journeys"].tolist() == [1, 2, 2]
    assert list(f["lookback"].cat.categories) == ["7D", "30D", "none"]
    share = f.groupby("lookback", observed=True)["share"].sum()
    np.testing.assert_allclose(share, 1.0)
    value = f[f["lookback"] == "30D"].set_index("entity")["value_credit"]
    assert value.to_dict() == {"email": 4.0, "search": 4.0, "tv": 2.0}


def test_one_warning_sums_up_the_drops():
    with pytest.warns(at.DroppedDataWarning, match=r"lookback 7D: from_events dropped 2 "
                                                   r"touch\(es\) outside the lookback") as rec:
        at.compare_lookbacks(LOG, ["7D", "30D"], **COLS)
    assert len([w for w in rec if issubclass(w.category, at.DroppedDataWarning)]) == 1


def test_every_frame_library_gives_the_same_frame():
    import pyarrow as pa

    want = run(LOG, ["7D", "30D"], model=at.LastNonDirect(direct=["search"]))
    tables = [pa.Table.from_pandas(LOG)]
    pl = pytest.importorskip("polars")
    tables.append(pl.from_pandas(LOG))
    for table in tables:
        pd.testing.assert_frame_equal(run(table, ["7D", "30D"],
                                          model=at.LastNonDirect(direct=["search"])), want)


def test_errors():
    with pytest.raises(at.ParameterError, match="lookbacks=\\[...\\], not lookback="):
        at.compare_lookbacks(LOG, ["7D"], lookback="7D", **COLS)
    with pytest.raises(at.ParameterError, match="names a window twice"):
        at.compare_lookbacks(LOG, ["7D", "7D"], **COLS)
    with pytest.raises(at.ParameterError, match=r"pass \['7D'\]"):
        at.compare_lookbacks(LOG, "7D", **COLS)
    with pytest.raises(at.ParameterError, match="lookback=7 has no unit"):
        at.compare_lookbacks(LOG, [7], **COLS)


@given(rows=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 40),
                               st.sampled_from(["a", "b", "c", None]), st.booleans()),
                     min_size=1, max_size=20),
       windows=st.lists(st.integers(1, 45), min_size=1, max_size=3, unique=True))
@settings(max_examples=30, deadline=None)
def test_wider_windows_drop_less_and_credit_what_is_kept(rows, windows):
    df = log([(u, d, tp, int(c), 0.0) for u, d, tp, c in rows])
    conversions = int(df["conv"].sum())
    if conversions == 0:
        return
    lookbacks = [f"{w}D" for w in sorted(windows)]
    try:
        f = run(df, lookbacks)
    except at.EmptyInputError:
        return
    per = f.drop_duplicates("lookback").set_index("lookback")
    assert (np.diff(per["touches_dropped"]) <= 0).all()
    assert (np.diff(per["conversions_dropped"]) <= 0).all()
    credit = f.groupby("lookback", observed=True)["credit"].sum()
    np.testing.assert_allclose(credit, conversions - per["conversions_dropped"])


def test_plot_returns_the_axes():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_lookbacks(run(LOG, ["7D", "30D"]), top=2)
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["7D", "30D"]
    ax.figure.canvas.draw()
    pixels = np.asarray(ax.figure.canvas.buffer_rgba())
    assert pixels.std() > 0  # something was drawn
    plt.close(ax.figure)
    with pytest.raises(at.ParameterError, match="compare_lookbacks returns"):
        plot_lookbacks(pd.DataFrame({"x": [1]}))
