"""What the report page shows, computed and formatted: the template only lays it out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from attribution.journeys.validation import AttributionError
from attribution.report import _charts, _money
from attribution.report._fit import definition, fit_models, parameters

#: a model's credit reads "concentrated" when its top 20% of entities hold at least this share
CONCENTRATED = 0.5
#: report_ rows whose item says something was lost or changed
_DROP_WORDS = ("dropped", "ignored", "removed", "trimmed", "collapsed", "split", "cut")


def pct(x, digits: int = 1) -> str:
    """``0.1234`` -> ``"12.3%"``; NaN -> ``""``."""
    if x is None or not np.isfinite(x):
        return "" if x is None or np.isnan(x) else ("∞" if x > 0 else "-∞")
    return f"{100 * x:.{digits}f}%"


def num(x, digits: int = 2) -> str:
    """A human number: integers with thousands separators, others with ``digits`` decimals."""
    if isinstance(x, str):
        return x
    if x is None or not math.isfinite(x):
        return "" if x is None or math.isnan(x) else ("∞" if x > 0 else "-∞")
    if float(x).is_integer():
        return f"{int(round(float(x))):,}"
    return f"{float(x):,.{digits}f}"


def dec(x) -> str:
    """A ratio with two decimals (``"1,234.50"``); NaN -> ``""``; infinite -> ``"∞"``."""
    if x is None or not math.isfinite(x):
        return "" if x is None or math.isnan(x) else ("∞" if x > 0 else "-∞")
    return f"{float(x):,.2f}"


def interval(row, on: str, fmt=pct) -> dict:
    """``{"v": "12.3%", "ci": "[10.1%, 14.2%]"}`` from ``on`` and its ``_lower`` / ``_upper``
    columns (``ci`` empty without them).
    """
    v = row.get(on, np.nan)
    lo, hi = row.get(f"{on}_lower", np.nan), row.get(f"{on}_upper", np.nan)
    ci = f"[{fmt(lo)}, {fmt(hi)}]" if pd.notna(v) and pd.notna(lo) and pd.notna(hi) else ""
    return dict(v=fmt(v) if pd.notna(v) else "", ci=ci)


def data_summary(journeys, top: int = 10) -> dict:
    """Overview, top paths and the drop report of ``journeys`` (``Journeys.describe``)."""
    d = journeys.describe(top=top)
    overview = [(k, pct(v, 2) if k == "conversion rate" else num(v))
                for k, v in d.overview.items()]
    paths = [dict(path=r["path"], journeys=num(r["journeys"]), conversions=num(r["conversions"]),
                  rate=pct(r["conversion rate"])) for r in d.top_paths.to_dict("records")]
    report = d.report.to_dict("records")
    drops = [dict(step=r["step"], item=r["item"], count=num(r["count"]),
                  lost=any(w in str(r["item"]) for w in _DROP_WORDS)) for r in report]
    return dict(overview=overview, paths=paths, report=drops,
                dropped=[r for r in drops if r["lost"]],
                lengths_chart=_charts.lengths_chart(journeys))


def truth_shares(truth, level: str) -> pd.Series | None:
    """The truth's share of the conversions per entity at ``level``: a Truth's incremental
    shares with its ``(baseline)`` row (:meth:`Truth.shares`), or a Series of credit.
    """
    if truth is None:
        return None
    if hasattr(truth, "shares"):
        return truth.shares(level)
    s = pd.Series(truth, dtype=float)
    return s / s.sum()


def comparison(fitted, truth_s, n_models: int) -> dict:
    """The model comparison table (share with its interval) and chart."""
    frame = fitted.frame
    order = frame.groupby("entity", sort=False)["share"].mean().sort_values(
        ascending=False, kind="stable").index
    if truth_s is not None:  # the truth's (baseline) even when no model keeps one
        order = order.append(pd.Index([e for e in truth_s.index if e not in order]))
    extra = [e for e in order if str(e).startswith("(")]
    order = [e for e in order if e not in extra] + extra
    cells = {label: sub.set_index("entity") for label, sub in frame.groupby("model", sort=False)}
    rows = []
    for e in order:
        row = [interval(cells[m].loc[e].to_dict(), "share") if e in cells[m].index
               else dict(v="", ci="") for m in fitted.labels]
        if truth_s is not None:
            row.append(dict(v=pct(truth_s.get(e, np.nan)), ci=""))
        rows.append(dict(entity=e, cells=row))
    chart_frame = frame
    if truth_s is not None:
        chart_frame = pd.concat([frame, pd.DataFrame({"model": "truth", "entity": truth_s.index,
                                                      "share": truth_s.to_numpy()})])
    negative = sorted({str(r["model"]) for r in frame.to_dict("records") if r["share"] < 0})
    return dict(columns=fitted.labels + (["truth"] if truth_s is not None else []), rows=rows,
                negative=negative, has_intervals="share_lower" in frame.columns,
                chart=_charts.compare_chart(chart_frame, "share", n_models + (truth_s is not None),
                                            "Share of conversions by model"))


def reading(top_share: float, even: float) -> str:
    """"concentrated" when the top entities hold at least :data:`CONCENTRATED` of the credit
    and half again their even share ``even`` (k / n: with few entities the top 20% are
    already a large part of them), else "flat".
    """
    return "concentrated" if top_share >= max(CONCENTRATED, 1.5 * even) else "flat"


def concentration(fitted, truth_s, p: float = 0.2) -> dict:
    """Top-20% share, Gini and a plain reading per model (and the truth), and the Lorenz."""
    from attribution.metrics import concentration as conc

    rows = []
    items = [(label, est.result_.concentration(p=p)) for label, est in fitted.estimators.items()]
    if truth_s is not None:  # over the entities, as the models' (no baseline row)
        truth_s = truth_s.drop(["(baseline)"], errors="ignore")
        items.append(("truth", conc(truth_s.to_numpy(), p=p)))
    for label, c in items:
        k = math.ceil(p * c.n_entities - 1e-12)
        rows.append(dict(model=label, top=pct(c.top_share), gini=f"{c.gini:.2f}",
                         entities=f"{k} of {c.n_entities}",
                         reading=reading(c.top_share, k / max(c.n_entities, 1)),
                         pareto="yes" if c.pareto else "no"))
    truth_curve = None if truth_s is None else truth_s.to_numpy()
    return dict(rows=rows, p=pct(p, 0), threshold=pct(CONCENTRATED, 0),
                chart=_charts.lorenz_chart(dict(fitted.estimators), truth_curve))


def ranks(fitted, p: float = 0.2, top: int = 6) -> dict | None:
    """Rank uncertainty from the bootstrap: per entity and model, the share of replicates in
    which the entity is among the top ``p`` (:mod:`attribution.inference.ranks`); for the
    last model, the probability of each pairwise order among its ``top`` entities. None
    without replicates.
    """
    probs = {label: est.result_.rank_probabilities(p=p).set_index("entity")["p_top"]
             for label, est in fitted.estimators.items()
             if getattr(est.result_, "bootstrap_", None) is not None}
    if not probs:
        return None
    table = pd.DataFrame(probs)
    order = table.mean(axis=1).sort_values(ascending=False, kind="stable").index
    rows = [dict(entity=e, cells=["" if pd.isna(v) else pct(v, 0) for v in table.loc[e]])
            for e in order]
    out = dict(columns=list(probs), rows=rows, p=pct(p, 0), pair_model=None)
    last = list(probs)[-1]
    n = len(fitted.estimators[last].result_.names)
    if n >= 2:
        pw = fitted.estimators[last].result_.pairwise_order(top=min(top, n))
        out.update(pair_model=last, pair_columns=list(pw.columns),
                   pair_rows=[dict(entity=a, cells=["" if a == b else pct(pw.loc[a, b], 0)
                                                    for b in pw.columns]) for a in pw.index])
    return out


def money(fitted, journeys, spend: pd.DataFrame, alpha: float) -> dict:
    """Cost per conversion and ROAS per entity and model, with the ROAS chart."""
    frames = [_money.model_efficiency(est, journeys, spend, alpha).assign(model=label)
              for label, est in fitted.estimators.items()]
    eff = pd.concat(frames, ignore_index=True)
    eff = eff[~eff["entity"].astype(str).str.startswith("(")]  # (baseline): no cost
    rows = []
    for e, sub in eff.groupby("entity", sort=False):
        sub = sub.set_index("model")
        status = [s for s in dict.fromkeys(sub["status"].astype(str)) if s != "ok"]
        rows.append(dict(entity=e, cost=num(sub["cost"].iloc[0]), status=", ".join(status),
                         roas=[interval(sub.loc[m].to_dict(), "roas", dec) if m in sub.index
                               else dict(v="", ci="") for m in fitted.labels],
                         cpa=[interval(sub.loc[m].to_dict(), "cpa", dec) if m in sub.index
                              else dict(v="", ci="") for m in fitted.labels]))
    basis = eff.drop_duplicates("model").set_index("model")["basis"]
    columns = [f"{m} ({basis[m]})" if basis.get(m) == "incremental" else m
               for m in fitted.labels]
    chart_frame = eff[np.isfinite(eff["roas"].to_numpy(dtype=float))]
    chart = (_charts.compare_chart(chart_frame, "roas", len(fitted.labels),
                                   "ROAS (attributed value / cost) by model")
             if len(chart_frame) else None)
    return dict(columns=columns, rows=rows, chart=chart, periods="period" in spend.columns,
                incremental=any(basis == "incremental"))


def markov(fitted, journeys, level) -> dict:
    """The transition heatmap of the report's Markov chain (fitted here when absent)."""
    model = next((e for e in fitted.estimators.values() if hasattr(e, "transition_matrix_")),
                 None)
    if model is None:
        from attribution.models import get_model

        try:
            model = get_model("markov", **({"level": level} if level else {})).fit(journeys)
        except AttributionError as exc:
            return dict(chart=None, note=f"no Markov chain: {exc}")
    return dict(chart=_charts.transitions_chart(model), note="", order=model.order_)


