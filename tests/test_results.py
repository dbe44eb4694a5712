import matplotlib
import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution import metrics

matplotlib.use("Agg")


def test_concentration_hand_cases():
    assert metrics.gini([1, 1, 1, 1]) == pytest.approx(0)
    assert metrics.gini([0, 0, 0, 5]) == pytest.approx(1)
    # shares .1 .2 .3 .4 ascending: sum (2i - 5) s_i / 3 = (-3*.1 - .2 + .3 + 3*.4)/3 = 1/3
    assert metrics.gini([4, 3, 2, 1]) == pytest.approx(1 / 3)
    assert metrics.hhi([1, 1]) == pytest.approx(0.5)
    credit = [80, 5, 5, 5, 5, 0, 0, 0, 0, 0]  # top 20% = 2 entities hold 85%
    assert metrics.top_share(credit, 0.2) == pytest.approx(0.85)
    assert metrics.k_share(credit, 0.8) == pytest.approx(0.1)
    assert metrics.k_share([1, 1, 1, 1, 1], 0.8) == pytest.approx(0.8)
    c = metrics.concentration([10, -2, 0, 0, 0])
    assert c.negative_credit == -2 and c.top_share == pytest.approx(1) and c.pareto
    lz = metrics.lorenz([3, 1])
    assert lz["credit"].tolist() == [0, 0.75, 1] and lz["entities"].tolist() == [0, 0.5, 1]
    with pytest.raises(at.ParameterError):
        metrics.top_share([1, 2], p=0)


def test_result_frame_summary_rollup(sample_journeys):
    m = at.Linear().fit(sample_journeys)
    r = m.result_
    df = r.to_frame()
    assert list(df.columns) == ["entity", "channel", "conversions", "value", "share",
                                "value_share"]
    assert df["share"].sum() == pytest.approx(1)
    np.testing.assert_allclose(df["share"], df["conversions"] / df["conversions"].sum())
    np.testing.assert_allclose(df["value_share"], df["value"] / df["value"].sum())
    np.testing.assert_array_equal(df["conversions"], m.credit_.to_numpy())
    ch = r.at_level("channel").to_frame()
    expected = df.groupby("channel")["conversions"].sum()
    np.testing.assert_allclose(ch.set_index("entity")["conversions"][expected.index], expected)
    text = str(r.summary())
    assert "Linear" in text and "tv_ad" in text and "Concentration" in text
    assert "<table" in r.summary()._repr_html_()
    conc = r.concentration()
    assert conc.n_entities == 21 == (r.exposure > 0).sum()
    # Gini as the mean absolute difference of the shares: sum |s_i - s_j| / (2 (k - 1))
    sh = m.credit_.to_numpy() / m.credit_.sum()
    mad = np.abs(sh[:, None] - sh[None, :]).sum() / (2 * (len(sh) - 1))
    assert conc.gini == pytest.approx(mad, rel=1e-12)


def test_concentration_skips_unexposed_entities():
    j = at.Journeys([0, 1, 2], [0, 1], [1, 0], [0, 1], names=["a", "b", "never"])
    r = at.LastTouch().fit(j).result_
    assert r.concentration().n_entities == 2  # "never" has no exposure


def test_plots_return_axes(sample_journeys):
    ax = at.Linear().fit(sample_journeys).result_.plot()
    assert len(ax.patches) == 21
    from attribution.plotting import plot_compare

    frame = at.compare(["first", "last"], sample_journeys, level="channel")
    ax2 = plot_compare(frame)
    assert len(ax2.patches) == 2 * 8
    import matplotlib.pyplot as plt

    plt.close("all")


def test_compare_frame(ca_journeys):
    last = at.LastTouch()
    f = at.compare({"F": "first", "L": last, "lin": "linear"}, ca_journeys)
    assert list(dict.fromkeys(f["model"])) == ["F", "L", "lin"]
    for label, ref in (("F", at.FirstTouch()), ("L", at.LastTouch()), ("lin", at.Linear())):
        ref.fit(ca_journeys)
        rows = f[f["model"] == label].set_index("entity")
        np.testing.assert_array_equal(rows["conversions"][ref.credit_.index], ref.credit_)
        np.testing.assert_array_equal(rows["value"][ref.credit_.index], ref.value_credit_)
    assert not hasattr(last, "credit_")  # compare fits clones
    dup = at.compare(["first", "first"], ca_journeys)
    assert list(dict.fromkeys(dup["model"])) == ["first", "first#2"]
    one, two = (dup[dup["model"] == k].drop(columns="model").reset_index(drop=True)
                for k in ("first", "first#2"))
    pd.testing.assert_frame_equal(one, two)
    with pytest.raises(at.ParameterError):
        at.compare([], ca_journeys)
