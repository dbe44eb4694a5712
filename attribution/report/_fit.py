"""The models of the report: fitted (and bootstrapped) once, with what went wrong noted."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd
from sklearn.base import clone

from attribution.epochs import link_chosen
from attribution.journeys.validation import AttributionError, ParameterError
from attribution.models import AttributionModel, get_model

# heuristics, then the learned models (Logistic's credit has a (baseline) row: incremental)
DEFAULT_MODELS = ("first", "last", "linear", "position", "markov", "shapley", "logistic")


@dataclass
class Fitted:
    """The report's models: label -> fitted estimator, their tidy credit, and notes."""

    estimators: dict = field(default_factory=dict)
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list = field(default_factory=list)

    @property
    def labels(self) -> list:
        """The labels of the models that ran, in order."""
        return list(self.estimators)


def as_models(models) -> list[tuple[str, AttributionModel]]:
    """``(label, estimator)`` pairs from names, estimators or a dict label -> either."""
    if models is None:
        models = list(DEFAULT_MODELS)
    if isinstance(models, (str, AttributionModel)):
        models = [models]
    if isinstance(models, Mapping):
        items = list(models.items())
    elif isinstance(models, Iterable):
        items = [(m if isinstance(m, str) else getattr(m, "name", "") or type(m).__name__, m)
                 for m in models]
    else:
        raise ParameterError(f"models must be model names, estimators or a dict label -> "
                             f"model, got {type(models).__name__}")
    out = []
    for label, m in items:
        if isinstance(m, str):
            m = get_model(m)
        if not isinstance(m, AttributionModel):
            raise ParameterError(f"models[{label!r}] is a {type(m).__name__}, not a model name "
                                 f"(such as 'linear') or an attribution model")
        out.append((str(label), clone(m)))
    if not out:
        raise ParameterError("the report needs at least one model (a name such as 'linear')")
    if len({label for label, _ in out}) < len(out):
        raise ParameterError("models: two models have the same label; pass a dict "
                             "label -> model to name them apart")
    return out


def _fit_one(est, journeys, n_boot: int, alpha: float, random_state,
             progress: bool = False) -> pd.DataFrame:
    """Fit ``est`` (with ``n_boot`` bootstrap replicates when > 0); its tidy credit."""
    if n_boot:
        from attribution.inference.bootstrap import bootstrap

        bootstrap(est, journeys, n_boot=n_boot, alpha=alpha, random_state=random_state,
                  progress=progress)
        return est.result_.conf_int(alpha)
    return est.fit(journeys).result_.to_frame()


def fit_models(models, journeys, level=None, n_boot: int = 100, alpha: float = 0.05,
               random_state=0, progress: bool = False) -> Fitted:
    """Fit every model on ``journeys``; a model that refuses them is left out with a note,
    and every warning raised on the way is kept as a note (once).
    """
    out = Fitted()
    frames = []
    for label, est in as_models(models):
        if level is not None and "level" in est.get_params():
            est.set_params(level=level)
        if times_needed(est) and journeys.times is None:
            out.notes.append(f"{label}: left out; it needs touch times and the input has none")
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if n_boot:
                    _fix_link(label, est, journeys, out.notes)
                frame = _fit_one(est, journeys, n_boot, alpha, random_state, progress)
            except AttributionError as exc:
                out.notes.append(f"{label}: left out; {type(exc).__name__}: {exc}")
                continue
        for w in caught:
            note = f"{label}: {w.category.__name__}: {w.message}"
            if note not in out.notes:
                out.notes.append(note)
        out.estimators[label] = est
        frames.append(frame.assign(model=label))
    if not frames:
        raise AttributionError("every model of the report refused the journeys: "
                               + "; ".join(out.notes))
    out.frame = pd.concat(frames, ignore_index=True)
    return out


def _fix_link(label: str, est, journeys, notes: list) -> None:
    """A ``link="auto"`` model keeps, for its bootstrap, the link it picks on the full data
    (:func:`attribution.epochs.link_chosen`); the page says so.
    """
    chosen = link_chosen(est, journeys)[1]
    if chosen is None:
        return
    est.set_params(link=chosen)
    notes.append(f"{label}: link chosen once on the full data by held-out log-loss "
                 f"({chosen}); the bootstrap replicates refit with it")


def times_needed(est) -> bool:
    """Whether ``est`` needs touch times (``TimeDecay(by="time")``)."""
    params = est.get_params()
    return type(est).__name__ == "TimeDecay" and params.get("by", "time") == "time"


def definition(est) -> str:
    """The first sentence of a model's class docstring, without reST markup."""
    doc = (type(est).__doc__ or "").strip().split("\n\n", 1)[0]
    text = " ".join(doc.split())
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")
    match = re.match(r"(.+?\.)(\s|$)", text)
    return match.group(1) if match else text


def parameters(est) -> str:
    """The parameters that differ from the class defaults, as ``name=value`` text."""
    default = type(est)().get_params()
    changed = {k: v for k, v in est.get_params().items() if default.get(k) != v}
    return ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "defaults"
