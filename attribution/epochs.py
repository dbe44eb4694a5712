"""Attribution over time: one fit per epoch, with bootstrap intervals, and the changes
between epochs.

:func:`fit_by_epoch` refits a model on the journeys of each period. A journey belongs to the
epoch of its conversion time (a journey that does not convert, to that of its last touch),
so the epochs partition the journeys and each fit sees independent data. This is distinct
from :func:`attribution.periods.by_period`, which fits once over the whole range and buckets
the per-touch credit by conversion period: by_period shows where one model's credit falls in
time, fit_by_epoch shows whether the model itself has changed.

A model with ``link="auto"`` picks its link once, by held-out log-loss on all the journeys,
and every epoch and replicate refits with it: the epochs are then comparable (a link switch
between two epochs would show as a change of credit), and the bootstrap is about six times
faster. The changes are found by :func:`attribution.changes.detect_changes`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone

from attribution.changes import RATE, detect_changes, epoch_order
from attribution.experiments import covered, read_experiments
from attribution.inference.bootstrap import bootstrap
from attribution.journeys import Journeys
from attribution.journeys.export import time_column
from attribution.journeys.time_strings import column_content, parse_date_strings
from attribution.journeys.validation import InputError, ParameterError
from attribution.models import AttributionModel, check_journeys
from attribution.periods import conversion_periods


@dataclass
class EpochFits:
    """The fits of :func:`fit_by_epoch`.

    Attributes
    ----------
    frame : pandas.DataFrame
        epoch, entity, credit, share, lower, upper, se (the share's bootstrap interval and
        standard error), credit_lower, credit_upper: one row per epoch and entity.
    epochs : pandas.DataFrame
        epoch, journeys, conversions, rate (conversions per journey) and rate_se (binomial).
    models : dict
        The fitted model of each epoch.
    notes : list of str
        What was decided on the way (the link chosen once; epochs left out).
    """

    frame: pd.DataFrame
    epochs: pd.DataFrame
    models: dict = field(repr=False)
    notes: list = field(default_factory=list)

    def partial(self, min_journeys: float = 0.5) -> list:
        """The ragged ends of a log: the first and last epochs (in time order) with fewer than
        ``min_journeys`` x the median epoch's journeys, and the short ones next to them (the
        last month's journeys are still open, so its mix differs). A short epoch between
        full ones (an outage) is data, not an end: it stays in, with its wider intervals.
        """
        e = self.epochs
        short = set(e.loc[e["journeys"] < min_journeys * e["journeys"].median(), "epoch"])
        order = epoch_order(e["epoch"])
        flags = [x in short for x in order]
        lead = next((i for i, f in enumerate(flags) if not f), len(flags))
        trail = next((i for i, f in enumerate(flags[::-1]) if not f), 0)
        return order[:lead] + order[len(order) - trail:] if lead < len(order) else order

    def series(self, min_journeys: float = 0.5) -> pd.DataFrame:
        """``frame`` with the conversion rate as one more series (entity
        ``"(conversion rate)"``, its binomial standard error and normal interval), without
        the :meth:`partial` epochs.
        """
        e = self.epochs
        rate = pd.DataFrame({"epoch": e["epoch"], "entity": RATE, "share": e["rate"],
                             "se": e["rate_se"], "lower": e["rate"] - 1.96 * e["rate_se"],
                             "upper": e["rate"] + 1.96 * e["rate_se"]})
        out = pd.concat([self.frame, rate], ignore_index=True)
        out["journeys"] = out["epoch"].map(dict(zip(e["epoch"], e["journeys"], strict=True)))
        return out[~out["epoch"].isin(self.partial(min_journeys))].reset_index(drop=True)

    def detect_changes(self, alpha: float = 0.05, max_changes: int = 3,
                       min_journeys: float = 0.5) -> pd.DataFrame:
        """Changes of the entities' shares and of the conversion rate between epochs
        (:func:`attribution.changes.detect_changes`), leaving out the :meth:`partial`
        epochs (``min_journeys=0`` keeps them). Needs the bootstrap intervals (``n_boot``).
        """
        if self.frame["se"].isna().all():
            raise ParameterError("detect_changes compares shares with their bootstrap errors, "
                                 "and these epochs have none: fit_by_epoch(..., n_boot=100)")
        return detect_changes(self.series(min_journeys), alpha=alpha, max_changes=max_changes)

    def plot(self, ax=None, top: int = 8, entities=None):
        """Share per epoch of the ``top`` entities (largest mean share), with intervals."""
        from attribution.plotting import _axes

        ax = _axes(ax, (8, 4.5))
        f = self.frame[~self.frame["entity"].astype(str).str.startswith("(")]
        if entities is None:
            entities = f.groupby("entity")["share"].mean().nlargest(top).index
        order = epoch_order(pd.unique(self.frame["epoch"]))
        x = np.arange(len(order))
        for name in entities:
            s = f[f["entity"] == name].set_index("epoch").reindex(order)
            line = ax.plot(x, s["share"], marker="o", label=str(name))[0]
            ax.fill_between(x, s["lower"], s["upper"], color=line.get_color(), alpha=0.15)
        ax.set_xticks(x, [str(e) for e in order], rotation=45, ha="right")
        ax.set_ylabel("share of conversions")
        ax.set_title("Credit share per epoch (bootstrap intervals)")
        ax.legend(fontsize="small", ncol=2)
        return ax


def epoch_of(journeys: Journeys, freq="M", boundaries=None) -> pd.Series:
    """The epoch of every journey: the period of its conversion (or last-touch) time, or
    with ``boundaries`` the interval between consecutive dates (labels ``"<b0"``,
    ``"b0..b1"``, ``">=bn"``), in the journeys' time zone.
    """
    if journeys.end_times is None:
        raise InputError("epochs need journeys with times (Journeys.from_events(df, time=...)); "
                         "path tables have none")
    times = pd.Series(time_column(journeys, journeys.end_times))
    if journeys.time_kind == "datetime" and journeys.time_zone is not None:
        times = times.dt.tz_localize(None)  # the wall time of the journeys' zone
    if boundaries is None:
        return pd.Series(conversion_periods(times, freq)).astype(str)
    edges = _edges(journeys, boundaries)
    if len(edges) == 0 or not edges.is_monotonic_increasing or edges.has_duplicates:
        raise ParameterError("boundaries must be one or more increasing, distinct dates")
    shown = [str(e.date()) if hasattr(e, "date") and e == e.normalize() else str(e)
             if hasattr(e, "date") else str(int(e)) if float(e).is_integer() else repr(float(e))
             for e in edges]  # exact: two boundaries never print alike
    pairs = zip(shown[:-1], shown[1:], strict=True)
    labels = np.array([f"<{shown[0]}"] + [f"{a}..{b}" for a, b in pairs]
                      + [f">={shown[-1]}"], dtype=object)
    return pd.Series(labels[np.searchsorted(edges.to_numpy(), times.to_numpy(), side="right")])


def _edges(journeys, boundaries) -> pd.Index:
    """``boundaries`` as dates (datetime journeys; strings read in one format, an ambiguous
    one refused, as the journeys' times are) or numbers (numeric times).
    """
    if isinstance(boundaries, (str, bytes)) or not hasattr(boundaries, "__iter__"):
        raise ParameterError(f"boundaries must be a list of dates, e.g. ['2024-02-01'], got "
                             f"{boundaries!r}")
    values = pd.Series(list(boundaries), dtype=object)
    content = column_content(values)
    dated = journeys.time_kind == "datetime"
    if len(values) and (content == "numbers") == dated:
        raise ParameterError(f"boundaries must be {'dates' if dated else 'numbers'} like the "
                             f"journeys' times ({journeys.time_kind}), got {content}: "
                             f"{list(values[:3])}")
    if not dated:
        return pd.Index(values.to_numpy(np.float64))
    try:
        if content == "strings":  # one format for all; an ambiguous one is refused
            values = parse_date_strings(values, "boundaries", "the boundaries")
        edges = pd.DatetimeIndex(pd.to_datetime(values))
    except InputError as exc:
        raise ParameterError(str(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"boundaries must be dates: {exc}") from exc
    if edges.tz is not None:  # an instant: the wall time of the journeys' zone
        edges = edges.tz_convert(journeys.time_zone or "UTC").tz_localize(None)
    return edges


def fit_by_epoch(model, journeys, freq=None, boundaries=None, n_boot: int = 100,
                 alpha: float = 0.05, n_jobs=None, random_state=None,
                 progress: bool = False, experiments=None) -> EpochFits:
    """Refit ``model`` on the journeys of each epoch, with bootstrap intervals.

    A warning of an epoch's fit (or its bootstrap's summary of its replicates' warnings) is
    issued once, prefixed with the epoch: ``"epoch 2024Q2: the calibrated fit still ..."``.

    Parameters
    ----------
    model : AttributionModel
        Cloned for every epoch (left unfitted).
    journeys : Journeys
        With times (an event log).
    freq : str or int
        Calendar period of the epochs ("M", "W", "Q", or "month", "week"...), in the
        journeys' time zone; a number of steps for numeric times. Default "M" (months),
        unless ``boundaries`` are given (then not both).
    boundaries : sequence of dates, optional
        Epoch edges instead of ``freq``: epochs before the first, between consecutive ones
        (the start included), and from the last on.
    n_boot : int
        Bootstrap replicates per epoch (0: point estimates only, no intervals).
    alpha : float
        1 - confidence level of the intervals.
    n_jobs, random_state, progress
        As :func:`attribution.bootstrap` (``random_state`` seeds every epoch's replicates).
    experiments : DataFrame or path, optional
        Lift tests (:func:`attribution.read_experiments`), each with a period (start, end)
        whose journeys lie in one epoch: that epoch's fit, and its replicates, are
        calibrated to it (``model.fit(journeys, experiments=...)``); epochs without one are
        fitted as they are. An experiment without a period, or over journeys of several
        epochs, is refused: its incremental conversions cannot be split between epochs.

    Returns
    -------
    EpochFits
    """
    if not isinstance(model, AttributionModel):
        raise ParameterError(f"model must be an attribution model, got "
                             f"{type(model).__name__}; e.g. attribution.get_model('logistic')")
    if not (isinstance(n_boot, (int, np.integer)) and (n_boot == 0 or n_boot >= 2)):
        raise ParameterError(f"n_boot must be 0 (no intervals) or >= 2, got {n_boot!r}")
    if freq is not None and boundaries is not None:
        raise ParameterError("give freq or boundaries, not both: boundaries cut the epochs")
    j = check_journeys(journeys, model.level)
    epoch = epoch_of(j, "M" if freq is None else freq, boundaries).to_numpy()
    tests = experiments_by_epoch(model, j, epoch, experiments)
    model, chosen = link_chosen(model, j)
    notes = [] if chosen is None else [
        f"link chosen once on all journeys by held-out log-loss ({chosen}); every epoch and "
        "replicate refits with it"]
    order = epoch_order(pd.unique(epoch))
    seeds = [int(s.generate_state(1)[0]) for s in
             np.random.SeedSequence(random_state).spawn(len(order))]
    frames, rows, models = [], [], {}
    for name, seed in zip(order, seeds, strict=True):
        sub = j.select(epoch == name)
        n, conv = float((sub.conversions + sub.nulls).sum()), float(sub.conversions.sum())
        rows.append(dict(epoch=name, journeys=int(round(n)) if float(n).is_integer() else n,
                         conversions=conv, rate=conv / n,
                         rate_se=np.sqrt(conv / n * (1 - conv / n) / n)))
        if conv <= 0:
            notes.append(f"epoch {name}: no conversion, no fit")
            continue
        est = clone(model)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frames.append(_one_epoch(est, sub, n_boot, alpha, n_jobs, seed, progress,
                                     tests.get(name)).assign(epoch=name))
        _reissue(caught, name)
        if name in tests:
            notes.append(f"epoch {name}: calibrated to {len(tests[name])} experiment(s)")
        models[name] = est
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    cols = ["epoch", "entity", "credit", "share", "lower", "upper", "se", "credit_lower",
            "credit_upper"]
    return EpochFits(frame=frame[[c for c in cols if c in frame]], epochs=pd.DataFrame(rows),
                     models=models, notes=notes)


def _reissue(caught, name) -> None:
    """The warnings of one epoch's fits, each distinct one once, naming the epoch."""
    seen = set()
    for w in caught:
        if (w.category, str(w.message)) not in seen:
            seen.add((w.category, str(w.message)))
            warnings.warn(f"epoch {name}: {w.message}", w.category, stacklevel=3)


def _one_epoch(est, sub, n_boot, alpha, n_jobs, seed, progress, exps) -> pd.DataFrame:
    if n_boot:
        t = bootstrap(est, sub, n_boot=n_boot, alpha=alpha, n_jobs=n_jobs,
                      random_state=seed, progress=progress, experiments=exps)
    else:
        t = est.fit(sub, experiments=exps).result_.to_frame()
        for col in ("conversions", "share"):
            t[f"{col}_lower"] = t[f"{col}_upper"] = t[f"{col}_se"] = np.nan
    return pd.DataFrame({"entity": t["entity"].astype(str), "credit": t["conversions"],
                         "share": t["share"], "lower": t["share_lower"],
                         "upper": t["share_upper"], "se": t["share_se"],
                         "credit_lower": t["conversions_lower"],
                         "credit_upper": t["conversions_upper"]})


def experiments_by_epoch(model, journeys, epoch, experiments) -> dict:
    """{epoch: its rows of the lift-test table}: each experiment goes to the one epoch that
    holds the journeys of its period (refused without a period or across epochs).
    """
    if experiments is None:
        return {}
    if not model.accepts_experiments:
        raise ParameterError(f"{type(model).__name__} cannot be calibrated to experiments "
                             "(no value model that a lift test measures); use Logistic")
    table = read_experiments(experiments)
    table["table_row"] = np.arange(len(table))  # an epoch's messages name the user's rows
    rows = {}
    for i, row in enumerate(table.itertuples()):
        what = f"experiment row {i} ({row.entity})"
        if pd.isna(row.start) and pd.isna(row.end):
            raise InputError(f"{what} has no period: epochs are calibrated with the "
                             "experiments run within them; give its start and end")
        names = pd.unique(epoch[covered(journeys, row.start, row.end)])
        if len(names) == 0:
            raise InputError(f"{what}, {row.start} to {row.end}, covers no journey of the "
                             "data: check its start and end, or drop the row")
        if len(names) > 1:
            raise InputError(f"{what}, {row.start} to {row.end}, covers journeys of "
                             f"{len(names)} epochs ({', '.join(map(str, names[:3]))}): its "
                             "incremental conversions cannot be split between epochs; give "
                             "each epoch its own experiment, or boundaries that hold it")
        rows.setdefault(names[0], []).append(i)
    return {name: table.iloc[idx].reset_index(drop=True) for name, idx in rows.items()}


def link_chosen(model, journeys):
    """``(clone, link)``: a clone of ``model`` whose ``link="auto"`` is replaced by the link
    it picks (held-out log-loss) on ``journeys``, and that link; ``(clone, None)`` for a
    model that picks none. Refits (bootstrap replicates, epochs) then keep one link: about
    six times faster, and comparable.
    """
    params = model.get_params()
    if params.get("link") != "auto" or params.get("estimator") is not None or (
            params.get("value") == "count"):
        return clone(model), None
    chosen = getattr(clone(model).fit(journeys), "link_", None)
    if chosen is None:
        return clone(model), None
    return clone(model).set_params(link=chosen), chosen
