"""The estimator base class and the one credit allocator every model uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from attribution import experiments as _exps
from attribution.journeys import Journeys
from attribution.journeys.export import missing_times, time_column
from attribution.journeys.stats import merge, union_labels
from attribution.journeys.validation import (
    ColumnTypeError,
    EmptyInputError,
    InputError,
    NotFittedError,
    ParameterError,
)
from attribution.models import _checks
from attribution.models._allocate import (  # noqa: F401 (re-exported)
    SingleTouch,
    allocate,
    journey_sums,
    pair_weights,
)
from attribution.models._conversions import conversion_columns
from attribution.result import AttributionResult

#: what ``transform(journeys, unseen=...)`` does with entities unseen at fit
UNSEEN = ("error", "separate")


def check_journeys(journeys, level: str | None = None) -> Journeys:
    """Check the input of ``fit``/``transform`` and bring it to ``level``."""
    if not isinstance(journeys, Journeys):
        raise ColumnTypeError(
            f"models take a Journeys object, got {type(journeys).__name__}; build one with "
            "Journeys.from_events(df, ...) or Journeys.from_paths(df, ...)")
    if journeys.n_journeys == 0:
        raise EmptyInputError("the journeys are empty; nothing to attribute")
    if level is not None:
        journeys = journeys.at_level(level)
    return _checks.no_reserved_names(journeys)


class Scorer:
    """Per-touch credit of a chunk of journeys with a fitted model: a small picklable callable
    that batch scoring and Dask ship to their workers (``model.scorer()``).
    """

    def __init__(self, model, unseen: str = "error"):
        self.model = model
        self.unseen = unseen

    def __call__(self, journeys) -> pd.DataFrame:
        """``model.transform(journeys, unseen=...)``."""
        return self.model.transform(journeys, unseen=self.unseen)


class AttributionModel(BaseEstimator):
    """Base of every attribution model: a scikit-learn estimator over :class:`Journeys`.

    Subclasses implement :meth:`_touch_weights` (fractions of each journey's conversions and value
    per touch) and, when their totals are not the sum of those fractions, :meth:`_fit`.
    ``fit(journeys)`` returns ``self`` and sets ``result_`` (an :class:`AttributionResult`),
    ``credit_`` (pandas Series of conversion credit per entity) and ``value_credit_``.
    ``transform(journeys)`` returns one row per touch of every journey with conversions or value.

    The public protocol below is all that batch scoring, Dask and the bootstrap use, so a model
    registered with :func:`attribution.register` works with them unchanged
    (docs/architecture.md): :attr:`requires_times`, :attr:`mergeable`,
    :meth:`partition_statistic`, :meth:`fit_partitions`, :meth:`scorer` and
    :meth:`replicate_fitter`.
    """

    #: registry name, set by :func:`attribution.models.register`
    name: str = ""
    #: True when touchpoint credit rolled up to channels equals fitting at channel level
    additive: bool = False
    #: True when ``transform`` needs no fitted state indexed by entity, so it can score journeys
    #: that hold entities unseen at fit (heuristics); otherwise such journeys are refused
    accepts_unseen: bool = False
    #: True when the fit on the merged statistics of partitions (their distinct paths, or for
    #: models that need times their fitted results, summed) equals the fit on all journeys;
    #: False for fits that need every journey at once (batch and Dask then gather them)
    mergeable: bool = True
    #: True when ``fit(journeys, experiments=...)`` calibrates the model to lift tests
    accepts_experiments: bool = False

    def __init__(self, level=None):
        self.level = level

    # -- hooks ---------------------------------------------------------------------------
    def _touch_weights(self, journeys: Journeys):
        """Per-touch fractions of conversions and of value: ``(w, w_value)``."""
        raise NotImplementedError

    def _fit(self, journeys: Journeys) -> dict:
        """Fit state; return entity credit as dict(conversions=..., value=..., extra=...)."""
        jc = journeys.compact()  # only journeys with conversions or value get credit
        w, wv = self._touch_weights(jc)
        _, _, conv, val = allocate(jc, w, wv, per_touch=False)
        return dict(conversions=conv, value=val)

    def _prepare_scoring(self, journeys):
        """Called by :meth:`fit_partitions` with all the data (the merged statistic) before
        partitions are scored; models whose per-touch credit depends on the whole data fix
        it here (``MarkovChain`` fixes its per-journey balance). Returns ``self``."""
        return self

    def check_params(self):
        """Raise :class:`ParameterError` naming the first invalid parameter (``fit`` calls it;
        :func:`attribution.load_json` too)."""
        self._check_params()

    def _require_fitted(self):
        if not hasattr(self, "result_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call "
                                 "fit(journeys) first")

    def _check_params(self):
        if self.level is not None:
            _checks.choice("level", self.level, ("touchpoint", "channel"))

    # -- protocol for scale and inference ------------------------------------------------
    @property
    def requires_times(self) -> bool:
        """True when credit depends on touch times: the journeys cannot be aggregated to
        distinct paths (the bootstrap resamples journeys, partitions send fitted results).
        """
        return False

    def partition_statistic(self, journeys: Journeys):
        """What one partition contributes to :meth:`fit_partitions`: its distinct paths
        (``journeys.aggregate()``); its fitted :class:`AttributionResult` when the model
        :attr:`requires_times` (credit is then a sum over journeys); the journeys themselves
        when the model is not :attr:`mergeable`.
        """
        if not self.mergeable:
            return journeys
        if self.requires_times:
            return clone(self).fit(journeys).result_
        return journeys.aggregate()

    def fit_partitions(self, statistics, n_journeys: int = 0):
        """Fit on the :meth:`partition_statistic` of every partition, as if on all journeys
        (``n_journeys`` of them); returns ``self``, ready to score any partition.
        """
        statistics = list(statistics)
        if not statistics:
            raise EmptyInputError("no partition statistics to fit on")
        if self.requires_times and self.mergeable:
            self._check_params()
            self._reset()
            return self._adopt(AttributionResult.combine(statistics), int(n_journeys))
        merged = merge(statistics) if self.mergeable else type(statistics[0]).concat(statistics)
        self.fit(merged)
        return self._prepare_scoring(merged)

    def scorer(self, unseen: str = "error") -> Scorer:
        """A picklable callable: a chunk of journeys -> its per-touch credit
        (``transform(chunk, unseen=unseen)``)."""
        self._require_fitted()
        _checks.choice("unseen", unseen, UNSEEN)
        return Scorer(self, unseen)

    def replicate_fitter(self, base: Journeys):
        """A function ``(conversions, nulls, value) -> dict(conversions, value, extra)`` of new
        weights for the rows of ``base``: the entity credit of one bootstrap replicate. This
        default refits a clone; models override it to reuse work (``MarkovChain``).
        """
        est, exps = clone(self), getattr(self, "_experiments_in", None)
        scaled = None if exps is None else _exps.replicate_experiments(exps, base)

        def refit(c, u, v):
            est.fit(base.replace(conversions=c, nulls=u, value=v),
                    experiments=None if exps is None else scaled(c, u))
            r = est.result_
            return dict(conversions=r.conversions, value=r.value, extra=dict(r.extra))

        return refit

    # -- public API ----------------------------------------------------------------------
    def fit(self, journeys, y=None, experiments=None):
        """Fit on ``journeys`` (a :class:`Journeys`); returns ``self``. ``experiments``: lift
        tests to calibrate to (:mod:`attribution.experiments`; :attr:`accepts_experiments`)."""
        self._check_params()
        j = check_journeys(journeys, self.level)
        if experiments is not None and not self.accepts_experiments:
            raise ParameterError(f"{type(self).__name__} cannot be calibrated to experiments: it "
                                 "has no value model a lift test measures; calibrate Logistic")
        self._experiments_in = None if experiments is None else _exps.no_touchpoint_tests(
            _exps.read_experiments(experiments), journeys.level, j.level)
        self._reset()
        out = self._fit(j)
        return self._adopt(AttributionResult(
            model=self._label(), level=j.level, names=j.names,
            conversions=np.asarray(out["conversions"], dtype=np.float64),
            value=np.asarray(out["value"], dtype=np.float64), exposure=j.exposure(),
            channel_of=j.channel_of, channel_names=j.channel_names,
            total_conversions=float(j.conversions.sum()), total_value=float(j.value.sum()),
            extra=out.get("extra", {}), diagnostics=out.get("diagnostics", {})), j.n_journeys)

    def _reset(self):
        """Forget every fitted attribute, so nothing of an earlier fit survives a refit."""
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)

    def _adopt(self, result: AttributionResult, n_journeys: int):
        """Set the fitted attributes from ``result`` (also used to combine chunk fits)."""
        self.level_ = result.level
        self.names_ = result.names
        self.channel_of_ = result.channel_of
        self.channel_names_ = result.channel_names
        self.n_journeys_ = int(n_journeys)
        self.result_ = result
        idx = pd.Index(result.names.astype(str), name=result.level)
        self.credit_ = pd.Series(result.conversions, index=idx, name="conversions")
        self.value_credit_ = pd.Series(result.value, index=idx, name="value")
        return self

    def _label(self) -> str:
        params = self.get_params(deep=False)
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items()
                          if v is not None and k not in ("n_jobs", "level"))
        return f"{type(self).__name__}({shown})"

    def transform(self, journeys, unseen: str = "error") -> pd.DataFrame:
        """Credit of every touch of every journey with conversions or value.

        Parameters
        ----------
        journeys : Journeys
        unseen : {"error", "separate"}
            Entities (touchpoints or channels) that were not in the fitted journeys: "error"
            raises :class:`InputError` naming them; "separate" keeps the journeys that touch
            them out of the model: their touches get 0 and their whole conversions and value
            go to an ``(unseen)`` row (counted in ``attrs["unseen"]``). Models whose weights
            do not depend on the entity (the heuristics) score unseen entities like any other.

        Returns
        -------
        pandas.DataFrame
            Columns ``journey`` (id), ``conversion`` (conversion number, event logs only),
            ``conversion_id`` (stable id of the conversion, :mod:`._conversions`),
            ``position`` (0-based), ``touchpoint`` (touchpoint level only), ``channel``,
            ``time`` (when known), ``conversion_time`` (when known: the journey's conversion,
            for :func:`attribution.periods.by_period`), ``credit`` and ``value_credit``.
            Within a journey ``credit`` sums to its conversions and ``value_credit`` to its
            value; credit a model keeps off the touches is on one more row, position -1, named
            ``(baseline)``,
            ``(unattributed)``, ``(unallocated)`` or ``(unseen)``.
        """
        self._require_fitted()
        _checks.choice("unseen", unseen, UNSEEN)
        j, apart = self._align(check_journeys(journeys, self.level_), unseen)
        self._transform_info = {}
        tc, tv, labels = self._scored(j, apart)
        tj = j.touch_journey
        keep = ((j.conversions > 0) | (j.value > 0))[tj]
        out = {}
        ids = j.ids if j.ids is not None else np.arange(j.n_journeys)
        out["journey"] = ids[tj[keep]]
        if j.seq is not None:
            out["conversion"] = j.seq[tj[keep]]
        conv = conversion_columns(j, tj[keep])
        out["conversion_id"] = conv["conversion_id"]
        out["position"] = j.touch_position[keep]
        codes = j.codes[keep]
        if j.level == "touchpoint":
            out["touchpoint"] = pd.Categorical.from_codes(codes, j.names.astype(str))
        out["channel"] = pd.Categorical.from_codes(j.channel_of[codes],
                                                   j.channel_names.astype(str))
        if j.times is not None:
            out["time"] = time_column(j, j.times[keep])
        if "conversion_time" in conv:
            out["conversion_time"] = conv["conversion_time"]
        out["credit"] = tc[keep]
        out["value_credit"] = tv[keep]
        frame = pd.DataFrame(out)
        frame = self._remainder_rows(j, frame, tc, tv, labels)
        self.__dict__.pop("_transform_labels", None)  # what _touch_weights kept for labels
        frame.attrs.update(self._transform_info)  # e.g. balancing iterations and residual
        if apart is not None and apart.any():
            fitted = len(self.names_)
            met = np.unique(j.codes[apart[j.touch_journey]])
            frame.attrs["unseen"] = dict(
                journeys=int(apart.sum()), conversions=float(j.conversions[apart].sum()),
                value=float(j.value[apart].sum()),
                names=[str(n) for n in j.names[met[met >= fitted]]])
        return frame

    def _scored(self, j: Journeys, apart):
        """Per-touch credit of ``j`` and a function giving the remainder labels of journeys;
        the journeys marked ``apart`` (they touch unseen entities) get nothing on touches and
        ``(unseen)`` as their label."""
        if apart is None:
            w, wv = self._touch_weights(j)
            tc, tv, _, _ = allocate(j, w, wv)
            return tc, tv, lambda: self._remainder_label(j)
        fitted = len(self.names_)
        mask = ~apart[j.touch_journey]
        w, wv = np.zeros(j.n_touches), np.zeros(j.n_touches)
        label = np.full(j.n_journeys, "(unseen)", dtype=object)
        seen = None
        if not apart.all():
            seen = j.select(~apart).replace(
                names=j.names[:fitted], channel_of=j.channel_of[:fitted],
                stage_of=None if j.stage_of is None else j.stage_of[:fitted])
            sw, swv = self._touch_weights(seen)
            sw = sw.dense(seen.n_touches) if isinstance(sw, SingleTouch) else sw
            swv = sw if swv is None else (
                swv.dense(seen.n_touches) if isinstance(swv, SingleTouch) else swv)
            w[mask], wv[mask] = sw, swv
        tc, tv, _, _ = allocate(j, w, wv)

        def labels():
            if seen is not None:
                label[~apart] = self._remainder_label(seen)
            return label

        return tc, tv, labels

    def _align(self, j: Journeys, unseen: str = "error"):
        """Recode ``j`` to the fitted vocabulary (its entities in ``names_`` order first), so
        fitted state indexed by entity code applies to journeys coded in another order (a
        chunk, a partition, another day). Returns the recoded journeys and, with
        entities unseen at fit (for models that cannot score them), which journeys touch them
        (else None); with ``unseen="error"`` an unseen entity that a journey touches is an
        :class:`InputError` naming them."""
        fitted = np.asarray(self.names_, dtype=object).astype(str)
        names = j.names.astype(str)
        if len(names) == len(fitted) and (names == fitted).all():
            return j, None
        all_names, (_, pos) = union_labels([fitted, names])
        new = pos >= len(fitted)
        met = np.zeros(len(names), dtype=bool)
        met[j.codes] = True
        if (new & met).any() and not self.accepts_unseen and unseen == "error":
            new = new & met  # named: the unseen entities some journey touches
            one = int(new.sum()) == 1
            raise InputError(
                f"{j.level}{'' if one else 's'} {_checks.names_list(names[new])} "
                f"{'was' if one else 'were'} not in the data {type(self).__name__} was fitted "
                "on; refit on data that includes them, or pass unseen='separate' to transform "
                "to put the credit of the journeys that touch them on (unseen) rows")
        fitted_ch = np.asarray(self.channel_names_, dtype=object).astype(str)
        ch_all, (_, ch_pos) = union_labels([fitted_ch, j.channel_names.astype(str)])
        channel_of = np.zeros(len(all_names), dtype=np.int32)
        channel_of[: len(fitted)] = np.asarray(self.channel_of_)
        channel_of[pos] = ch_pos[j.channel_of]
        stage_of = None
        if j.stage_of is not None:
            stage_of = np.full(len(all_names), None, dtype=object)
            stage_of[pos] = j.stage_of
        out = j.replace(codes=pos[j.codes].astype(np.int32), names=all_names,
                        channel_of=channel_of, channel_names=ch_all, stage_of=stage_of)
        if not new.any() or self.accepts_unseen:
            return out, None
        return out, np.add.reduceat(new[j.codes].astype(np.int64), j.offsets[:-1]) > 0

    def _remainder_label(self, j) -> np.ndarray:
        """Label of the credit a journey keeps off its touches (``(baseline)``...)."""
        return np.full(j.n_journeys, "(unattributed)", dtype=object)

    def _remainder_rows(self, j, frame, tc, tv, labels):
        """One extra row (position -1) per journey with conversions or value whose touches do
        not carry all of them, so every journey's rows sum to its conversions and value;
        ``labels()`` names the rows."""
        rc = j.conversions - np.add.reduceat(tc, j.offsets[:-1])
        rv = j.value - np.add.reduceat(tv, j.offsets[:-1])
        tol = 1e-12 * np.maximum(j.conversions + j.value, 1.0)
        need = ((j.conversions > 0) | (j.value > 0)) & ((np.abs(rc) > tol) | (np.abs(rv) > tol))
        if not need.any():
            return frame
        label = labels()[need]
        ids = j.ids if j.ids is not None else np.arange(j.n_journeys)
        extra = {"journey": ids[need]}
        if j.seq is not None:
            extra["conversion"] = j.seq[need]
        conv = conversion_columns(j, np.flatnonzero(need))
        extra["conversion_id"] = conv["conversion_id"]
        extra["position"] = np.full(int(need.sum()), -1)
        for col in ("touchpoint", "channel"):
            if col in frame:
                cats = list(frame[col].cat.categories) + sorted(set(label))
                frame[col] = frame[col].cat.set_categories(cats)
                extra[col] = pd.Categorical(label, categories=cats)
        if "time" in frame:
            extra["time"] = missing_times(j, int(need.sum()))
        if "conversion_time" in frame:
            extra["conversion_time"] = conv["conversion_time"]
        extra["credit"] = rc[need]
        extra["value_credit"] = rv[need]
        return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)

    def fit_transform(self, journeys, y=None) -> pd.DataFrame:
        """``fit(journeys).transform(journeys)``."""
        return self.fit(journeys).transform(journeys)
