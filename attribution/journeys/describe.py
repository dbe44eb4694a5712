"""``Journeys.describe()``: overview statistics, top paths and the drop report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attribution.journeys.paths import distinct_pairs


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Quantile of ``x`` with frequency weights ``w`` (inverted CDF: the smallest x with F >= q)."""
    if len(x) == 0 or w.sum() <= 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    k = int(np.searchsorted(cw, q * cw[-1], side="left"))
    return float(x[order][min(k, len(x) - 1)])


@dataclass
class JourneysDescription:
    """What :meth:`Journeys.describe` returns; prints as text, renders as HTML in notebooks."""

    overview: pd.Series
    top_paths: pd.DataFrame
    report: pd.DataFrame

    def __str__(self) -> str:
        parts = ["Journeys", self.overview.to_string(), "", "Top paths",
                 self.top_paths.to_string(index=False), "", "Report (read, dropped, reshaped)",
                 self.report.to_string(index=False) if len(self.report) else "(nothing)"]
        return "\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return ("<h4>Journeys</h4>" + self.overview.to_frame("value").to_html()
                + "<h4>Top paths</h4>" + self.top_paths.to_html(index=False)
                + "<h4>Report</h4>" + self.report.to_html(index=False))


def describe(j, top: int = 10) -> JourneysDescription:
    """Summary of journeys ``j``: overview, the ``top`` paths and the report."""
    w = j.conversions + j.nulls
    total = w.sum()
    lengths = j.lengths.astype(float)
    conv = j.conversions
    jj, _ = distinct_pairs(j.touch_journey, j.touch_channel, len(j.channel_names))
    distinct = np.bincount(jj, minlength=j.n_journeys)
    touched = np.zeros(len(j.names), dtype=bool)
    touched[j.codes] = True
    ov = {
        "journeys (rows)": j.n_journeys,
        "journeys (weighted: conversions + nulls)": total,
        "converting journeys (rows)": int((conv > 0).sum()),
        "conversions": conv.sum(),
        "conversion rate": conv.sum() / total if total > 0 else float("nan"),
        "value": j.value.sum(),
        "touches": j.n_touches,
        f"{j.level}s touched": int(touched.sum()),
        "channels": len(j.channel_names),
        "touches per journey (mean)": float(np.average(lengths, weights=w)) if total > 0
        else float(lengths.mean()),
        "touches per journey (median)": weighted_quantile(lengths, w, 0.5),
        "touches per journey (p90)": weighted_quantile(lengths, w, 0.9),
        "touches before conversion (mean)": float(np.average(lengths, weights=conv))
        if conv.sum() > 0 else float("nan"),
        "distinct channels per journey (mean)": float(np.average(distinct, weights=w))
        if total > 0 else float(distinct.mean()),
        "level": j.level,
    }
    agg = j.aggregate()
    weight = agg.conversions + agg.nulls
    order = np.argsort(-weight, kind="stable")[:top]
    sub = agg.select(order)
    sep = next(s for s in (" > ", " | ", " ~ ", " / ") if not any(s.strip() in n for n in j.names))
    top_paths = pd.DataFrame({
        "path": sub.path_strings(sep) if sub.n_journeys else [],
        "journeys": weight[order],
        "conversions": agg.conversions[order],
        "conversion rate": np.divide(agg.conversions[order], weight[order],
                                     out=np.full(len(order), np.nan), where=weight[order] > 0),
    })
    return JourneysDescription(pd.Series(ov, dtype=object), top_paths, j.report_)
