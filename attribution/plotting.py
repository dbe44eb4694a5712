"""Plots (matplotlib, imported lazily; install the ``plot`` extra)."""

from __future__ import annotations

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'touchpoint-attribution[plot]'"
                          ) from exc
    return plt


def plot_credit(result, ax=None, on: str = "share", top: int | None = None):
    """Horizontal bar chart of a result's credit per entity, largest on top.

    Parameters
    ----------
    result : AttributionResult
    ax : matplotlib Axes, optional
        Drawn into a new figure when omitted.
    on : {"share", "conversions", "value", "value_share"}
        Which column of ``result.to_frame()`` to draw.
    top : int, optional
        Only the ``top`` largest entities.

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    df = result.to_frame().sort_values(on, ascending=True, kind="stable")
    if top is not None:
        df = df.tail(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(df) + 1.2))
    y = np.arange(len(df))
    ax.barh(y, df[on].to_numpy(), color="#4C72B0")
    ax.set_yticks(y, df["entity"].tolist())
    ax.set_xlabel(on)
    ax.set_title(result.model)
    ax.axvline(0, color="black", linewidth=0.8)
    return ax


def plot_compare(frame, ax=None, on: str = "share"):
    """Grouped bars of a :func:`attribution.compare` frame: entities by model.

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    wide = frame.pivot_table(index="entity", columns="model", values=on, sort=False)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.35 * len(wide) * max(1, len(wide.columns) / 3) + 1.5))
    n = len(wide.columns)
    y = np.arange(len(wide))
    h = 0.8 / max(n, 1)
    for i, model in enumerate(wide.columns):
        ax.barh(y + i * h - 0.4 + h / 2, wide[model].to_numpy(), height=h, label=str(model))
    ax.set_yticks(y, [str(e) for e in wide.index])
    ax.set_xlabel(on)
    ax.legend(fontsize="small")
    return ax
