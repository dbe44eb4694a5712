"""Fit several models on the same journeys and put their credit side by side."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from sklearn.base import clone

from attribution.journeys.validation import ParameterError
from attribution.models import get_model


def _as_models(models):
    if isinstance(models, str):
        models = [models]
    if isinstance(models, Mapping):
        items = list(models.items())
    else:
        items = []
        for m in models:
            if isinstance(m, str):
                items.append((m, get_model(m)))
            else:
                items.append((getattr(m, "name", "") or type(m).__name__, m))
    if not items:
        raise ParameterError("compare needs at least one model (a name such as 'linear' or an "
                             "estimator)")
    seen = {}
    out = []
    for label, m in items:
        if isinstance(m, str):
            m = get_model(m)
        seen[label] = seen.get(label, 0) + 1
        out.append((label if seen[label] == 1 else f"{label}#{seen[label]}", m))
    return out


def compare(models, journeys, level=None, extra=True) -> pd.DataFrame:
    """Fit every model on ``journeys`` and return their credit as one tidy frame.

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

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``entity``, (``channel``), ``conversions``, ``value``, ``share``,
        ``value_share``.
    """
    frames = []
    for label, model in _as_models(models):
        est = clone(model)
        if level is not None:
            est.set_params(level=level)
        frame = est.fit(journeys).result_.to_frame(extra=extra)
        frame.insert(0, "model", label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
