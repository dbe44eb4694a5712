"""The schema of a model file, checked by :func:`load_json <.persist.load_json>`.

A model file is a JSON object with ``format`` (``"touchpoint-attribution/model"``),
``version`` (the integer 1), ``model`` (a registered name), optionally ``class`` (the name of
the class registered under it), ``params`` and ``fitted``; nothing else. The rules:

- the model is built only from the registry, and ``class`` must be the registered class;
- ``params`` holds only parameters of the class's ``__init__`` (``get_params``); a parameter
  whose default is a bool must be a bool, one whose default is a number a number (or text,
  such as ``order="auto"``, or null), one whose default is text must be text; ``level`` is
  null, ``"touchpoint"`` or ``"channel"``, ``random_state`` null or an integer >= 0,
  ``n_jobs`` null or an integer (the same rules hold for the parameters of a stored
  scikit-learn estimator); a model with a public ``check_params()`` method has it called;
- ``fitted`` holds only public names ending in ``_`` that are not methods or properties of
  the class and that the class's code sets: ``self.<name> = ...`` (or
  ``setattr(self, "<name>", ...)``) anywhere in the classes of its MRO, read from their
  source with :mod:`ast`, never run; a class whose fitted state is set another way declares
  the names in a class attribute ``fitted_attributes``;
- a fitted model has every attribute :class:`~attribution.models.AttributionModel` sets
  (``level_``, ``names_``, ``channel_of_``, ``channel_names_``, ``n_journeys_``, ``result_``,
  ``credit_``, ``value_credit_``), consistent with each other: one finite credit per entity
  of ``names_``, channel codes that index ``channel_names_``, ``credit_`` equal to the
  credit in ``result_``; every Series or DataFrame indexed by the level (``touchpoint`` or
  ``channel``) lists exactly the entities of ``names_``; the built-in models have the state
  their ``transform`` reads (``removal_effects_``, ``coef_``, ``p1_``, the value model of a
  Shapley game ...), with one row (and column) per entity;
- values follow :mod:`.decode` (shapes consistent with the items stored, dtypes from an
  allow-list, bounded nesting).
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap

import numpy as np
import pandas as pd

from attribution.inference.checks import (
    LEVELS,
    check_attribute_name,
    codes,
    fail,
    finite,
    number,
    short,
    vector,
)
from attribution.inference.decode import (
    SKLEARN_OK,
    StoredSummary,
    array_dtype,
    check_param,
    decode,
)
from attribution.journeys.validation import AttributionError, InputError
from attribution.models import BinomialModel, available_models, model_class
from attribution.result import AttributionResult

__all__ = ["FORMAT", "SKLEARN_OK", "VERSION", "StoredSummary", "array_dtype", "fitted_names",
           "read_document"]

FORMAT = "touchpoint-attribution/model"
VERSION = 1
KEYS = ("format", "version", "model", "params", "fitted")
OPTIONAL_KEYS = ("class",)
#: what every fitted model sets (AttributionModel._adopt)
BASE = ("level_", "names_", "channel_of_", "channel_names_", "n_journeys_", "result_",
        "credit_", "value_credit_")
#: classes whose source is never scanned for fitted attributes
_FOREIGN = ("builtins", "abc", "typing", "sklearn")


def read_document(doc: dict):
    """The model described by the parsed JSON ``doc``, checked against the schema."""
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise InputError(f"not a model file: format {short(fmt)}, expected {FORMAT!r}")
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise InputError(f"model file version {short(version)}; this release reads version "
                         f"{VERSION}")
    cls = _registered(doc)
    missing = [k for k in KEYS if k not in doc]
    if missing:
        fail(f"key {missing[0]!r}", "is missing")
    extra = sorted(set(doc) - set(KEYS) - set(OPTIONAL_KEYS))
    if extra:
        fail(f"key {short(extra[0])}", "is not part of a model file")
    model = read_params(cls, doc["params"])
    for name, value in read_fitted(cls, doc["fitted"], model.get_params(deep=False)).items():
        setattr(model, name, value)
    return model


def _registered(doc: dict) -> type:
    name = doc.get("model")
    registered = available_models()
    if not isinstance(name, str) or name not in registered:
        fail(f"model {short(name)}", f"is not a registered model (registered: "
                                     f"{', '.join(registered)})")
    cls = model_class(name)
    if "class" in doc and doc["class"] != cls.__name__:
        fail(f"class {short(doc['class'])}", f"is not the class registered as {name!r} "
                                             f"({cls.__name__})")
    return cls


def _defaults(cls: type) -> dict:
    sig = inspect.signature(cls.__init__)
    return {name: p.default for name, p in list(sig.parameters.items())[1:]
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def read_params(cls: type, params) -> object:
    """An instance of ``cls`` with the checked parameters ``params`` (parsed JSON)."""
    if not isinstance(params, dict):
        fail("key 'params'", f"is a JSON {type(params).__name__}, expected an object of "
                             "parameter values")
    defaults = _defaults(cls)
    values = {}
    for name, raw in params.items():
        where = f"parameter {name!r}"
        if name not in defaults:
            fail(where, f"is not a parameter of {cls.__name__} (it takes "
                        f"{', '.join(defaults) or 'none'})")
        values[name] = _param(decode(raw, where), defaults[name], name, where)
    try:
        model = cls(**values)
    except (TypeError, ValueError) as exc:
        fail(f"the parameters of {cls.__name__}", f"are refused: {exc}")
    check = getattr(model, "check_params", None)
    if callable(check):
        try:
            check()
        except (AttributionError, TypeError, ValueError) as exc:  # a str compared to 0 ...
            fail(f"the parameters of {cls.__name__}", f"are invalid: {exc}")
    return model


def _param(value, default, name: str, where: str):
    if name == "level" and not (value is None or (isinstance(value, str) and value in LEVELS)):
        fail(where, f"is {short(value)}; level is null, 'touchpoint' or 'channel'")
    return check_param(value, default, name, where)


def read_fitted(cls: type, fitted, params: dict) -> dict:
    """The fitted attributes ``fitted`` (parsed JSON) of a ``cls`` with parameters ``params``,
    decoded and checked.
    """
    if not isinstance(fitted, dict):
        fail("key 'fitted'", f"is a JSON {type(fitted).__name__}, expected an object of "
                             "fitted attributes")
    if not fitted:
        return {}
    known, unread = fitted_names(cls)
    for name in fitted:
        where = f"attribute {name!r}"
        check_attribute_name(cls, name, where)
        if name not in known:
            hint = (f"; the source of {unread[0]} cannot be read: declare its fitted "
                    "attributes in fitted_attributes" if unread else "")
            sets = ", ".join(sorted(known))
            sets = sets if len(sets) <= 160 else sets[:157] + "..."
            fail(where, f"is not set by {cls.__name__} (it sets {sets}){hint}")
    attrs = {name: decode(raw, f"attribute {name!r}") for name, raw in fitted.items()}
    check_fitted(cls, attrs, params)
    return attrs


@functools.cache
def fitted_names(cls: type) -> tuple[frozenset, tuple]:
    """The fitted attributes ``cls`` sets (module docstring), and the classes of its MRO whose
    source could not be read.
    """
    found = set(getattr(cls, "fitted_attributes", None) or ())
    unread = []
    for klass in cls.__mro__:
        if klass is object or klass.__module__.split(".")[0] in _FOREIGN:
            continue
        names = _assigned(klass)
        if names is None:
            unread.append(klass.__qualname__)
        else:
            found |= names
    return (frozenset(n for n in found if isinstance(n, str) and n.endswith("_")
                      and not n.startswith("_")), tuple(unread))


def _assigned(klass: type) -> frozenset | None:
    """Attribute names the source of ``klass`` assigns on ``self`` (None: no source)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
    except (OSError, TypeError, SyntaxError):
        return None
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                out |= _on_self(target)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            out |= _on_self(node.target)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "setattr" and len(node.args) >= 2
              and isinstance(node.args[0], ast.Name) and node.args[0].id == "self"
              and isinstance(node.args[1], ast.Constant)):
            out.add(node.args[1].value)
    return frozenset(out)


