"""The analyst's outputs of the command line: ``fit --spend`` (cost per conversion and ROAS),
``fit --by`` (credit per period of conversion), the bootstrap's rank probabilities, and the
``report`` command's page.

Each model is fitted once over the whole input; periods bucket its per-touch credit by the
conversion's time (:func:`attribution.periods.by_period`), and spend is matched on the
conversion's period when the spend table has a ``period`` column
(:func:`attribution.efficiency.efficiency`).
"""

from __future__ import annotations

import pandas as pd

from attribution.cli_args import BY, CLIError

__all__ = ["analyst_table", "check_analyst", "read_spend", "report_page", "with_rank_probabilities"]

def read_spend(path: str) -> pd.DataFrame:
    """The spend table (CSV or Parquet): ``channel`` or ``touchpoint``, ``cost``, optional
    ``period``.
    """
    from pathlib import Path

    from attribution.journeys.validation import AttributionError
    from attribution.scale import io

    what = ("the spend table (CSV or Parquet: channel or touchpoint, cost, optional period)")
    if not Path(path).is_file():
        state = "is a directory" if Path(path).is_dir() else "does not exist"
        raise CLIError(f"--spend {path!r} {state}; pass {what}")
    try:
        return io.read_table(path)
    except (AttributionError, CLIError, ValueError, OSError) as exc:
        raise CLIError(f"--spend {path!r}: {exc}; pass {what}") from exc


def check_analyst(args) -> None:
    """``--spend`` and ``--by`` are readable and not given together (before any fit)."""
    if args.spend and args.by:
        raise CLIError("--by and --spend together: a spend table with a 'period' column "
                       "already gives CPA and ROAS per period; drop --by")
    if args.spend:
        read_spend(args.spend)


def analyst_table(args, models: dict, journeys) -> pd.DataFrame | None:
    """``fit``'s table when ``--spend`` or ``--by`` is given (None otherwise): CPA and ROAS
    per entity (per period when the spend table has one), or credit per period; one block per
    model, with a ``model`` column. Models not fitted yet (no bootstrap) are fitted here.
    """
    if not args.spend and not args.by:
        return None
    spend = read_spend(args.spend) if args.spend else None
    frames = []
    for name, est in models.items():
        if getattr(est, "result_", None) is None:
            est.fit(journeys)
        per_period = args.by is not None or "period" in spend.columns
        touches = est.transform(journeys) if per_period else None
        if args.by:
            frame = est.result_.by_period(BY[args.by], touches=touches)
        else:
            frame = est.result_.efficiency(spend, touches=touches, alpha=args.alpha)
        frames.append(frame.assign(model=name))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[["model", *[c for c in frame.columns if c != "model"]]]
    frame.attrs["title"] = (f"Credit by {args.by} of conversion:" if args.by else
                            "Cost per attributed conversion (cpa) and return on spend (roas):")
    return frame


def with_rank_probabilities(frame: pd.DataFrame, result, p: float = 0.2) -> pd.DataFrame:
    """``frame`` (one row per entity) with ``p_top20``: the bootstrap probability that the
    entity is among the top ``p`` of entities by credit (``(baseline)`` has none).
    """
    ranks = result.rank_probabilities(p=p)
    column = f"p_top{round(100 * p)}"
    return frame.merge(ranks[["entity", "p_top"]].rename(columns={"p_top": column}),
                       on="entity", how="left")


def report_page(args, journeys, models: dict, truth, progress: bool) -> str:
    """Write the page of ``attribution report`` to ``args.output``; its path."""
    from attribution.report import cli_report

    spend = read_spend(args.spend) if args.spend else None
    path = cli_report(journeys, models, spend, args.output, level=args.level,
                      n_boot=args.n_boot, alpha=args.alpha, random_state=args.seed,
                      title=args.title, truth=truth, progress=progress,
                      epochs=args.by_epoch)
    return str(path)
