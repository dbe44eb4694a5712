"""The models of the ``attribution`` command: ``--param`` for one model or several
(``-p markov.order=2 -p logistic.C=0.5``), and the listing of ``attribution models``.

An unqualified ``-p key=value`` goes to the one model that runs, or to every model that runs
when all of them take ``key``; when only some do, the error asks for ``model.key``. An unknown
model prefix or parameter is a one-line error naming it and listing the valid ones.
"""

from __future__ import annotations

import textwrap

from attribution.cli_args import CLIError, parse_params, seeded

__all__ = ["DESCRIPTIONS", "describe_models", "estimators", "params_by_model"]

#: what each registered model computes, in one line (others: their docstring's first sentence)
DESCRIPTIONS = {
    "first": "all of a journey's credit to its first touch",
    "last": "all of a journey's credit to its last touch before the conversion",
    "linear": "a journey's credit split equally over its touches",
    "position": "U-shaped: `first` to the first touch, `last` to the last, the rest split "
                "over the touches between",
    "time_decay": "credit halving with every `half_life` a touch precedes the conversion",
    "last_non_direct": "all credit to the last touch whose channel is not in `direct` (within "
                       "`window`); a journey of direct touches only credits its last touch",
    "markov": "removal effects of a Markov chain over the journeys (of order `order`), solved "
              "exactly and scaled to the conversions",
    "shapley": "Shapley values of each journey's distinct touchpoints in a coalition game "
               "(`value`: counts of the journeys with exactly that set, rates or a model)",
    "logistic": "incremental credit: Shapley values of a logistic regression's predicted "
                "conversion probability; what it expects without any touch goes to (baseline)",
    "shao_li": "Shao & Li's probabilistic model: conversion rates of each touchpoint and of "
               "its pairs, normalised within the journey",
    "additive_hazard": "incremental credit from an additive hazard model of the time to "
                       "conversion (decaying effect of each touch); the rest to (baseline)",
}


def _first_sentence(cls) -> str:
    doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    return doc.split(". ")[0].rstrip(".")


def describe_models(width: int = 100) -> str:
    """One block per registered model: name, class and what it computes on one line, then its
    parameters with their defaults.
    """
    from attribution.models import available_models, model_class

    blocks = []
    for name in available_models():
        cls = model_class(name)
        params = cls().get_params(deep=False)
        text = ", ".join(f"{k}={v!r}" for k, v in params.items())
        blocks.append(f"{name} ({cls.__name__}): {DESCRIPTIONS.get(name) or _first_sentence(cls)}"
                      + "\n" + textwrap.fill(text, width, initial_indent="    parameters: ",
                                             subsequent_indent=" " * 16, break_long_words=False,
                                             break_on_hyphens=False))
    return ("\n".join(blocks) + "\n\nSet a parameter with -p key=value (-p model.key=value when "
            "several models run); docs/models.md has each definition.")


def _parameters(name: str) -> list[str]:
    from attribution.models import model_class

    return list(model_class(name)().get_params(deep=False))


def params_by_model(models: list, pairs) -> dict:
    """The ``--param`` pairs as keyword arguments per model of ``models`` (which are
    registered names).
    """
    from attribution.models import available_models

    accepted = {m: _parameters(m) for m in models}
    out = {m: {} for m in models}
    for key, value in parse_params(pairs).items():
        shown = f"-p {key}"
        if "." in key:
            prefix, name = key.split(".", 1)
            if prefix not in accepted:
                known = prefix in available_models()
                what = f"model {prefix!r} does not run here" if known else \
                    f"unknown model {prefix!r}"
                raise CLIError(f"{shown}: {what}; the models that run are {', '.join(models)}"
                               + (f" (add -m {prefix})" if known else ""))
            targets = [prefix]
        else:
            name = key
            targets = [m for m in models if name in accepted[m]]
            if not targets and len(models) > 1:
                lists = "; ".join(f"{m}: {', '.join(accepted[m])}" for m in models)
                raise CLIError(f"{shown}: no model that runs has a parameter {name!r}; their "
                               f"parameters are {lists}")
            if targets and len(targets) < len(models):
                others = [m for m in models if m not in targets]
                raise CLIError(f"{shown}: {name!r} is a parameter of {', '.join(targets)} but "
                               f"not of {', '.join(others)}; name the model: -p "
                               f"{targets[0]}.{name}=...")
        for m in targets or models:
            if name not in accepted[m]:
                raise CLIError(f"{shown}: model {m!r} has no parameter {name!r}; its parameters "
                               f"are {', '.join(accepted[m])}")
            out[m][name] = value
    return out


def estimators(models: list, pairs, seed: int) -> dict:
    """The models named in ``models`` with their ``--param`` pairs, seeded with ``seed``
    where they sample and ``--param`` did not set ``random_state``.
    """
    from attribution.models import get_model

    for m in models:  # an unknown name fails first, listing the models there are
        get_model(m)
    params = params_by_model(models, pairs)
    return {m: seeded(get_model(m, **params[m]), params[m], seed) for m in models}