def definitions(fitted) -> list[dict]:
    """Each model's label, class, one-line definition and non-default parameters."""
    return [dict(label=label, cls=type(est).__name__, definition=definition(est),
                 params=parameters(est)) for label, est in fitted.estimators.items()]


def context(journeys, models=None, spend=None, truth=None, title="Attribution report",
            level=None, n_boot: int = 100, alpha: float = 0.05, random_state=0,
            progress: bool = False, epochs=None) -> dict:
    """Everything the template shows."""
    from attribution.report._time import over_time

    spend = _money.read_spend(spend)
    fitted = fit_models(models, journeys, level=level, n_boot=n_boot, alpha=alpha,
                        random_state=random_state, progress=progress)
    level = next(iter(fitted.estimators.values())).result_.level
    truth_s = truth_shares(truth, level)
    import attribution

    return dict(
        title=title, version=attribution.__version__, level=level, n_boot=n_boot,
        confidence=pct(1 - alpha, 0), summary=data_summary(journeys),
        comparison=comparison(fitted, truth_s, len(fitted.labels)),
        money=money(fitted, journeys, spend, alpha) if spend is not None else None,
        concentration=concentration(fitted, truth_s), ranks=ranks(fitted),
        markov=markov(fitted, journeys, level), models=definitions(fitted),
        over_time=(over_time(journeys, epochs, level, n_boot, alpha, random_state)
                   if epochs else None), epochs=epochs,
        notes=fitted.notes)