def _on_self(target) -> set:
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_on_self(t) for t in target.elts))
    if isinstance(target, ast.Starred):
        return _on_self(target.value)
    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
            and target.value.id == "self"):
        return {target.attr}
    return set()


def _same(labels, names: np.ndarray) -> bool:
    got = np.asarray(labels, dtype=object).astype(str)
    return len(got) == len(names) and bool((got == names).all())


def check_fitted(cls: type, attrs: dict, params: dict) -> None:
    """The fitted attributes ``attrs`` of a ``cls`` are complete and consistent (module
    docstring).
    """
    missing = [b for b in BASE if b not in attrs]
    if missing:
        fail(f"attribute {missing[0]!r}", f"is missing; a fitted model has {', '.join(BASE)}")
    level = attrs["level_"]
    if not (isinstance(level, str) and level in LEVELS):
        fail("attribute 'level_'", f"is {short(level)}, not one of {LEVELS}")
    names = vector(attrs["names_"], "attribute 'names_'", "OU").astype(str)
    k = len(names)
    chans = vector(attrs["channel_names_"], "attribute 'channel_names_'", "OU")
    channel_of = vector(attrs["channel_of_"], "attribute 'channel_of_'", "iu", k)
    codes(channel_of, len(chans), "attribute 'channel_of_'")
    n = attrs["n_journeys_"]
    if type(n) is not int or n < 0:
        fail("attribute 'n_journeys_'", f"is {short(n)}, expected a count")
    r = attrs["result_"]
    if not isinstance(r, AttributionResult):
        fail("attribute 'result_'", f"is a {type(r).__name__}, not an AttributionResult")
    if not (r.level == level and _same(r.names, names) and _same(r.channel_names,
                                                                 chans.astype(str))
            and np.array_equal(r.channel_of, channel_of)):
        fail("attribute 'result_'", "describes other entities than names_, channel_names_ "
                                    "and channel_of_")
    for key, want in (("credit_", r.conversions), ("value_credit_", r.value)):
        s = attrs[key]
        if not isinstance(s, pd.Series):
            fail(f"attribute {key!r}", f"is a {type(s).__name__}, not a pandas Series")
        vector(s.to_numpy(), f"attribute {key!r} (values)", "f", k)
        if not np.array_equal(s.to_numpy(), want):
            fail(f"attribute {key!r}", "differs from the credit in result_")
    for key, value in attrs.items():
        if (isinstance(value, (pd.Series, pd.DataFrame)) and value.index.name == level
                and not _same(value.index, names)):
            fail(f"attribute {key!r} (index)", f"does not list the {k} entities of names_ "
                                               f"(it has {len(value.index)} labels)")
    check = _CLASS_CHECKS.get((getattr(cls, "name", ""), cls.__name__))
    if check is not None:
        check(attrs, k, params)


