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


def plot_credit(result, ax=None, on: str = "share", top: int | None = None,
                alpha: float = 0.05):
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
    alpha : float
        After :func:`attribution.bootstrap`, bars carry their ``1 - alpha`` percentile
        intervals.

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    boot = getattr(result, "bootstrap_", None) is not None
    df = result.conf_int(alpha) if boot else result.to_frame()
    df = df.sort_values(on, ascending=True, kind="stable")
    if top is not None:
        df = df.tail(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(df) + 1.2))
    y = np.arange(len(df))
    xerr = None
    if boot:  # percentile intervals as asymmetric error bars
        x = df[on].to_numpy()
        xerr = np.vstack([np.maximum(x - df[f"{on}_lower"].to_numpy(), 0),
                          np.maximum(df[f"{on}_upper"].to_numpy() - x, 0)])
    ax.barh(y, df[on].to_numpy(), color="#4C72B0", xerr=xerr, ecolor="#333333", capsize=2)
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


def plot_removal_effects(model, ax=None):
    """Bars of a fitted MarkovChain's raw removal effects (conversion and value).

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    re = model.removal_effects_.sort_values("conversion")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(re) + 1.2))
    y = np.arange(len(re))
    ax.barh(y - 0.2, re["conversion"].to_numpy(), height=0.4, label="conversion")
    ax.barh(y + 0.2, re["value"].to_numpy(), height=0.4, label="value")
    ax.set_yticks(y, [str(i) for i in re.index])
    ax.set_xlabel("removal effect")
    ax.set_title(f"Removal effects (order {model.order_}; sum {model.removal_effects_sum_:.2f})")
    ax.legend(fontsize="small")
    return ax


def plot_transitions(model, ax=None, top: int = 25):
    """Heatmap of a fitted MarkovChain's transition probabilities among its busiest states.

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    tm = model.transition_matrix_
    busy = tm.groupby("from")["count"].sum().sort_values(ascending=False).index[:top]
    keep_to = list(busy[busy != "(start)"]) + ["(conversion)", "(null)"]
    sub = tm[tm["from"].isin(busy) & tm["to"].isin(keep_to)]
    grid = sub.pivot_table(index="from", columns="to", values="probability", fill_value=0.0)
    grid = grid.reindex(index=[b for b in busy if b in grid.index],
                        columns=[c for c in keep_to if c in grid.columns], fill_value=0.0)
    if ax is None:
        size = 0.35 * max(len(grid.columns), 4) + 2
        _, ax = plt.subplots(figsize=(size, 0.3 * len(grid) + 2))
    im = ax.imshow(grid.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(np.arange(len(grid.columns)), grid.columns, rotation=90, fontsize="small")
    ax.set_yticks(np.arange(len(grid.index)), grid.index, fontsize="small")
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    ax.figure.colorbar(im, ax=ax, label="probability")
    return ax


def _credit_series(obj):
    """Credit per exposed entity of a fitted model, a result, a Truth or a Series."""
    if hasattr(obj, "result_"):
        obj = obj.result_
    if hasattr(obj, "exposure") and hasattr(obj, "conversions"):  # AttributionResult
        s = np.asarray(obj.conversions, dtype=float)
        return s[np.asarray(obj.exposure) > 0]
    if hasattr(obj, "shapley"):  # simulate.Truth
        return obj.shapley.to_numpy(dtype=float)
    return np.asarray(obj, dtype=float)


def plot_lorenz(results, truth=None, ax=None, p: float = 0.2, q: float = 0.8):
    """Lorenz (Pareto) curves: cumulative share of credit held by the top entities.

    Parameters
    ----------
    results : fitted model, AttributionResult, array, or a dict of label -> one of those
    truth : Truth, pandas.Series or array, optional
        Drawn as a thick black dashed curve: the true concentration.
    p, q : float
        Reference lines: "``p`` of the entities hold ``q`` of the credit" (the 20/80 rule).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from attribution.metrics import lorenz, top_share

    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    if not isinstance(results, dict):
        results = {getattr(getattr(results, "result_", results), "model", "model"): results}
    for label, obj in results.items():
        credit = _credit_series(obj)
        pts = lorenz(credit)
        ax.plot(pts["entities"], pts["credit"], marker=".", linewidth=1.2,
                label=f"{label} (top {p:.0%}: {top_share(credit, p):.2f})")
    if truth is not None:
        credit = _credit_series(truth)
        pts = lorenz(credit)
        ax.plot(pts["entities"], pts["credit"], color="black", linestyle="--", linewidth=2.2,
                label=f"truth (top {p:.0%}: {top_share(credit, p):.2f})")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.axvline(p, color="grey", linestyle=":")
    ax.axhline(q, color="grey", linestyle=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of entities (largest credit first)")
    ax.set_ylabel("share of credit")
    ax.set_title(f"Concentration: do {p:.0%} of entities hold {q:.0%} of the credit?")
    ax.legend(fontsize="x-small", loc="lower right")
    return ax
