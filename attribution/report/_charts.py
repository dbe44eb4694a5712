"""The report's charts: the package's own plots, each as an SVG ``data:`` URI.

Figures are made with :class:`matplotlib.figure.Figure` (no pyplot, so no window and no
global figure list) and written as SVG with the text as paths and a fixed hash salt: the page
needs no font and no network, and the same input gives the same bytes.
"""

from __future__ import annotations

import base64
import io

from attribution import plotting

RC = {"svg.fonttype": "path", "svg.hashsalt": "attribution-report", "font.size": 9}


def svg_uri(draw, figsize) -> str:
    """``draw(ax)`` on a new figure of ``figsize`` inches, as a ``data:image/svg+xml`` URI."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=figsize, layout="constrained")
        draw(fig.subplots())
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def compare_chart(frame, on: str, n_models: int, title: str) -> str:
    """Dot-and-interval chart of ``on`` per entity, one colour per model."""
    k = frame["entity"].nunique()
    height = 0.28 * k * max(1.0, n_models / 5) + 1.4
    return svg_uri(lambda ax: plotting.plot_compare(frame, ax=ax, on=on, kind="dot",
                                                    title=title), (7.5, height))


def lorenz_chart(results: dict, truth) -> str:
    """Lorenz curves of every model, the truth dashed when given."""
    return svg_uri(lambda ax: plotting.plot_lorenz(results, truth=truth, ax=ax), (6, 5.2))


def transitions_chart(model, top: int = 25) -> str:
    """The Markov heatmap without the absorbing states."""
    n = min(top, len(model.transition_matrix_["from"].unique()))
    side = 0.32 * n + 2.6
    return svg_uri(lambda ax: plotting.plot_transitions(model, ax=ax, top=top,
                                                        absorbing=False), (side + 1.2, side))


def lengths_chart(journeys) -> str:
    """Journeys by number of touches, with the conversion rate."""
    return svg_uri(lambda ax: plotting.plot_lengths(journeys, ax=ax), (7, 2.8))


def epochs_chart(fits) -> str:
    """Share per epoch of the largest entities, with their intervals."""
    return svg_uri(lambda ax: fits.plot(ax=ax), (8, 4.2))
