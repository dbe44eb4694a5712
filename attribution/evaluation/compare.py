"""Fit several models on the same journeys and put their credit side by side."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import pandas as pd
from sklearn.base import clone

from attribution.journeys.validation import AttributionError, AttributionWarning, ParameterError
from attribution.models import AttributionModel, check_journeys, get_model

LEVELS = (None, "touchpoint", "channel")


def _as_model(m, where: str):
    if isinstance(m, str):
        return get_model(m)
    if isinstance(m, AttributionModel):
        return m
    hint = (f"; pass an instance, {m.__name__}()" if isinstance(m, type)
            and issubclass(m, AttributionModel) else "")
    raise ParameterError(f"{where} is a {type(m).__name__}, not a model name (such as "
                         f"'linear') or an attribution model{hint}")


def _as_models(models):
    if isinstance(models, str):
        models = [models]
    if isinstance(models, Mapping):
        items = [(label, _as_model(m, f"models[{label!r}]")) for label, m in models.items()]
    elif isinstance(models, Iterable):
        items = []
        for i, m in enumerate(models):
            m = _as_model(m, f"models[{i}]")
            items.append((getattr(m, "name", "") or type(m).__name__, m))
    else:
        raise ParameterError(f"models must be a model name, a list of names or estimators, or "
                             f"a dict label -> model, got {type(models).__name__}")
    if not items:
        raise ParameterError("compare needs at least one model (a name such as 'linear' or an "
                             "estimator)")
    seen = {}
    out = []
    for label, m in items:
        seen[label] = seen.get(label, 0) + 1
        out.append((label if seen[label] == 1 else f"{label}#{seen[label]}", m))
    return out


def calibrate(model, journeys, experiments):
    """A clone of ``model`` fitted on ``journeys`` and calibrated to the lift tests
    ``experiments`` (:mod:`attribution.experiments`): ``model.fit(journeys,
    experiments=experiments)`` on a copy. Its ``experiments_`` table says how far the
    observational fit disagreed with each test (``z_observational``) and how far the
    calibrated one does (``z_calibrated``). Models without a value model (heuristics, Markov)
    refuse, saying so.
    """
    return clone(_as_model(model, "model")).fit(journeys, experiments=experiments)


def _fit(label, model, journeys, level, extra, experiments=None):
    est = clone(model)
    if level is not None:
        try:
            est.set_params(level=level)
        except ValueError as exc:  # a user model without a level parameter
            raise ParameterError(f"model {label!r} takes no level parameter ({exc})") from exc
    frame = est.fit(journeys, experiments=experiments).result_.to_frame(extra=extra)
    frame.insert(0, "model", label)
    return frame, est


def _error(errors: list, message: str) -> AttributionError:
    """The error of the models' shared kind (else an AttributionError) with ``message``."""
    kinds = {type(e) for e in errors}
    if len(kinds) == 1:
        try:
            return kinds.pop()(message)
        except TypeError:  # an error class with another signature
            pass
    return AttributionError(message)


def compare(models, journeys, level=None, extra=True, experiments=None) -> pd.DataFrame:
    """Fit every model on ``journeys`` and return their credit as one tidy frame.

    A model that refuses the journeys (raises an :class:`AttributionError`, e.g. Shapley on
    more touchpoints than it handles) does not stop the others: it is left out of the frame,
    an :class:`AttributionWarning` names it with its reason, and ``frame.attrs["refused"]``
    maps its label to the reason (empty when every model ran). When every model refuses,
    the error is raised (the model's own when there is one model).

    Parameters
    ----------
    models : str, list of (str or estimator), or dict label -> (str or estimator)
        Registry names (``"first"``, ``"linear"``, ...) or estimators (cloned, not modified).
    journeys : Journeys
    level : {None, "touchpoint", "channel"}
        Fit at this level (default: the journeys' level). Touchpoint credit can be rolled up
        with ``result_.at_level("channel")``.
    extra : bool
        Keep rows such as ``(baseline)``.
    experiments : DataFrame or path, optional
        Lift tests (:mod:`attribution.experiments`): each model that can be calibrated is
        fitted twice, as it is and calibrated (label ``"<label> (calibrated)"``), side by
        side; the others are fitted once, and an :class:`AttributionWarning` names them.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``entity``, (``channel``), ``conversions``, ``value``, ``share``,
        ``value_share``.
    """
    if not (level is None or (isinstance(level, str) and level in LEVELS)):
        raise ParameterError(f"level must be None, 'touchpoint' or 'channel', got {level!r}")
    check_journeys(journeys)
    frames, refused, errors, fixed, tests = [], {}, [], [], {}
    for label, model in _as_models(models):
        runs = [(label, None)]
        if experiments is not None and model.accepts_experiments:
            runs.append((f"{label} (calibrated)", experiments))
        elif experiments is not None:
            fixed.append(label)
        for name, exps in runs:
            try:
                frame, est = _fit(name, model, journeys, level, extra, exps)
                frames.append(frame)
                if exps is not None:
                    tests[name] = est.experiments_
            except AttributionError as exc:
                if exps is not None:  # the experiments are wrong for these journeys: say so
                    raise
                refused[name] = f"{type(exc).__name__}: {exc}".replace("\n", " ")
                errors.append(exc)
    if fixed:
        warnings.warn(f"compare: {', '.join(fixed)} cannot be calibrated to experiments (no "
                      "value model that a lift test measures): shown uncalibrated only",
                      AttributionWarning, stacklevel=2)
    if not frames:
        if len(errors) == 1:
            raise errors[0]
        reasons = "; ".join(f"{label}: {why}" for label, why in refused.items())
        raise _error(errors, f"every model refused the journeys: {reasons}") from errors[0]
    for label, why in refused.items():
        warnings.warn(f"compare: model {label!r} refused the journeys and is left out "
                      f"({why})", AttributionWarning, stacklevel=2)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["refused"] = refused
    if tests:
        out.attrs["experiments"] = tests
    return out
