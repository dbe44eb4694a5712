"""Journey bootstrap: percentile intervals for the credit of any model.

A bootstrap replicate resamples journeys with replacement. On an aggregated table (one row per
distinct path, docs/models.md) that is a draw of new weights for the rows, never a copy of the data:
each row's converting and non-converting journeys are the cells of one multinomial over all
``N`` journeys (``method="multinomial"``, the classical bootstrap), or each cell is an
independent Poisson count with its weight as mean (``method="poisson"``, the Poisson bootstrap
of Hanley & MacGibbon 2006, which does not fix N). A row's value follows its conversions:
value' = value x conversions' / conversions (the mean value per conversion of a path is kept;
rows with value but no conversions keep their value). Weights are taken as counts of journeys;
fractional weights are resampled as if rounded.

Models whose credit needs touch times (``TimeDecay(by="time")``) are resampled per journey
instead of per distinct path. ``MarkovChain`` builds its states once and re-solves the chain
per replicate, with the order of the full fit (an ``order="auto"`` fit keeps the order it
chose). Every replicate has its own child seed of ``random_state`` (NumPy ``SeedSequence``),
so the replicates are the same bits whatever ``n_jobs``.

Intervals are percentile intervals (Efron & Tibshirani 1993, ch. 13) of conversions, value
and their shares of the total (shares of the sum over entities *and* extra rows such as
``(baseline)``, as in ``result_.to_frame()``), per entity and per extra row. The alpha/2 limit
is the (B + 1) alpha/2-th of the B sorted replicates, interpolated between neighbours (Davison
& Hinkley 1997, section 5.2; numpy's ``method="weibull"``), not the linear-interpolation
quantile, whose limits sit about one replicate inside: with B = 200 that rule alone loses
about 0.007 of coverage of a 95% interval on an exactly normal statistic, and about 0.01 on
every model in benchmarks/bench_coverage.py. Efron & Tibshirani advise about 1000 replicates
for percentile limits (200 are enough for a standard error); ``n_boot=200`` is a first look.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from attribution.inference import ranks
from attribution.journeys.validation import AttributionWarning, ParameterError
from attribution.models import AttributionModel, check_journeys

METHODS = ("multinomial", "poisson")
PREFER = "processes"
INTERVALS = ("percentile", "bc")
ZERO_CREDIT = 1e-9  # credit below this fraction of a replicate's conversions counts as none


class BootstrapReplicates:
    """Credit of every bootstrap replicate: ``conversions`` and ``value`` are arrays of shape
    (n_boot, n_entities + n_extra), columns named by ``names`` (entities, then extra rows).
    """

    def __init__(self, names, conversions, value, method, seed):
        self.names = np.asarray(names, dtype=object)
        self.conversions = np.asarray(conversions, dtype=np.float64)
        self.value = np.asarray(value, dtype=np.float64)
        self.method = method
        self.seed = seed

    @property
    def n_boot(self) -> int:
        """Number of replicates."""
        return self.conversions.shape[0]

    def conf_int(self, alpha: float = 0.05, point: pd.DataFrame | None = None,
                 method: str = "percentile") -> pd.DataFrame:
        """``1 - alpha`` intervals: ``entity``, then ``lower``/``upper`` of ``conversions``,
        ``value``, ``share`` and ``value_share``, and each replicate standard deviation as
        ``*_se``.

        ``method="percentile"``: the replicates' alpha/2 and 1 - alpha/2 quantiles, each the
        (B + 1) q-th order statistic of the B replicates (:func:`order_quantiles`).
        ``method="bc"``: bias-corrected percentiles (Efron & Tibshirani 1993, section 14.3):
        with z0 = Phi^-1(share of replicates below the point estimate, ties counted half),
        the quantiles Phi(2 z0 +- z_{alpha/2}) by the same rule; it needs ``point`` (the
        estimate: a frame with ``entity`` and the four columns) and corrects the median bias
        that small samples give models such as Logistic.

        Either way, a row with no conversions credited in any replicate gets the Jeffreys
        upper limit of 0 conversions in N (about 2.5 / N of the share at 95%) instead of
        the degenerate [0, 0].
        """
        from scipy.stats import norm

        check_alpha(alpha)
        check_choice(method, INTERVALS, "method")
        if method == "bc" and point is None:
            raise ParameterError("bias-corrected intervals need the point estimate")
        out = {"entity": self.names}
        z = norm.ppf(alpha / 2)
        for key, reps in self._arrays().items():
            if method == "percentile":
                q_lo, q_hi = alpha / 2, 1 - alpha / 2
            else:
                est = point.set_index("entity")[key].reindex(self.names).to_numpy(float)
                below = (reps < est).mean(axis=0) + 0.5 * (reps == est).mean(axis=0)
                z0 = norm.ppf(np.clip(below, 1 / (2 * self.n_boot), 1 - 1 / (2 * self.n_boot)))
                q_lo, q_hi = norm.cdf(2 * z0 + z), norm.cdf(2 * z0 - z)
            ordered = np.sort(reps, axis=0)
            out[f"{key}_lower"] = order_quantiles(ordered, q_lo)
            out[f"{key}_upper"] = order_quantiles(ordered, q_hi)
            out[f"{key}_se"] = reps.std(axis=0, ddof=1) if self.n_boot > 1 else np.nan
        self._zero_count_bounds(out, alpha)
        return pd.DataFrame(out)

    def _zero_count_bounds(self, out: dict, alpha: float) -> None:
        """Rows with no credit in any replicate (nothing observed: the bootstrap cannot vary
        it) get the Jeffreys upper limit of a binomial share with 0 of the N conversions
        (Brown, Cai & DasGupta 2001), about 2.5 / N at 95%, on the share, the conversions
        (x N), and the value and value share (x the total value): an entity never credited in
        a sample can still hold a small share of the population's conversions.
        """
        from scipy.stats import beta

        totals = np.abs(self.conversions).sum(axis=1, keepdims=True)
        # "no credit": at most 1e-9 of the replicate's conversions (a fitted model's zero
        # carries rounding noise of ~1e-11)
        zero = (np.abs(self.conversions) <= ZERO_CREDIT * totals).all(axis=0)
        total = self.conversions.sum(axis=1).mean()
        if not zero.any() or not total > 0:
            return
        bound = float(beta.ppf(1 - alpha / 2, 0.5, total + 0.5))
        value = self.value.sum(axis=1).mean()
        keys = [("share", 1.0), ("conversions", total)]
        if value > 0:  # no value column (all 0): nothing to bound
            keys += [("value_share", 1.0), ("value", value)]
        for key, scale in keys:
            upper = np.asarray(out[f"{key}_upper"], dtype=np.float64).copy()
            upper[zero] = np.maximum(upper[zero], bound * scale)
            out[f"{key}_upper"] = upper

    def rank_probabilities(self, result, p: float = 0.2, on: str = "conversions"):
        """:func:`attribution.inference.ranks.rank_probabilities` of ``result`` (which holds
        these replicates).
        """
        return ranks.rank_probabilities(result, p=p, on=on)

    def pairwise_order(self, result, entities=None, top=None, on: str = "conversions"):
        """:func:`attribution.inference.ranks.pairwise_order` of ``result``."""
        return ranks.pairwise_order(result, entities=entities, top=top, on=on)

    def rolled_up(self, names, channel_of, channel_names) -> BootstrapReplicates:
        """The replicates summed from touchpoints to channels (extra rows carried over)."""
        k = len(channel_names)
        n_ent = len(names)
        roll = np.zeros((n_ent, k))
        roll[np.arange(n_ent), channel_of] = 1.0

        def up(a):
            return np.column_stack([a[:, :n_ent] @ roll, a[:, n_ent:]])

        return BootstrapReplicates(list(channel_names) + list(self.names[n_ent:]),
                                   up(self.conversions), up(self.value), self.method, self.seed)

    def _arrays(self) -> dict:
        def share(a):
            tot = a.sum(axis=1, keepdims=True)
            return np.divide(a, tot, out=np.zeros_like(a), where=tot > 0)

        return {"conversions": self.conversions, "value": self.value,
                "share": share(self.conversions), "value_share": share(self.value)}


def bootstrap(model, journeys, n_boot: int = 200, alpha: float = 0.05,
              method: str = "multinomial", n_jobs=None, random_state=None,
              progress: bool = False, interval: str = "percentile",
              experiments=None) -> pd.DataFrame:
    """Bootstrap ``model`` on ``journeys``; returns the tidy interval table.

    The model is (re)fitted on ``journeys`` first, and
    its ``result_`` keeps the replicates, so ``model.result_.conf_int(alpha)`` and the plots
    show the intervals afterwards.

    Parameters
    ----------
    model : AttributionModel
    journeys : Journeys
    n_boot : int
        Replicates (>= 2).
    alpha : float
        1 - confidence level of the returned table.
    method : {"multinomial", "poisson"}
        Journey weights of a replicate (see the module docstring).
    n_jobs : int or None
        joblib processes over replicates (same result for any value).
    random_state : int or None
    progress : bool
        A tqdm bar over replicates.
    interval : {"percentile", "bc"}
        Interval of the returned table (see :meth:`BootstrapReplicates.conf_int`).
    experiments : DataFrame or path, optional
        Lift tests the model is calibrated to, in the fit and in every replicate (the
        experiments are fixed: their own error enters through their standard errors; each
        test's incremental and se scale with the people its period holds in the replicate).

    Returns
    -------
    pandas.DataFrame
        One row per entity (and extra row): the point estimate (``conversions``, ``value``,
        ``share``, ``value_share``) with ``*_lower``, ``*_upper`` and ``*_se``.
    """
    _check_args(model, n_boot, alpha, method, n_jobs, random_state, interval)
    model.fit(journeys, experiments=experiments)
    j = check_journeys(journeys, model.level_)
    exps = getattr(model, "_experiments_in", None)  # dated experiments need the times
    dated = exps is not None and bool(exps[["start", "end"]].notna().to_numpy().any())
    base = j if model.requires_times or dated else j.aggregate()
    children = np.random.SeedSequence(random_state).spawn(int(n_boot))
    n_jobs = 1 if n_jobs is None else int(n_jobs)
    batches = [list(b) for b in np.array_split(np.arange(n_boot), max(1, n_jobs * 2))
               if len(b)]
    refit = model.replicate_fitter(base)  # built once, shipped to the workers
    jobs = (delayed(_run_batch)(refit, base, [children[i] for i in b], method) for b in batches)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(n_boot), desc="bootstrap", unit="replicate")
    results = []
    for out in Parallel(n_jobs=n_jobs, return_as="generator", prefer=PREFER)(jobs):
        results.append(out)
        if progress:
            bar.update(len(out[0]))
    if progress:
        bar.close()
    warned = {}
    for res in results:
        for kind, (count, message) in res[3].items():
            warned[kind] = (warned.get(kind, (0, message))[0] + count,
                            warned.get(kind, (0, message))[1])
    for (category, _), (count, message) in warned.items():  # once per kind of warning
        warnings.warn(f"{count} of {n_boot} bootstrap replicates warned ({category}), e.g.: "
                      f"{message}", AttributionWarning, stacklevel=2)
    extra_names = sorted({name for res in results for ex in res[2] for name in ex})
    names = list(model.result_.names.astype(str)) + extra_names
    conv = np.concatenate([np.column_stack([res[0], _extra(res[2], extra_names, 0)])
                           for res in results])
    val = np.concatenate([np.column_stack([res[1], _extra(res[2], extra_names, 1)])
                          for res in results])
    reps = BootstrapReplicates(names, conv, val, method, random_state)
    model.result_.bootstrap_ = reps
    return model.result_.conf_int(alpha, interval)


def order_quantiles(ordered: np.ndarray, q) -> np.ndarray:
    """Quantile ``q`` (a number, or one per column) of each column of ``ordered`` (B sorted
    replicates in rows): the (B + 1) q-th order statistic, interpolated linearly between the
    two nearest and held at the first or last one beyond them (Davison & Hinkley 1997,
    section 5.2; numpy's ``quantile(method="weibull")``). Vectorised over columns.
    """
    b, k = ordered.shape
    h = np.clip(np.broadcast_to(np.asarray(q, dtype=np.float64), (k,)) * (b + 1), 1.0, b)
    first = np.floor(h).astype(np.int64)
    frac = h - first
    cols = np.arange(k)
    below = ordered[first - 1, cols]
    above = ordered[np.minimum(first, b - 1), cols]
    return below + frac * (above - below)


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def check_alpha(alpha) -> None:
    """Raise :class:`ParameterError` unless ``alpha`` is a number in (0, 1)."""
    ok = isinstance(alpha, (int, float, np.integer, np.floating)) and not isinstance(
        alpha, (bool, np.bool_))
    if not (ok and 0 < alpha < 1):
        raise ParameterError(f"alpha must be a number in (0, 1) (1 - the confidence level), "
                             f"got {alpha!r}")


def check_choice(value, choices: tuple, name: str) -> None:
    """Raise :class:`ParameterError` unless ``value`` is one of the strings ``choices``."""
    if not (isinstance(value, str) and value in choices):
        raise ParameterError(f"{name} must be one of {choices}, got {value!r}")


def _check_args(model, n_boot, alpha, method, n_jobs, random_state, interval) -> None:
    """The parameters of :func:`bootstrap`, each checked before any work."""
    if not isinstance(model, AttributionModel):
        raise ParameterError(
            f"model must be an attribution model such as attribution.MarkovChain() or "
            f"attribution.get_model('linear'), got {type(model).__name__}")
    if not (_is_int(n_boot) and n_boot >= 2):
        raise ParameterError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    check_alpha(alpha)
    check_choice(method, METHODS, "method")
    check_choice(interval, INTERVALS, "interval")
    if not (n_jobs is None or (_is_int(n_jobs) and n_jobs != 0)):
        raise ParameterError(f"n_jobs must be None or a non-zero integer (negative counts "
                             f"back from the number of CPUs, as in joblib), got {n_jobs!r}")
    if not (random_state is None or (_is_int(random_state) and random_state >= 0)):
        raise ParameterError(f"random_state must be None or an integer >= 0, got "
                             f"{random_state!r}")


def _extra(extras, names, col):
    return np.array([[ex.get(n, (0.0, 0.0))[col] for n in names] for ex in extras]
                    ).reshape(len(extras), len(names))


def _kind(message: str) -> str:
    """A warning's text without its quoted names and numbers (row numbers kept): the
    replicates' warnings of one kind differ in those only ("26 journey set(s)" and "19
    journey set(s)"; "'radio' is seen only in converting journeys" and "'email' is ...").
    """
    message = re.sub(r"(?<!\w)'[^']*'", "'#'", message)  # (not the model's)
    return re.sub(r"(?<!row )[-+]?\d[\d.,]*(e[-+]?\d+)?", "#", message)


def _run_batch(refit, base, seeds, method):
    """Credit of the replicates with these seeds (one process's share of the work)."""
    conv, val, extra, warned = [], [], [], {}
    resampler = Resampler(base, method)
    for seed in seeds:
        c, u, v = resampler.draw(np.random.default_rng(seed))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = refit(c, u, v)
        said = {(w.category.__name__, _kind(str(w.message))): str(w.message) for w in caught}
        for kind, message in said.items():  # a kind counts once per replicate
            count, first = warned.get(kind, (0, message))
            warned[kind] = (count + 1, first)
        conv.append(out["conversions"])
        val.append(out["value"])
        extra.append(out.get("extra", {}))
    return np.array(conv), np.array(val), extra, warned


class Resampler:
    """Draws replicate weights for the rows of ``journeys`` (set up once, drawn many times).

    ``draw(rng)`` returns new (conversions, nulls, value) per row (module docstring). With
    integer weights (journey counts) up to 50M journeys, the multinomial draws each journey's
    index and counts them per cell, which is several times faster than a multinomial over
    many cells; otherwise ``Generator.multinomial`` with ``round(N)`` trials.
    """

    DIRECT_MAX = 50_000_000

    def __init__(self, journeys, method: str):
        self.c, self.u, self.v = journeys.conversions, journeys.nulls, journeys.value
        self.method = method
        self.cells = np.concatenate([self.c, self.u])
        self.total = float(self.cells.sum())
        whole = np.round(self.cells)
        self.direct = (method == "multinomial" and 0 < self.total <= self.DIRECT_MAX
                       and np.array_equal(whole, self.cells))
        if self.direct:
            self.n = int(whole.sum())
            self.nz = np.flatnonzero(whole > 0)
            self.starts = np.concatenate([[0], np.cumsum(whole[self.nz])[:-1]]).astype(np.int64)

    def draw(self, rng: np.random.Generator):
        """One replicate's (conversions, nulls, value)."""
        if self.method == "poisson":
            draws = rng.poisson(self.cells)
        elif self.total <= 0:
            draws = self.cells
        elif self.direct:
            hits = np.bincount(rng.integers(0, self.n, size=self.n), minlength=self.n)
            draws = np.zeros(len(self.cells), dtype=np.int64)
            draws[self.nz] = np.add.reduceat(hits, self.starts)
        else:
            draws = rng.multinomial(int(round(self.total)), self.cells / self.total)
        draws = draws.astype(np.float64)
        c2, u2 = draws[: len(self.c)], draws[len(self.c):]
        factor = np.divide(c2, self.c, out=np.ones_like(c2), where=self.c > 0)
        return c2, u2, self.v * factor


def resample_weights(journeys, method: str, rng: np.random.Generator):
    """New (conversions, nulls, value) per row for one replicate (see :class:`Resampler`)."""
    return Resampler(journeys, method).draw(rng)
