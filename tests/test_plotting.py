"""Every plot takes ax=None, returns its Axes, and renders a PNG that is not blank."""

import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import attribution as at  # noqa: E402
from attribution import plotting  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    from attribution.datasets import load_sample

    j, truth = load_sample(as_journeys=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lin = at.Linear()
        at.bootstrap(lin, j, n_boot=20, random_state=0)
        return dict(j=j, truth=truth, linear=lin, markov=at.MarkovChain().fit(j),
                    last=at.LastTouch().fit(j))


def drawn(ax, path):
    assert isinstance(ax, matplotlib.axes.Axes)
    ax.figure.savefig(path, dpi=60)
    plt.close(ax.figure)
    img = mpimg.imread(path)[..., :3]
    ink = (img.mean(axis=2) < 0.9).mean()  # share of pixels that are not (near) white
    assert ink > 0.01 and img.std() > 0.05, (ink, img.std())


def test_credit_bars_with_and_without_intervals(fitted, tmp_path):
    drawn(fitted["last"].result_.plot(), tmp_path / "a.png")
    ax = fitted["linear"].result_.plot()
    assert any(getattr(c, "errorbar", None) is not None for c in ax.containers)  # intervals
    drawn(ax, tmp_path / "b.png")
    _, given = plt.subplots()
    assert plotting.plot_credit(fitted["last"].result_, ax=given, top=5) is given
    drawn(given, tmp_path / "c.png")


def test_compare_lorenz_and_markov_plots(fitted, tmp_path):
    frame = at.compare(["first", "last", "linear"], fitted["j"], level="channel")
    drawn(plotting.plot_compare(frame), tmp_path / "cmp.png")
    models = {k: fitted[k] for k in ("linear", "markov", "last")}
    ax = plotting.plot_lorenz(models, truth=fitted["truth"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lbl.startswith("truth") for lbl in labels) and len(labels) == 4
    truth_line = ax.lines[3]
    assert truth_line.get_linestyle() == "--"
    assert np.isclose(truth_line.get_ydata()[-1], 1.0)
    drawn(ax, tmp_path / "lorenz.png")
    drawn(plotting.plot_lorenz(fitted["last"]), tmp_path / "lorenz1.png")
    drawn(fitted["markov"].plot_removal_effects(), tmp_path / "re.png")
    drawn(fitted["markov"].plot_transitions(top=8), tmp_path / "tm.png")


def test_blank_check_catches_blank(tmp_path):
    _, ax = plt.subplots()
    ax.set_axis_off()
    with pytest.raises(AssertionError):
        drawn(ax, tmp_path / "blank.png")


# ------------------------------------------------------------------ titles, axes, new plots
def _is_percent(axis):
    from matplotlib.ticker import PercentFormatter

    return isinstance(axis.get_major_formatter(), PercentFormatter)


def test_short_titles_and_percent_share_axes(fitted):
    ax = plotting.plot_credit(fitted["markov"].result_)
    assert ax.get_title() == "MarkovChain" and "(" not in ax.get_title()
    assert _is_percent(ax.xaxis)
    ax2 = plotting.plot_credit(fitted["markov"].result_, on="conversions")
    assert not _is_percent(ax2.xaxis)
    assert plotting.short_name("PositionBased(first=0.4, last=0.4)") == "PositionBased"
    assert plotting.short_name("custom") == "custom"
    plt.close("all")


def _frame():
    import pandas as pd

    return pd.DataFrame({
        "model": ["m1", "m1", "m2", "m2"], "entity": ["a", "b", "a", "b"],
        "share": [0.6, 0.4, 0.3, 0.7], "share_lower": [0.5, 0.3, 0.2, 0.65],
        "share_upper": [0.75, 0.45, 0.35, 0.9]})


@pytest.mark.parametrize("kind", ["bar", "dot"])
def test_compare_draws_legend_and_the_given_intervals(kind):
    ax = plotting.plot_compare(_frame(), kind=kind)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["m1", "m2"]
    assert _is_percent(ax.xaxis)
    from matplotlib.container import ErrorbarContainer

    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2
    spans = set()
    for b in bars:  # each error bar spans exactly [lower, upper]
        for seg in b.lines[2][0].get_segments():
            spans.add((round(seg[0][0], 9), round(seg[1][0], 9)))
    assert spans == {(0.5, 0.75), (0.3, 0.45), (0.2, 0.35), (0.65, 0.9)}
    # entities ordered by mean share: b (0.55) above a (0.45)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    plt.close("all")


def test_compare_takes_results_and_puts_extra_rows_last(fitted):
    ax = plotting.plot_compare({"lin": fitted["linear"], "last": fitted["last"]}, kind="dot")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["lin", "last"]
    from matplotlib.container import ErrorbarContainer

    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [len(c.lines[2]) for c in bars] == [1, 0]  # intervals only for the bootstrapped
    j = fitted["j"]
    logit = at.Logistic().fit(j)
    ax = plotting.plot_compare({"logistic": logit, "last": fitted["last"]})
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "(baseline)"  # at the foot, whatever its share
    with pytest.raises(at.ParameterError, match="kind"):
        plotting.plot_compare(_frame(), kind="pie")
    plt.close("all")


def test_transitions_can_hide_the_absorbing_states(ca_journeys):
    m = at.MarkovChain().fit(ca_journeys)
    tm = m.transition_matrix_
    ax = plotting.plot_transitions(m, absorbing=False)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert set(rows) == set(cols) == {"a", "b", "c", "d"}
    img = ax.get_images()[0]
    inner = tm[tm["from"].isin(rows) & tm["to"].isin(cols)]
    assert img.get_clim() == (0, pytest.approx(inner["probability"].max()))
    shown = np.ma.filled(img.get_array(), 0.0)
    for r in inner.itertuples():
        assert shown[rows.index(r[1]), cols.index(r.to)] == pytest.approx(r.probability)
    full = plotting.plot_transitions(m)
    assert {"(conversion)", "(null)"} <= {t.get_text() for t in full.get_xticklabels()}
    assert "(start)" in {t.get_text() for t in full.get_yticklabels()}
    assert full.get_images()[0].get_clim() == (0, 1)
    plt.close("all")


def test_path_lengths_counts_weighted_journeys(ca_journeys):
    # CA paths: lengths 3,1,3,2,5,2,1,4 with conversions + nulls 13,6,5,6,13,6,3,5
    ax = plotting.plot_lengths(ca_journeys, max_length=4)
    heights = [p.get_height() for p in ax.patches]
    assert heights == [9, 12, 18, 5 + 13]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4+"]
    rate = ax.right_ax.lines[0].get_ydata()  # conversions / journeys per length
    assert np.allclose(rate, [(1 + 2) / 9, (4 + 0) / 12, (3 + 2) / 18, (5 + 1) / 18])
    plt.close("all")


def test_every_plot_function_renders(fitted, ca_journeys, tmp_path):
    draws = {
        "plot_credit": lambda: plotting.plot_credit(fitted["linear"].result_),
        "plot_compare": lambda: plotting.plot_compare(_frame(), kind="dot"),
        "plot_removal_effects": lambda: plotting.plot_removal_effects(fitted["markov"]),
        "plot_transitions": lambda: plotting.plot_transitions(fitted["markov"],
                                                              absorbing=False),
        "plot_lorenz": lambda: plotting.plot_lorenz(fitted["last"], truth=fitted["truth"]),
        "plot_lengths": lambda: plotting.plot_lengths(ca_journeys),
    }
    public = {n for n in dir(plotting) if n.startswith("plot_")}
    assert public == set(draws)  # a new plot function needs its line here
    for name, draw in draws.items():
        drawn(draw(), tmp_path / f"{name}.png")