def _required(attrs: dict, keys: tuple, owner: str) -> None:
    for key in keys:
        if key not in attrs:
            fail(f"attribute {key!r}", f"is missing; a fitted {owner} has it")


def _per_entity(attrs: dict, key: str, k: int, kinds: str = "fiu") -> pd.Series:
    s = attrs[key]
    if not isinstance(s, pd.Series):
        fail(f"attribute {key!r}", f"is a {type(s).__name__}, expected a pandas Series with one "
                                   "entry per entity of names_")
    vector(s.to_numpy(), f"attribute {key!r} (values)", kinds, k)
    return s


def _logistic(attrs: dict, k: int, params: dict) -> None:
    _required(attrs, ("coef_", "intercept_"), "Logistic")
    for key in ("coef_", "coef_std_", "n_bags_seen_", "credit_se_"):
        if key in attrs:
            _per_entity(attrs, key, k)
    number(attrs["intercept_"], "attribute 'intercept_'")
    link, est = attrs.get("link_"), attrs.get("estimator_")
    if params.get("estimator") is not None:
        _value_model(est, k + _design_width(attrs), "Logistic(estimator=...)")
    elif "link_" in attrs and link not in BinomialModel.LINKS:
        fail("attribute 'link_'", f"is {short(link)}, not one of {BinomialModel.LINKS}")
    if link in ("noisy_or", "identity"):
        coef = attrs["coef_"].to_numpy()
        b, low = attrs["intercept_"], 0.0 if link == "noisy_or" else -1.0
        if not (0 <= b <= 1 and ((coef >= low) & (coef <= 1) | np.isnan(coef)).all()):
            fail("attribute 'coef_'", f"holds parameters outside the bounds of link {link!r}")
    _link_scores(attrs)
    pairs = attrs.get("interactions_")
    if pairs is not None and not (
            isinstance(pairs, pd.DataFrame) and {"first", "second", "coef"} <= set(pairs.columns)
            and set(pairs["first"]) | set(pairs["second"]) <= set(map(str, attrs["coef_"].index))):
        fail("attribute 'interactions_'", "must be a frame with columns first, second and coef "
                                          "naming entities of names_")
    inference = attrs.get("inference_")
    if inference is not None and not isinstance(inference, StoredSummary):
        fail("attribute 'inference_'", f"is a {type(inference).__name__}, not a summary")


