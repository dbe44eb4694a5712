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
