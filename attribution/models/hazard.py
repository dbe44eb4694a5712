"""Additive hazard attribution (Zhang, Wei & Ren, ICDM 2014): survival theory on timestamped
journeys.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from attribution.journeys.times import duration, is_bare_number
from attribution.journeys.validation import AttributionWarning, InputError, ParameterError
from attribution.models import _checks
from attribution.models import _hazard_fit as hf
from attribution.models._base import AttributionModel, allocate
from attribution.models._registry import register
from attribution.models._set_games import credit_mode

_STEPS = "the times are steps, time_unit='step'"


@register("additive_hazard")
class AdditiveHazard(AttributionModel):
    r"""Additive hazard attribution (Zhang, Wei & Ren, ICDM 2014; MODELS.md).

    Each journey's conversion hazard is

        lambda(t) = lambda0 + sum_{touches k before t} beta_{c_k} exp(-omega_{c_k} (t - t_k))

    with beta, omega >= 0 per entity (touchpoint or channel, per ``level``). Its cumulative
    hazard from the journey's first touch t_0 (the clock starts there: before its first touch
    a journey is not observed) has the closed form

        Lambda(T) = lambda0 (T - t_0) + sum_k beta_{c_k} / omega_{c_k}
                    (1 - exp(-omega_{c_k} (T - t_k))).

    The fit maximises the likelihood: a converting journey contributes
    ``c (log lambda(T_conv) - Lambda(T_conv))`` (hazard at the conversion time times
    survival to it; ``c`` its conversions, a weight), a non-converting one
    ``-n Lambda(T_end)`` (survival to the end of its observation; ``n`` its nulls). T_end is
    the **end of the data** by default, the latest conversion or touch time of all the fitted
    journeys: a person who did not convert was watched until the log ends. ``horizon``
    instead observes each non-converting journey until ``horizon`` after its last touch.
    The conversion time is the journey's ``end_times`` (event logs: the conversion's time);
    journeys built without them convert at their last touch. The fit runs on all the touches
    at once (numpy; analytic gradient and Hessian): it starts from the best omega shared by
    every entity on a grid spanning the touches' ages (at a fixed omega the likelihood is
    concave in lambda0 and beta), then takes projected Newton steps; should they not converge,
    L-BFGS-B from there, then Newton again. Bounds: lambda0 >= 0 (in effect: a floor of 1e-10
    of the mean rate keeps log lambda finite), beta >= 0, omega in [1e-6, 1e6] per time unit.
    The likelihood is not concave in omega: this is the best optimum found from that start.

    **Time unit.** lambda0 and beta are conversions per ``time_scale`` and omega is per
    ``time_scale`` (a touch's effect halves every ln 2 / omega of it): ``"1D"`` (a day) by
    default on datetimes, one step on step times (``time_unit="step"``). ``time_scale`` and
    ``horizon`` are durations with a unit on datetimes (``"12h"``, ``"7D"``, a Timedelta: a
    bare number is an error), numbers of steps on steps. The credit does not depend on
    ``time_scale``.

    **Credit.** In a converting journey, touch k's share is its term of the hazard at the
    conversion time, ``beta_{c_k} exp(-omega_{c_k} (T_conv - t_k)) / lambda(T_conv)``, and
    ``lambda0 / lambda(T_conv)`` goes to ``(baseline)``: ``credit="incremental"`` (the default,
    as for the other models with a baseline). ``credit="total"`` divides the terms by their
    sum instead, spreading the baseline's part over the touches. A journey whose hazard at
    its conversion is 0 (every term 0 in ``"total"``) goes to ``(unattributed)``, with a
    warning.

    **Scale.** The fit needs every journey at once (it is not a merge of partition
    statistics: ``mergeable`` is False): batch scoring and Dask gather the journeys of every
    partition and fit on them, then score each partition. Credit does not depend on row order
    or partitioning: the fit sorts the journeys by their content first.

    Parameters
    ----------
    horizon : str, pandas.Timedelta, float or None
        How long after its last touch a non-converting journey is observed; None (default):
        until the end of the data.
    time_scale : str, pandas.Timedelta, float or None
        The unit of time of ``baseline_`` and ``coef_`` (default one day, or one step).
    credit : {None, "incremental", "total"}
        None is ``"incremental"``; the mode used is ``credit_mode_``.
    inference : bool
        Add standard errors from the observed information (``coef_`` columns ``beta_se``,
        ``omega_se``; ``baseline_se_``, else None); NaN for a parameter at its bound.
    max_iter : int
        Iterations of Newton (and of L-BFGS-B when used); a fit that stops before converging
        warns.
    level : {None, "touchpoint", "channel"}

    Attributes
    ----------
    baseline_ : float
        lambda0, conversions per ``time_scale``.
    coef_ : pandas.DataFrame
        Per entity: ``beta`` (conversions per ``time_scale`` right after a touch), ``omega``
        (decay per ``time_scale``), ``half_life`` (ln 2 / omega, in ``time_scale`` units).
    time_unit_ : float
        ``time_scale`` in the journeys' time unit (nanoseconds on datetimes, or steps).
    time_kind_ : {"datetime", "numeric"}
    loglik_ : float
        The maximised log-likelihood (conversion times in ``time_scale`` units).
    converged_ : bool
    n_iter_ : int
        Iterations after the start (Newton, plus L-BFGS-B when it was needed).
    credit_mode_ : {"incremental", "total"}
    """

    mergeable = False  # the likelihood needs every journey: batch and Dask gather them

    def __init__(self, horizon=None, time_scale=None, credit=None, inference=False,
                 max_iter=2000, level=None):
        self.horizon = horizon
        self.time_scale = time_scale
        self.credit = credit
        self.inference = inference
        self.max_iter = max_iter
        self.level = level

    @property
    def requires_times(self) -> bool:
        """True: the hazard needs touch and conversion times."""
        return True

    def _check_params(self):
        super()._check_params()
        if self.credit is not None:
            _checks.choice("credit", self.credit, ("total", "incremental"))
        _checks.boolean("inference", self.inference)
        _checks.integer("max_iter", self.max_iter, 1)
        self._units(None)

    def _units(self, kind):
        """``(time_scale, horizon)`` in the journeys' time unit (nanoseconds on datetimes,
        steps on steps); ``kind=None`` (not known yet) reads each as its form says.
        """
        out = []
        for what, x, default in (("time_scale", self.time_scale, ("1D", 1.0)),
                                 ("horizon", self.horizon, (None, None))):
            k = kind or ("numeric" if x is None or is_bare_number(x) else "datetime")
            if x is None:
                x = default[0] if k == "datetime" else default[1]
            if k == "datetime":
                v = duration(x, "datetime", what)
            else:
                why = _STEPS if kind else ("bare numbers count steps; on datetimes pass a "
                                           "duration such as '1D'")
                v = duration(x, "numeric", what, whole=False, steps=why)
            if what == "time_scale" and not v > 0:
                raise ParameterError(f"time_scale must be positive, got "
                                     f"{_checks.shown(self.time_scale)}")
            out.append(None if v is None else float(v))
        return tuple(out)

    # -- data ----------------------------------------------------------------------------
    def _times(self, j):
        """Touch times and each journey's conversion (end) time; clear errors otherwise."""
        if j.times is None:
            raise InputError(
                "AdditiveHazard needs touch timestamps, but these journeys have none (built "
                "from a path table, or aggregated); build them with Journeys.from_events(...) "
                "and a time column")
        if j.end_times is not None:
            end = j.end_times
            late = j.times > end[j.touch_journey]
            if late.any():
                bad = j.touch_journey[np.flatnonzero(late)[0]]
                who = j.ids[bad] if j.ids is not None else bad
                raise InputError(f"journey {_checks.shown(who)} has a touch after its end "
                                 "(conversion) time; a journey's touches must come before its "
                                 "end_times")
        else:
            end = np.maximum.reduceat(j.times, j.offsets[:-1])
        return j.times, end

    def _data(self, j, unit, horizon):
        """:class:`~attribution.models._hazard_fit.HazardData` of ``j`` (entities in name
        order, journeys in the canonical order) and the rank of each entity code.
        """
        times, end = self._times(j)
        tj, off = j.touch_journey, j.offsets
        first = np.minimum.reduceat(times, off[:-1])
        raw_c = (end[tj] - times).astype(np.float64)
        if horizon is None:
            last = end.max()
            raw_n, dur_n = (last - times).astype(np.float64), (last - first).astype(np.float64)
        else:
            raw_n, dur_n = raw_c + horizon, (end - first).astype(np.float64) + horizon
        age_c, age_n = raw_c / unit, raw_n / unit
        dur_c, dur_n = (end - first).astype(np.float64) / unit, dur_n / unit
        rank = np.empty(len(j.names), dtype=np.int64)
        rank[np.argsort(j.names.astype(str), kind="stable")] = np.arange(len(j.names))
        code = rank[j.codes]
        order = hf.canonical_order(code, off, age_c, age_n, j.conversions, j.nulls, dur_c,
                                   dur_n)
        lengths = np.diff(off)[order]
        new_off = np.r_[0, np.cumsum(lengths)]
        touch = np.repeat(off[:-1][order] - new_off[:-1], lengths) + np.arange(len(code))
        d = hf.build(code[touch], new_off, age_c[touch], age_n[touch], j.conversions[order],
                     j.nulls[order], dur_c[order], dur_n[order], len(j.names))
        return d, rank

    # -- fit -----------------------------------------------------------------------------
    def _fit(self, j):
        self.time_kind_ = j.time_kind
        unit, horizon = self._units(j.time_kind)
        d, rank = self._data(j, unit, horizon)
        info = hf.fit(d, self.max_iter)
        k = len(j.names)
        theta = info.theta
        beta, omega = theta[1:k + 1][rank], theta[k + 1:][rank]
        names = pd.Index(j.names.astype(str), name=j.level)
        coef = {"beta": beta, "omega": omega, "half_life": np.log(2) / omega}
        self.baseline_se_ = None
        if self.inference:
            se = hf.standard_errors(theta, d)
            coef.update(beta_se=se[1:k + 1][rank], omega_se=se[k + 1:][rank])
            self.baseline_se_ = float(se[0])
        self.baseline_ = float(theta[0])
        self.coef_ = pd.DataFrame(coef, index=names)
        self.time_unit_ = unit
        self.loglik_, self.converged_, self.n_iter_ = info.loglik, info.converged, info.iterations
        self.credit_mode_ = credit_mode(self.credit, True)
        if not info.converged:
            warnings.warn(f"AdditiveHazard: L-BFGS-B stopped after {info.iterations} iterations "
                          f"without converging ({info.message}); raise max_iter",
                          AttributionWarning, stacklevel=4)
        w, base, bad = self._shares(j)
        _, _, conv, val = allocate(j, w, None, per_touch=False)
        extra = {}
        if self.credit_mode_ == "incremental":
            extra["(baseline)"] = (float(j.conversions @ base), float(j.value @ base))
        lost = bad & ((j.conversions > 0) | (j.value > 0))
        if lost.any():
            extra["(unattributed)"] = (float(j.conversions[lost].sum()),
                                       float(j.value[lost].sum()))
            warnings.warn(f"{int(lost.sum())} journey(s) with {j.conversions[lost].sum():g} "
                          "conversions have a hazard of 0 at their conversion and go to "
                          "(unattributed)", AttributionWarning, stacklevel=4)
        diag = {"credit": self.credit_mode_, "log-likelihood": round(info.loglik, 6),
                "iterations": info.iterations, "converged": info.converged}
        return dict(conversions=conv, value=val, extra=extra, diagnostics=diag)

    # -- credit --------------------------------------------------------------------------
    def _shares(self, j):
        """Per-touch shares of each journey's conversions, the baseline's share per journey,
        and the journeys whose hazard at the conversion is 0.
        """
        if j.times is not None and j.time_kind != self.time_kind_:
            raise InputError(f"this AdditiveHazard was fitted on {self.time_kind_} times, these "
                             f"journeys have {j.time_kind} times; score journeys like the "
                             "fitted ones")
        times, end = self._times(j)
        fitted = len(self.coef_)
        beta = np.r_[self.coef_["beta"].to_numpy(), np.zeros(len(j.names) - fitted)]
        omega = np.r_[self.coef_["omega"].to_numpy(), np.ones(len(j.names) - fitted)]
        age = (end[j.touch_journey] - times).astype(np.float64) / self.time_unit_
        with np.errstate(divide="ignore"):
            log_terms = np.log(beta)[j.codes] - omega[j.codes] * age
            log_base = np.log(self.baseline_) if self.credit_mode_ == "incremental" else -np.inf
        return hf.touch_shares(log_terms, np.full(j.n_journeys, log_base), j.offsets)

    def _touch_weights(self, j):
        w, _, bad = self._shares(j)
        self._transform_labels = (j, bad)  # for _remainder_label of the same j
        return w, None

    def _remainder_label(self, j):
        kept = self.__dict__.pop("_transform_labels", None)
        bad = kept[1] if kept is not None and kept[0] is j else self._shares(j)[2]
        return np.where(bad, "(unattributed)", "(baseline)")
