"""``attribution demo``: every kind of model on the bundled sample, scored against its truth.

The sample is simulated, so the true incremental conversions of each touchpoint are known
(Shapley over the causal lifts, ``truth.shapley``) and so is the baseline: the conversions that
would have happened with no touch at all. The demo fits the heuristics and the learned models
(Markov, Shapley, Logistic), prints their channel credit beside the truth and each model's
distance from it, writes the numbers (and, given a report writer, the report page) into
``out_dir``, and says where to look next.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from attribution import metrics
from attribution.datasets import load_sample

BASELINE = "(baseline)"
TRUTH = "TRUTH"
PLACEBO = ["placebo_banner1"]
#: bootstrap replicates behind the report page's intervals (about 6 s on the sample)
REPORT_BOOT = 50


def demo_models() -> dict:
    """The models the demo fits, label -> unfitted estimator (heuristics first)."""
    import attribution as at

    return {
        "first": at.FirstTouch(), "last": at.LastTouch(), "linear": at.Linear(),
        "position": at.PositionBased(), "time_decay": at.TimeDecay(),
        "markov": at.MarkovChain(),
        "shapley": at.Shapley(value="rate", credit="incremental"),
        "logistic": at.Logistic(random_state=0),
    }


def _fit_all(journeys) -> dict:
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sparse-coalition notes etc.: the demo shows results
        for label, model in demo_models().items():
            fitted[label] = model.fit(journeys)
    return fitted


def channel_table(fitted: dict, truth) -> pd.DataFrame:
    """Conversions credited to each channel (touchpoint credit summed by channel), one column
    per model, the true incremental conversions in ``TRUTH`` and the baseline in the last row.
    """
    cols = {}
    for label, model in fitted.items():
        frame = model.result_.at_level("channel").to_frame()
        cols[label] = frame.groupby("entity", sort=False)["conversions"].sum()
    table = pd.DataFrame(cols)
    true = truth.channel_shapley.copy()
    true[BASELINE] = truth.baseline
    table[TRUTH] = true
    order = [c for c in truth.channel_shapley.sort_values(ascending=False).index
             if c in table.index]
    rest = [c for c in table.index if c not in order and c != BASELINE]
    table = table.reindex(order + rest + [BASELINE]).fillna(0.0)
    table.index.name = "channel"
    return table


def accuracy_table(fitted: dict, truth) -> pd.DataFrame:
    """Each model's distance from the truth at touchpoint level (:func:`metrics.accuracy`),
    best first (smallest total-variation distance).
    """
    rows = []
    true_base = truth.baseline / truth.conversions
    for label, model in fitted.items():
        frame = model.result_.to_frame().set_index("entity")["conversions"]
        base = float(frame.get(BASELINE, 0.0))
        est = frame.drop([BASELINE, "(unattributed)"], errors="ignore")
        acc = metrics.accuracy(est, truth.shapley, placebo=PLACEBO,
                               baseline=base / frame.sum(), true_baseline=true_base)
        rows.append(dict(model=label, **acc))
    return pd.DataFrame(rows).set_index("model").sort_values("tv_distance")


def _with_baseline(table: pd.DataFrame) -> list[str]:
    row = table.loc[BASELINE].drop(TRUTH)
    return list(row.index[row > 0])


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def format_channels(table: pd.DataFrame) -> str:
    """The channel table as a terminal shows it: shares of all conversions in %."""
    shares = table / table.sum()
    text = shares.apply(lambda col: col.map(_percent))
    return text.to_string()


def format_accuracy(acc: pd.DataFrame) -> str:
    """The accuracy table as a terminal shows it."""
    shown = pd.DataFrame({
        "distance": acc["tv_distance"].map(lambda x: f"{x:.2f}"),
        "rank corr.": acc["spearman"].map(lambda x: f"{x:+.2f}"),
        "top-20% found": acc["top_precision"].map(_percent),
        "placebo": acc["placebo_share"].map(_percent),
        "baseline leaked": acc["baseline_leakage"].map(_percent),
    })
    return shown.to_string()


def _next_steps(written: list[Path], report: Path | None) -> str:
    rows = []
    if report is not None:
        rows.append(("the report page", f"{report}  (open it in a browser)"))
    rows.append(("the numbers", ", ".join(str(p) for p in written)))
    rows += [
        ("what each model does", "docs/models.md; the whole site: `make docs`, then "
                                 "site/index.html"),
        ("notebooks", "notebooks/01_quickstart.ipynb, 02_compare_models.ipynb, "
                      "03_concentration.ipynb"),
        ("the command line", "attribution --help, attribution models"),
    ]
    return "\n".join(["", "Where to look next:"] + [f"  {k:22s}{v}" for k, v in rows])


def run_demo(out_dir: str | Path = "demo-output", write_report: Callable | None = None,
             echo: Callable[[str], object] = print) -> dict:
    """Fit every kind of model on the bundled sample, score them against its truth, print
    the comparison and write it to ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder for ``channels.csv`` (conversions per channel and model, with the truth),
        ``accuracy.csv`` and the report page; created if missing.
    write_report : callable, optional
        :func:`attribution.report.write_report` or a function with its signature, called as
        ``write_report(path, journeys=..., models=..., truth=..., level="channel",
        n_boot=REPORT_BOOT, title=...)`` to write the page to ``out_dir/report.html``.
        The command line passes
        :func:`attribution.report.write_report`; this module sits below the report tier and
        does not import it. Without one no page is written.
    echo : callable
        Where the text goes (``print``).

    Returns
    -------
    dict
        ``journeys``, ``truth``, ``models`` (label -> fitted model), ``channels`` and
        ``accuracy`` (the tables) and ``report`` (the page's path, or None).
    """
    journeys, truth = load_sample(as_journeys=True)
    fitted = _fit_all(journeys)
    channels = channel_table(fitted, truth)
    acc = accuracy_table(fitted, truth)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "channels.csv", out / "accuracy.csv"]
    channels.to_csv(written[0])
    acc.to_csv(written[1])
    report = None
    if write_report is not None:
        report = out / "report.html"
        write_report(report, journeys=journeys, models=fitted, truth=truth, level="channel",
                     n_boot=REPORT_BOOT, title="attribution demo: the bundled sample and its truth")

    caused = truth.conversions - truth.baseline
    echo(f"Sample: {journeys}")
    echo(f"Known truth: {truth.conversions:,.0f} conversions expected, {truth.baseline:,.0f} "
         f"of them ({_percent(truth.baseline / truth.conversions)}) would have happened "
         f"with no touch (the baseline), {caused:,.0f} caused by touchpoints.\n")
    echo("Share of conversions credited to each channel (its touchpoints' credit summed; "
         "Markov refitted on channel journeys differs), by model, against the truth "
         "(heuristics have no baseline: they hand it to the channels):")
    echo(format_channels(channels))
    echo("\nDistance from the true touchpoint credit (total variation, 0 = exact; best first):")
    echo(format_accuracy(acc))
    echo(f"\nOnly models with a baseline ({', '.join(_with_baseline(channels))}) can set aside "
         f"the conversions that would have happened anyway; closest to the truth on this "
         f"sample: {acc.index[0]}.")
    echo(_next_steps(written, report))
    return dict(journeys=journeys, truth=truth, models=fitted, channels=channels,
                accuracy=acc, report=report)
