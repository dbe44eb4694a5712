"""Plots (matplotlib, imported lazily; install the ``plot`` extra).

Every function takes ``ax=None`` (a new figure is made when omitted) and returns the matplotlib
Axes it drew into. Titles are short (the model's class name, not its parameter list) and share
axes are in percent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys.validation import ParameterError

ABSORBING = ("(start)", "(conversion)", "(null)")
SHARES = ("share", "value_share")
LABELS = {"share": "share of conversions", "value_share": "share of value",
          "conversions": "attributed conversions", "value": "attributed value",
          "roas": "ROAS (attributed value / cost)", "cpa": "cost per attributed conversion"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'touchpoint-attribution[plot]'"
                          ) from exc
    return plt


def _axes(ax, figsize):
    """``ax``, or the Axes of a new pyplot figure of ``figsize``."""
    if ax is None:
        _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def _colormap(name: str):
    import matplotlib

    return matplotlib.colormaps[name]


def short_name(model) -> str:
    """A model's short label: ``"MarkovChain(order=1, ...)"`` -> ``"MarkovChain"``."""
    text = str(getattr(model, "model", model))
    head = text.split("(", 1)[0].strip()
    return head or text


def _percent(axis, on: str) -> None:
    """Percent tick labels on ``axis`` (an x or y Axis) when ``on`` is a share column."""
    if on in SHARES:
        from matplotlib.ticker import PercentFormatter

        axis.set_major_formatter(PercentFormatter(1.0, decimals=None))


def _errors(df: pd.DataFrame, on: str):
    """Asymmetric error bars from ``{on}_lower`` / ``{on}_upper`` (None without them)."""
    lo, hi = f"{on}_lower", f"{on}_upper"
    if lo not in df.columns or hi not in df.columns or df[[lo, hi]].isna().all().all():
        return None
    x = df[on].to_numpy(dtype=float)
    err = np.vstack([x - df[lo].to_numpy(dtype=float), df[hi].to_numpy(dtype=float) - x])
    return np.nan_to_num(np.maximum(err, 0.0))


def plot_credit(result, ax=None, on: str = "share", top: int | None = None,
                alpha: float = 0.05):
    """Horizontal bar chart of a result's credit per entity, largest on top.

    Parameters
    ----------
    result : AttributionResult
    ax : matplotlib Axes, optional
        Drawn into a new figure when omitted.
    on : {"share", "conversions", "value", "value_share"}
        Which column of ``result.to_frame()`` to draw (shares in percent).
    top : int, optional
        Only the ``top`` largest entities.
    alpha : float
        After :func:`attribution.bootstrap`, bars carry their ``1 - alpha`` percentile
        intervals.

    Returns
    -------
    matplotlib.axes.Axes
    """
    boot = getattr(result, "bootstrap_", None) is not None
    df = result.conf_int(alpha) if boot else result.to_frame()
    df = df.sort_values(on, ascending=True, kind="stable")
    if top is not None:
        df = df.tail(top)
    ax = _axes(ax, (6, 0.3 * len(df) + 1.2))
    y = np.arange(len(df))
    ax.barh(y, df[on].to_numpy(), color="#4C72B0", xerr=_errors(df, on) if boot else None,
            ecolor="#333333", capsize=2)
    ax.set_yticks(y, df["entity"].tolist())
    ax.set_xlabel(LABELS.get(on, on))
    _percent(ax.xaxis, on)
    ax.set_title(short_name(result))
    ax.axvline(0, color="black", linewidth=0.8)
    return ax


def _result_frame(label, obj, alpha: float) -> pd.DataFrame:
    """Tidy credit of one result (or fitted model), with intervals after a bootstrap."""
    res = getattr(obj, "result_", obj)
    df = res.conf_int(alpha) if getattr(res, "bootstrap_", None) is not None else res.to_frame()
    return df.assign(model=str(label))


def _tidy(data, alpha: float) -> pd.DataFrame:
    """A frame with ``model`` and ``entity`` from a compare frame, dict or list of results."""
    if isinstance(data, pd.DataFrame):
        return data if "model" in data.columns else data.assign(model="")
    if isinstance(data, dict):
        items = list(data.items())
    else:
        items = [(short_name(getattr(r, "result_", r)), r) for r in data]
    return pd.concat([_result_frame(label, obj, alpha) for label, obj in items],
                     ignore_index=True)


