"""The spend table of the report, and each model's cost per conversion and ROAS.

The figures are :func:`attribution.efficiency.efficiency`'s (``result.efficiency(spend)``):
totals, or per period when the spend table has a ``period`` column (the per-touch credit is
then computed with ``model.transform(journeys)``).
"""

from __future__ import annotations

import pandas as pd


def read_spend(spend) -> pd.DataFrame | None:
    """The spend table: None, a DataFrame, or a CSV / Parquet file name."""
    if spend is None or isinstance(spend, pd.DataFrame):
        return spend
    from attribution.scale import io

    return io.read_table(str(spend))


def model_efficiency(est, journeys, spend: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """CPA and ROAS of a fitted model's credit, summed over periods when there are any."""
    from attribution.efficiency import efficiency

    touches = est.transform(journeys) if "period" in spend.columns else None
    eff = efficiency(est.result_, spend, touches, alpha=alpha)
    if "period" not in eff.columns:
        return eff
    basis = eff["basis"].iloc[0] if len(eff) else ""
    totals = eff.groupby("entity", sort=False).agg(
        status=("status", lambda s: ", ".join(dict.fromkeys(s))),
        cost=("cost", lambda c: c.sum(min_count=1)), conversions=("conversions", "sum"),
        value=("value", "sum")).reset_index()
    totals["cpa"] = totals["cost"] / totals["conversions"].where(totals["conversions"] > 0)
    totals["roas"] = totals["value"] / totals["cost"].where(totals["cost"] > 0)
    return totals.assign(basis=basis)