def _shao_li(attrs: dict, k: int, params: dict) -> None:
    _required(attrs, ("p1_", "p2_"), "ShaoLiProbabilistic")
    for key, ndim in (("p1_", 1), ("p2_", 2)):
        a = finite(vector(attrs[key], f"attribute {key!r}", "f", k, ndim), f"attribute {key!r}")
        if a.shape != (k,) * ndim:
            fail(f"attribute {key!r}", f"has shape {a.shape}, expected {(k,) * ndim} for "
                                       f"the {k} entities of names_")
        if ((a < 0) | (a > 1)).any():
            fail(f"attribute {key!r}", "holds probabilities outside [0, 1]")


def _value_model(est, k: int, owner: str) -> None:
    if est is None:
        fail("attribute 'estimator_'", f"is null, but {owner} needs its model")
    if not (hasattr(est, "predict_proba") and hasattr(est, "coef_")):
        fail("attribute 'estimator_'", "is not a fitted classifier with predict_proba")
    if getattr(est, "n_features_in_", k) != k:
        fail("attribute 'estimator_'", f"was fitted on {est.n_features_in_} features, "
                                       f"expected one per entity of names_ ({k})")


def _link_scores(attrs: dict) -> None:
    table = attrs.get("link_scores_")
    if table is not None and not (isinstance(table, pd.DataFrame)
                                  and list(table.columns) == ["link", "log_loss", "selected"]
                                  and set(table["link"]) <= set(BinomialModel.LINKS)):
        fail("attribute 'link_scores_'", "must be null or a frame with columns link, "
                                         "log_loss and selected, one row per link")


def _design_width(attrs: dict) -> int:
    """Covariate columns of the value model's design (``covariate_design_``), or 0."""
    design = attrs.get("covariate_design_")
    if design is None:
        return 0
    if not (isinstance(design, pd.DataFrame) and "(weight)" in design.columns
            and (pd.to_numeric(design["(weight)"], errors="coerce") >= 0).all()):
        fail("attribute 'covariate_design_'", "needs a (weight) column of weights >= 0")
    return design.shape[1] - 1


def _shapley(attrs: dict, k: int, params: dict) -> None:
    game = params.get("value")
    if game != "count":  # the value model of the game, used by transform
        _required(attrs, ("estimator_",), f"Shapley(value={game!r})")
        _value_model(attrs.get("estimator_"), k + _design_width(attrs),
                     f"Shapley(value={game!r})")
    elif attrs.get("estimator_") is not None:
        _value_model(attrs["estimator_"], k, "Shapley")
    _link_scores(attrs)
    if "credit_se_" in attrs:
        _per_entity(attrs, "credit_se_", k)
    if game == "rate":
        _required(attrs, ("rate_table_",), "Shapley(value='rate')")
    if "rate_table_" in attrs:
        table = attrs["rate_table_"]
        if not (isinstance(table, tuple) and len(table) == 2):
            fail("attribute 'rate_table_'", "is not a pair (sets, rates)")
        sets = vector(table[0], "attribute 'rate_table_'[0]", "u")
        finite(vector(table[1], "attribute 'rate_table_'[1]", "f", len(sets)),
               "attribute 'rate_table_'[1]")
        if k < 64 and len(sets) and int(sets.max()) >= 1 << k:
            fail("attribute 'rate_table_'[0]", f"holds sets of entities beyond the {k} of "
                                               "names_")


def _markov(attrs: dict, k: int, params: dict) -> None:
    _required(attrs, ("removal_effects_", "order_"), "MarkovChain")
    for key in ("removal_effects_", "balance_factors_"):
        frame = attrs.get(key)
        if key in attrs and not (isinstance(frame, pd.DataFrame) and len(frame) == k
                                 and list(frame.columns) == ["conversion", "value"]):
            fail(f"attribute {key!r}", f"must be a frame of {k} rows (one per entity of "
                                       "names_) with columns conversion and value")
        if key in attrs:
            for col in frame.columns:
                finite(vector(frame[col].to_numpy(), f"attribute {key!r}[{col!r}]", "f"),
                       f"attribute {key!r}[{col!r}]")
    order = attrs["order_"]
    if type(order) is not int or order < 1:
        fail("attribute 'order_'", f"is {short(order)}, expected an integer >= 1")


#: checks of the built-in models' own state, by (registry name, class name)
_CLASS_CHECKS = {("shao_li", "ShaoLiProbabilistic"): _shao_li, ("shapley", "Shapley"): _shapley,
                 ("markov", "MarkovChain"): _markov, ("logistic", "Logistic"): _logistic}
