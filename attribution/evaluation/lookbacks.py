"""Lookback sensitivity: how much the credit depends on the lookback window.

:func:`compare_lookbacks` sessionises the same event log once per lookback, fits the same
model on each and returns the credit side by side; :func:`plot_lookbacks` draws each entity's
share against the lookback.
"""

from __future__ import annotations

import warnings

import pandas as pd
from sklearn.base import clone

from attribution.evaluation.compare import _as_model
from attribution.journeys import Journeys
from attribution.journeys.validation import DroppedDataWarning, ParameterError, label_list

#: ``report_`` items read into the frame's drop counts
_DROPS = {"touches_dropped": "touches outside the lookback dropped",
          "conversions_dropped": "conversions with no touch in their window dropped"}


def compare_lookbacks(events, lookbacks=("7D", "30D", "90D"), model="linear",
                      **from_events_kwargs) -> pd.DataFrame:
    """Fit ``model`` on the journeys of ``events`` at each lookback.

    Parameters
    ----------
    events : pandas, polars or pyarrow table
        The event log, as for :meth:`Journeys.from_events <attribution.Journeys.from_events>`.
    lookbacks : list
        Lookback windows (``"7D"``, ``"12h"``, a Timedelta; numbers of steps with
        ``time_unit="step"``; ``None``: no window), at least one, each once.
    model : str or AttributionModel
        A registered model name or an estimator (cloned for every lookback).
    **from_events_kwargs
        The columns and options of ``from_events`` (``journey=``, ``time=`` ...), without
        ``lookback``.

    Returns
    -------
    pandas.DataFrame
        One row per (lookback, entity), lookbacks in the order given: ``lookback`` (as given,
        shown as text), ``entity`` (and ``channel`` at touchpoint level), ``credit``
        (conversions), ``value_credit``, ``share`` (of the credit at that lookback),
        ``journeys`` (journeys kept), ``converting_journeys``, ``touches_dropped`` (touches
        outside the lookback) and ``conversions_dropped`` (conversions with no touch inside
        it). Extra rows such as ``(baseline)`` are kept. The drops of every lookback are
        summarised in one :class:`~attribution.DroppedDataWarning`.
    """
    if "lookback" in from_events_kwargs:
        raise ParameterError("compare_lookbacks sets the lookback itself; pass the windows as "
                             "lookbacks=[...], not lookback=")
    windows = label_list(lookbacks, "lookbacks")
    if not windows:
        raise ParameterError("lookbacks must hold at least one window, e.g. ['7D', '30D']")
    shown = ["none" if w is None else str(w) for w in windows]
    if len(set(shown)) != len(shown):
        raise ParameterError(f"lookbacks names a window twice: {shown}")
    est = _as_model(model, "model")
    parts, phrases = [], []
    for window, label in zip(windows, shown, strict=True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DroppedDataWarning)
            j = Journeys.from_events(events, lookback=window, **from_events_kwargs)
        phrases += [f"lookback {label}: " + str(w.message).split(" See ")[0] for w in caught
                    if issubclass(w.category, DroppedDataWarning)]
        for w in caught:
            if not issubclass(w.category, DroppedDataWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        parts.append(_credit(clone(est), j, label))
    if phrases:
        warnings.warn("compare_lookbacks: " + " | ".join(phrases) + " The columns "
                      "touches_dropped and conversions_dropped count them.", DroppedDataWarning,
                      stacklevel=2)
    out = _complete(parts)
    out["lookback"] = pd.Categorical(out["lookback"], categories=shown, ordered=True)
    return out


def _credit(est, j: Journeys, label: str) -> pd.DataFrame:
    """One lookback's rows of :func:`compare_lookbacks`."""
    frame = est.fit(j).result_.to_frame()
    frame = frame.rename(columns={"conversions": "credit", "value": "value_credit"})
    frame = frame.drop(columns=["value_share"])
    frame.insert(0, "lookback", label)
    frame["journeys"] = j.n_journeys
    frame["converting_journeys"] = int((j.conversions > 0).sum())
    report = j.report_
    for column, item in _DROPS.items():
        frame[column] = int(report.loc[report["item"] == item, "count"].sum())
    return frame


def _complete(parts: list) -> pd.DataFrame:
    """The parts stacked, each with every entity seen at any lookback (0 credit where the
    lookback left it no touch), entities in order of first appearance.
    """
    frame = pd.concat(parts, ignore_index=True)
    entities = list(dict.fromkeys(frame["entity"]))
    per_lookback = ["journeys", "converting_journeys", *_DROPS]
    credit = ["credit", "value_credit", "share"]
    out = []
    for part in parts:
        full = part.set_index("entity").reindex(entities)
        full[credit] = full[credit].fillna(0.0)
        for col in ["lookback", *per_lookback]:
            full[col] = part[col].iloc[0]
        out.append(full.reset_index())
    out = pd.concat(out, ignore_index=True)[frame.columns]
    if "channel" in out:
        channel = frame.drop_duplicates("entity").set_index("entity")["channel"]
        out["channel"] = out["entity"].map(channel)
    return out


def plot_lookbacks(frame: pd.DataFrame, ax=None, top: int = 8, title=None):
    """Each entity's share of the credit against the lookback (one line per entity).

    Parameters
    ----------
    frame : pandas.DataFrame
        The output of :func:`compare_lookbacks`.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    top : int
        Entities drawn: the ``top`` with the largest share at any lookback.
    title : str, optional
        Default: ``"Credit share by lookback"``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    need = {"lookback", "entity", "share"}
    if not isinstance(frame, pd.DataFrame) or not need <= set(frame.columns):
        raise ParameterError("plot_lookbacks draws the frame compare_lookbacks returns (columns "
                             "lookback, entity, share)")
    wide = frame.pivot_table(index="lookback", columns="entity", values="share",
                             aggfunc="sum", observed=True, sort=False)
    keep = wide.max().sort_values(ascending=False).index[:top]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    x = range(len(wide.index))
    for entity in keep:
        ax.plot(x, wide[entity].to_numpy(), marker="o", label=str(entity))
    ax.set_xticks(list(x), [str(v) for v in wide.index])
    ax.set_xlabel("lookback")
    ax.set_ylabel("share of credit")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(title or "Credit share by lookback")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return ax