def plot_compare(data, ax=None, on: str = "share", top: int | None = None,
                 kind: str = "bar", alpha: float = 0.05, title: str | None = "Credit by model"):
    """Credit of several models side by side, one colour per model, with intervals.

    Parameters
    ----------
    data : DataFrame, dict label -> result, or list of results
        A :func:`attribution.compare` frame (``model``, ``entity``, ``on``), optionally with
        ``{on}_lower`` / ``{on}_upper`` columns (as from ``result_.conf_int()``) drawn as
        intervals; or results / fitted models (intervals when they were bootstrapped).
    on : str
        The column drawn: ``"share"`` (percent axis), ``"value_share"``, ``"conversions"``,
        ``"value"``, or any numeric column such as ``"roas"``.
    top : int, optional
        Only the ``top`` entities by mean ``on`` over the models.
    kind : {"bar", "dot"}
        Grouped bars, or a dot per model with its interval as a line (compact with many
        models).
    alpha : float
        Interval level for bootstrapped results.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if kind not in ("bar", "dot"):
        raise ParameterError(f"kind must be 'bar' or 'dot', got {kind!r}")
    df = _tidy(data, alpha)
    models = list(dict.fromkeys(df["model"].astype(str)))
    order = df.groupby("entity", sort=False)[on].mean().sort_values(ascending=True,
                                                                    kind="stable")
    if top is not None:
        order = order.tail(top)
    entities = [e for e in order.index if str(e).startswith("(")]  # (baseline)... at the foot
    entities += [e for e in order.index if not str(e).startswith("(")]
    n, k = len(models), len(entities)
    per = 0.8 / max(n, 1)
    height = (0.35 * k * max(1, n / 3) if kind == "bar" else 0.3 * k * max(1, n / 5)) + 1.5
    ax = _axes(ax, (7, height))
    y = np.arange(k)
    colours = _colormap("tab10")
    for i, model in enumerate(models):
        sub = df[df["model"].astype(str) == model].drop_duplicates("entity")
        sub = sub.set_index("entity").reindex(entities).reset_index()
        pos = y + 0.4 - per / 2 - i * per  # the first model on top within each entity
        err, colour = _errors(sub, on), colours(i % 10)
        if kind == "bar":
            ax.barh(pos, sub[on].to_numpy(dtype=float), height=per, label=model, color=colour,
                    xerr=err, ecolor="#333333", capsize=1.5, error_kw=dict(linewidth=0.8))
        else:
            ax.errorbar(sub[on].to_numpy(dtype=float), pos, xerr=err, fmt="o", markersize=4,
                        color=colour, label=model, linewidth=1.2, capsize=0)
    ax.set_yticks(y, [str(e) for e in entities])
    if kind == "dot":
        ax.set_yticks(y[:-1] + 0.5, minor=True)
        ax.grid(axis="y", which="minor", color="#dddddd", linewidth=0.6)
        ax.tick_params(axis="y", which="minor", length=0)
    ax.set_ylim(-0.6, k - 0.4)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(LABELS.get(on, on))
    _percent(ax.xaxis, on)
    if title:
        ax.set_title(title)
    if any(models):
        ax.legend(fontsize="small", loc="lower right", framealpha=0.9)
    return ax


def plot_removal_effects(model, ax=None):
    """Bars of a fitted MarkovChain's raw removal effects (conversion and value).

    Returns
    -------
    matplotlib.axes.Axes
    """
    re = model.removal_effects_.sort_values("conversion")
    ax = _axes(ax, (6, 0.3 * len(re) + 1.2))
    y = np.arange(len(re))
    ax.barh(y - 0.2, re["conversion"].to_numpy(), height=0.4, label="conversion")
    ax.barh(y + 0.2, re["value"].to_numpy(), height=0.4, label="value")
    ax.set_yticks(y, [str(i) for i in re.index])
    ax.set_xlabel("removal effect (share of conversions lost)")
    _percent(ax.xaxis, "share")
    ax.set_title(f"Removal effects (order {model.order_})")
    ax.legend(fontsize="small")
    return ax


def _transition_grid(tm: pd.DataFrame, top: int, absorbing: bool) -> pd.DataFrame:
    """Transition probabilities among the ``top`` busiest states, rows ``from``."""
    busy = tm.groupby("from", sort=False)["count"].sum().sort_values(
        ascending=False, kind="stable").index
    if not absorbing:
        busy = busy[busy != "(start)"]
    busy = busy[:top]
    keep_to = [b for b in busy if b != "(start)"]
    if absorbing:
        keep_to += ["(conversion)", "(null)"]
    sub = tm[tm["from"].isin(busy) & tm["to"].isin(keep_to)]
    grid = sub.pivot_table(index="from", columns="to", values="probability", fill_value=0.0,
                           aggfunc="sum")
    return grid.reindex(index=list(busy), columns=keep_to, fill_value=0.0)


def plot_transitions(model, ax=None, top: int = 25, absorbing: bool = True,
                     annotate: bool | None = None):
    """Heatmap of a fitted MarkovChain's transition probabilities among its busiest states.

    Parameters
    ----------
    model : fitted MarkovChain (anything with a ``transition_matrix_`` frame of ``from``,
        ``to``, ``count``, ``probability``)
    top : int
        The ``top`` states with the most transitions out.
    absorbing : bool
        Show the ``(start)`` row and the ``(conversion)`` and ``(null)`` columns. With
        ``False`` only transitions between touchpoints remain, and the colour scale runs to
        the largest of them, so they are readable (probabilities are still those of the full
        chain: a row's cells sum to less than 100%, the rest ends the journey).
    annotate : bool, optional
        Write the percentages in the cells (default: when the grid is at most 15 x 15).

    Returns
    -------
    matplotlib.axes.Axes
    """
    grid = _transition_grid(model.transition_matrix_, top, absorbing)
    size = 0.4 * max(len(grid.columns), 4) + 2.5
    ax = _axes(ax, (size, 0.35 * max(len(grid), 3) + 2))
    values = grid.to_numpy(dtype=float)
    vmax = 1.0 if absorbing or values.size == 0 else max(float(values.max()), 1e-12)
    cmap = _colormap("viridis").with_extremes(bad="#eeeeee")  # never seen: grey
    im = ax.imshow(np.ma.masked_equal(values, 0.0), cmap=cmap, vmin=0, vmax=vmax,
                   aspect="auto")
    ax.set_xticks(np.arange(len(grid.columns)), grid.columns, rotation=90, fontsize="small")
    ax.set_yticks(np.arange(len(grid.index)), grid.index, fontsize="small")
    if annotate or (annotate is None and max(values.shape, default=0) <= 15):
        for (r, c), v in np.ndenumerate(values):
            if v > 0:
                ax.text(c, r, f"{100 * v:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if v < 0.6 * vmax else "black")
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    level = getattr(getattr(model, "result_", None), "level", None)
    ax.set_title("Markov transitions" + ("" if absorbing else f" between {level or 'state'}s"))
    bar = ax.figure.colorbar(im, ax=ax, label="transition probability")
    _percent(bar.ax.yaxis, "share")
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

    ax = _axes(ax, (5.5, 5))
    if not isinstance(results, dict):
        results = {short_name(getattr(results, "result_", results)): results}
    for label, obj in results.items():
        credit = _credit_series(obj)
        pts = lorenz(credit)
        ax.plot(pts["entities"], pts["credit"], marker=".", linewidth=1.2,
                label=f"{label} (top {p:.0%}: {top_share(credit, p):.0%})")
    if truth is not None:
        credit = _credit_series(truth)
        pts = lorenz(credit)
        ax.plot(pts["entities"], pts["credit"], color="black", linestyle="--", linewidth=2.2,
                label=f"truth (top {p:.0%}: {top_share(credit, p):.0%})")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.axvline(p, color="grey", linestyle=":")
    ax.axhline(q, color="grey", linestyle=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("share of entities (largest credit first)")
    ax.set_ylabel("share of credit")
    _percent(ax.xaxis, "share")
    _percent(ax.yaxis, "share")
    ax.set_title("Concentration of credit")
    ax.legend(fontsize="x-small", loc="lower right")
    return ax


def plot_lengths(journeys, ax=None, max_length: int = 15):
    """Journeys by number of touches (bars) and their conversion rate (line, right axis).

    Parameters
    ----------
    journeys : Journeys
        Weighted by conversions + nulls (an aggregated path table counts its journeys).
    max_length : int
        Longer journeys are pooled in the last bar (``"15+"``).

    Returns
    -------
    matplotlib.axes.Axes
        The bars' Axes (the rate is on ``ax.right_ax``).
    """
    n = np.minimum(np.asarray(journeys.lengths), max_length)
    w = np.asarray(journeys.conversions, dtype=float) + np.asarray(journeys.nulls, dtype=float)
    count = np.bincount(n, weights=w, minlength=max_length + 1)[1:]
    conv = np.bincount(n, weights=journeys.conversions, minlength=max_length + 1)[1:]
    x = np.arange(1, max_length + 1)
    ax = _axes(ax, (6.5, 3))
    ax.bar(x, count, color="#4C72B0", label="journeys")
    ax.set_xticks(x, [str(i) for i in x[:-1]] + [f"{max_length}+"])
    ax.set_xlabel("touches per journey")
    ax.set_ylabel("journeys")
    right = ax.twinx()
    rate = np.divide(conv, count, out=np.full(len(x), np.nan), where=count > 0)
    right.plot(x, rate, color="#DD8452", marker="o", markersize=3, label="conversion rate")
    right.set_ylim(0, max(float(np.nanmax(rate)) if np.isfinite(rate).any() else 0, 0.01) * 1.15)
    right.set_ylabel("conversion rate", color="#DD8452")
    _percent(right.yaxis, "share")
    ax.right_ax = right
    ax.set_title("Path lengths")
    return ax
