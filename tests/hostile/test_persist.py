"""Hostile model files: ``load_json`` refuses each with one ``InputError`` whose one-line
message names the culprit (the file, the key, the parameter or the attribute), and never
allocates more than the file holds, builds an object the file names or sets a method."""

import copy
import io
import json

import pytest
from sklearn.linear_model import LogisticRegression

import attribution as at
from attribution.journeys.validation import InputError
from tests.conftest import make_journeys

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")

J = make_journeys([[0, 1, 2], [1], [0, 2], [2, 1], [1, 0]], [2, 1, 0, 1, 1], [0, 1, 2, 1, 1],
                  value=[12.0, 3.0, 0.0, 4.0, 2.0], names=["a", "b", "c"])
MODELS = {"linear": lambda: at.Linear(), "position": lambda: at.PositionBased(),
          "shao_li": lambda: at.ShaoLiProbabilistic(),
          # a scikit-learn value model: the cases below edit a LogisticRegression
          "shapley": lambda: at.Shapley(value="model", estimator=LogisticRegression(),
                                        random_state=0),
          "markov": lambda: at.MarkovChain(),
          "logistic": lambda: at.Logistic(random_state=0)}


@pytest.fixture(scope="module")
def docs():
    out = {}
    for name, make in MODELS.items():
        m = make()
        if name == "linear":
            at.bootstrap(m, J, n_boot=3, random_state=0)
        else:
            m.fit(J)
        out[name] = json.loads(at.to_json(m))
    return out


def refused(source, match):
    with pytest.raises(InputError, match=match) as info:
        at.load_json(source)
    message = str(info.value)
    assert message and "\n" not in message, message
    return message


def setp(*path, value):
    """A mutation of the document: set the value at ``path``."""
    def edit(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value(node[path[-1]]) if callable(value) else value
        return doc
    return edit


def delp(*path):
    def edit(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        return doc
    return edit


def text(edit_doc, old, new):
    """A mutation of the JSON text (after an edit of the document)."""
    def edit(doc):
        return json.dumps(edit_doc(doc)).replace(old, new)
    return edit


def nested(depth):
    value = None
    for _ in range(depth):
        value = {"__list__": [value]}
    return value


CONV = ("fitted", "result_", "__result__", "conversions")
CREDIT = ("fitted", "credit_", "__series__", "values")
CH_OF = ("fitted", "channel_of_")
NAMES = ("fitted", "names_")
REPS = ("fitted", "result_", "__result__", "bootstrap_", "__bootstrap__")
EST = ("fitted", "estimator_", "__sklearn__")
POPEN = {"__sklearn__": {"cls": "Popen", "params": {"__dict__": [["args", "ls"]]},
                         "fitted": {}}}
SMUGGLED = {"__sklearn__": {"cls": "LogisticRegression", "params": {"__dict__": []},
                            "fitted": {}}}

CASES = [
    # the header
    ("linear", setp("format", value="something/else"), r"format 'something/else'"),
    ("linear", setp("version", value=2), r"version 2; this release reads version 1"),
    ("linear", setp("version", value="1"), r"version '1'"),
    ("linear", setp("version", value=True), r"version True"),
    ("linear", setp("model", value="nope"), r"model 'nope' is not a registered model"),
    ("linear", setp("model", value=["linear"]), r"model \['linear'\] is not a registered"),
    ("linear", setp("class", value="Popen"),
     r"class 'Popen' is not the class registered as 'linear' \(Linear\)"),
    ("linear", setp("class", value="MarkovChain"), r"class 'MarkovChain' is not the class"),
    ("linear", setp("code", value="import os"), r"key 'code' is not part of a model file"),
    ("linear", delp("fitted"), r"key 'fitted' is missing"),
    ("linear", setp("params", value=[]), r"key 'params' is a JSON list"),
    ("linear", setp("fitted", value="x"), r"key 'fitted' is a JSON str"),
    # parameters
    ("linear", setp("params", "foo", value=1), r"parameter 'foo' is not a parameter of Linear"),
    ("shapley", setp("params", "clip", value="yes"),
     r"parameter 'clip' is 'yes', expected true or false"),
    ("shapley", setp("params", "max_exact", value=True), r"parameter 'max_exact' is True, "
                                                         r"expected a number"),
    ("shapley", setp("params", "value", value=5), r"parameter 'value' is 5, expected text"),
    ("linear", setp("params", "level", value=3), r"parameter 'level' is 3; level is null"),
    ("position", setp("params", "first", value={"__list__": [0.5]}),
     r"parameter 'first' is \[0.5\], expected a number"),
    ("shapley", setp("params", "estimator", value=POPEN),
     r"parameter 'estimator' names unknown estimator 'Popen'"),
    ("shapley", setp("params", "estimator", value={"__sklearn__": {
        "cls": "LogisticRegression", "params": {"__dict__": [["evil", 1]]}, "fitted": {}}}),
     r"parameter 'estimator'.params has 'evil', not a parameter of LogisticRegression"),
    ("linear", setp("params", "level", value=nested(40)),
     r"parameter 'level'(\[0\])* nests deeper than 16 levels"),
    # fitted attribute names
    ("linear", setp("fitted", "transform", value=1),
     r"attribute 'transform' names a method or property of Linear"),
    ("linear", setp("fitted", "fit", value=None), r"attribute 'fit' names a method"),
    ("linear", setp("fitted", "requires_times", value=True),
     r"attribute 'requires_times' names a method or property"),
    ("linear", setp("fitted", "__class__", value="x"), r"attribute '__class__' is private"),
    ("linear", setp("fitted", "_reset", value=1), r"attribute '_reset' is private"),
    ("linear", setp("fitted", "names", value=1), r"attribute 'names' is not a fitted attribute"),
    ("linear", setp("fitted", "p2_", value=None), r"attribute 'p2_' is not set by Linear"),
    ("linear", setp("fitted", "estimator_", value=SMUGGLED),
     r"attribute 'estimator_' is not set by Linear"),
    ("linear", delp("fitted", "result_"), r"attribute 'result_' is missing"),
    # shapes: nothing is allocated beyond the items stored
    ("linear", setp(*CONV, "shape", value=[10**12]),
     r"attribute 'result_'.conversions declares shape \[1000000000000\] \(1000000000000 "
     r"items\) but holds 3"),
    ("linear", setp(*CH_OF, "shape", value=[2**31, 2**31]),
     r"attribute 'channel_of_' declares shape \[2147483648, 2147483648\]"),
    ("linear", setp(*CREDIT, "shape", value=[2]),
     r"attribute 'credit_' \(values\) declares shape \[2\] \(2 items\) but holds 3"),
    ("linear", setp(*CH_OF, "shape", value=[-3]), r"attribute 'channel_of_' declares shape "
                                                   r"\[-3\]; a shape is a list"),
    ("linear", setp(*CH_OF, "shape", value=[1] * 20), r"attribute 'channel_of_' declares shape"),
    ("linear", delp(*CH_OF, "shape"), r"attribute 'channel_of_' declares shape None"),
    ("linear", setp(*NAMES, "shape", value=[1, 3]),
     r"attribute 'names_' declares shape \[1, 3\] for an object array"),
    # dtypes
    ("linear", setp(*NAMES, "__ndarray__", value=lambda v: [SMUGGLED, *v[1:]]),
     r"attribute 'names_'\[0\] holds .*object arrays hold only names and numbers"),
    ("linear", setp(*CONV, "dtype", value="object"),
     r"attribute 'result_'.conversions is a 1-D object array, expected a 1-D array of floats"),
    ("linear", setp(*CONV, "dtype", value="complex128"),
     r"attribute 'result_'.conversions has dtype 'complex128', not one of the allowed"),
    ("linear", setp(*CONV, "dtype", value="datetime64[ns]"), r"has dtype 'datetime64\[ns\]'"),
    ("linear", setp(*CONV, "dtype", value="<U1000000000"), r"has dtype '<U1000000000'"),
    ("linear", setp(*CONV, "dtype", value="V8"), r"attribute 'result_'.conversions has dtype"),
    ("linear", setp(*CH_OF, "__ndarray__", value=[2**40, 0, 0]),
     r"attribute 'channel_of_' holds a value out of range for int32"),
    ("shao_li", setp("fitted", "p1_", value=lambda a: {**a, "dtype": "float32",
                                                        "__ndarray__": [1e300, 0.5, 0.5]}),
     r"attribute 'p1_' holds a value out of range for float32"),
    ("linear", setp(*CH_OF, "__ndarray__", value=[True, 0, 0]),
     r"attribute 'channel_of_'\[0\] holds True, not a value of dtype int32"),
    ("linear", setp(*CH_OF, "__ndarray__", value=["0", 0, 0]),
     r"attribute 'channel_of_'\[0\] holds '0', not a value of dtype int32"),
    # non-finite numbers
    ("linear", setp(*CONV, "__ndarray__", 0, value={"__float__": "nan"}),
     r"attribute 'result_'.conversions\[0\] is nan; it must be finite"),
    ("linear", setp(*CONV, "__ndarray__", 1, value={"__float__": "1e5"}),
     r"attribute 'result_'.conversions\[1\] holds '1e5' where 'nan', 'inf' or '-inf'"),
    ("linear", setp("fitted", "result_", "__result__", "total_value", value={"__float__": "inf"}),
     r"attribute 'result_'.total_value is inf, expected a finite number"),
    ("linear", text(setp("fitted", "n_journeys_", value="MARK"), '"MARK"', "NaN"),
     r"the JSON holds NaN"),
    ("linear", text(setp("fitted", "n_journeys_", value="MARK"), '"MARK"', "1e999"),
     r"attribute 'n_journeys_' holds a number out of range"),
    # consistency with the vocabulary
    ("linear", setp(*CH_OF, "__ndarray__", value=[0, 0, 7]),
     r"attribute 'channel_of_' holds codes outside \[0, 3\)"),
    ("linear", setp("fitted", "credit_", "__series__", value=lambda s: {
        **s, "values": {**s["values"], "__ndarray__": s["values"]["__ndarray__"][:2],
                        "shape": [2]}, "index": {**s["index"],
                                                 "__ndarray__": s["index"]["__ndarray__"][:2]}}),
     r"attribute 'credit_' \(values\) has 2 entries, expected 3"),
    ("linear", setp(*CREDIT, "__ndarray__", 0, value=lambda x: x + 1.0),
     r"attribute 'credit_' differs from the credit in result_"),
    ("position", setp("fitted", "result_", "__result__", "names", "__ndarray__",
                      value=["x", "y", "z"]), r"attribute 'result_' describes other entities"),
    ("linear", setp("fitted", "result_", "__result__", "names", "__ndarray__",
                    value=["x", "y", "z"]),
     r"attribute 'result_'.bootstrap_.names do not start with the names of the result"),
    ("linear", setp("fitted", "level_", value="region"), r"attribute 'level_' is 'region'"),
    ("linear", setp("fitted", "n_journeys_", value=-1), r"attribute 'n_journeys_' is -1"),
    ("shao_li", setp("fitted", "p2_", value=lambda a: {**a, "shape": [3, 2],
                                                        "__ndarray__": a["__ndarray__"][:6]}),
     r"attribute 'p2_' has shape \(3, 2\), expected \(3, 3\)"),
    ("shao_li", setp("fitted", "p1_", "__ndarray__", 0, value=1.5),
     r"attribute 'p1_' holds probabilities outside \[0, 1\]"),
    ("shapley", setp(*EST, "fitted", "n_features_in_", value=5),
     r"attribute 'estimator_'.coef_ has shape \(1, 3\), which does not match "
     r"n_features_in_=5"),
    ("shapley", setp(*EST, "fitted", "intercept_", "shape", value=[1, 1]),
     r"attribute 'estimator_'.intercept_ is array.*, expected 1 intercept\(s\) for coef_"),
    ("shapley", setp(*EST, "fitted", "classes_", value=lambda c: {
        **c, "__ndarray__": [0.0, 1.0, 2.0], "shape": [3]}),
     r"attribute 'estimator_'.classes_ has 3 classes, but coef_ has 1 row"),
    ("shapley", setp(*EST, "fitted", "coef_", "dtype", value="object"),
     r"attribute 'estimator_'.coef_ has dtype|attribute 'estimator_'.coef_ declares shape"),
    ("shapley", setp(*EST, "fitted", "_evil", value=1), r"attribute 'estimator_'._evil is "
                                                         r"private"),
    ("shapley", setp(*EST, "fitted", "predict_proba", value=1),
     r"attribute 'estimator_'.predict_proba names a method"),
    ("shapley", setp("params", "random_state", value="seed"),
     r"parameter 'random_state' is 'seed'; random_state is null or an integer"),
    ("shapley", setp("params", "n_jobs", value=1.5), r"parameter 'n_jobs' is 1.5"),
    ("shapley", setp(*EST, "params", "__dict__", value=lambda pairs: [
        [k, "yes" if k == "fit_intercept" else v] for k, v in pairs]),
     r"attribute 'estimator_'.params\['fit_intercept'\] is 'yes', expected true or false"),
    ("shapley", setp(*EST, "fitted", "coef_", value=None),
     r"attribute 'estimator_'.coef_ is None, expected a 1-D or 2-D array"),
    ("shapley", setp("fitted", "estimator_", value=None),
     r"attribute 'estimator_' is null, but Shapley\(value='model'\) needs its model"),
    ("shapley", delp("fitted", "estimator_"),
     r"attribute 'estimator_' is missing; a fitted Shapley\(value='model'\) has it"),
    ("markov", delp("fitted", "removal_effects_"), r"attribute 'removal_effects_' is missing"),
    ("markov", setp("fitted", "order_", value=0), r"attribute 'order_' is 0, expected an "
                                                  r"integer >= 1"),
    ("logistic", setp("fitted", "coef_", value=1),
     r"attribute 'coef_' is a int, expected a pandas Series"),
    ("logistic", setp("fitted", "intercept_", value={"__float__": "nan"}),
     r"attribute 'intercept_' is nan, expected a finite number"),
    ("markov", setp("fitted", "removal_effects_", "__frame__", value=lambda f: {
        **f, "columns": f["columns"][:1], "data": f["data"][:1]}),
     r"attribute 'removal_effects_' must be a frame of 3 rows"),
    ("linear", setp(*REPS, "method", value="jackknife"),
     r"attribute 'result_'.bootstrap_.method is 'jackknife'"),
    ("linear", setp(*REPS, "conversions", "shape", value=[9, 1]),
     r"attribute 'result_'.bootstrap_.conversions has shape \(9, 1\)"),
    ("linear", setp("fitted", "result_", "__result__", "diagnostics",
                    value={"__dict__": [["a", 1], ["a", 2]]}),
     r"attribute 'result_'.diagnostics repeats key 'a'"),
    # values that are not stored values
    ("linear", setp("fitted", "n_journeys_", value=[1, 2]),
     r"attribute 'n_journeys_' is a bare JSON list"),
    ("linear", setp("fitted", "n_journeys_", value={"__pickle__": "gASV"}),
     r"attribute 'n_journeys_' is not a stored value \(keys \['__pickle__'\]\)"),
    ("linear", setp("fitted", "n_journeys_", value={"__summary__": "x", "__code__": 1}),
     r"attribute 'n_journeys_' has unexpected key '__code__' beside __summary__"),
]


@pytest.mark.parametrize("base, edit, match", CASES,
                         ids=[f"{i:02d}-{c[2][:40]}" for i, c in enumerate(CASES)])
def test_hostile_document(docs, base, edit, match):
    out = edit(copy.deepcopy(docs[base]))
    refused(out if isinstance(out, str) else json.dumps(out), match)


def test_the_documents_load_untouched(docs):
    for doc in docs.values():
        assert at.load_json(json.dumps(doc)).credit_.sum() > 0


def test_not_json_and_truncated(docs, tmp_path):
    full = json.dumps(docs["markov"])
    refused(full[: len(full) // 2], r"not a model file \(invalid JSON")
    path = tmp_path / "notes.txt"
    path.write_text("these are not the droids")
    refused(path, r"not a model file \(invalid JSON")
    refused(b"[1, 2]", r"got a JSON list")
    refused("[1, 2]", r"model file '\[1, 2\]' does not exist")  # a str is a path unless {
    refused(b"[" * 100_000, r"the JSON nests too deeply")
    refused('{"format": ' + "[" * 100_000, r"the JSON nests too deeply")
    refused('{"format": ' + "1" * 5000 + "}", r"unreadable JSON")


def test_files_that_cannot_be_read(tmp_path):
    refused(tmp_path / "missing.json", r"model file '.*missing.json' does not exist")
    refused(str(tmp_path / "missing.json"), r"does not exist")
    refused(tmp_path, r"model file '.*' is a directory")
    (tmp_path / "empty.json").write_text("")
    refused(tmp_path / "empty.json", r"model file '.*empty.json' is empty")
    (tmp_path / "blank.json").write_text("  \n ")
    refused(tmp_path / "blank.json", r"is empty")
    (tmp_path / "latin.json").write_bytes(b'{"format": "\xff\xfe"}')
    refused(tmp_path / "latin.json", r"is not UTF-8 text")
    message = refused("a" * 5000, r"model file '\.\.\.a{80}' (does not exist|cannot be read)")
    assert len(message) < 200
    refused("bad\x00name.json", r"model file 'bad\\x00name.json' (does not exist|cannot be)")


@pytest.mark.parametrize("source", [None, 42, 1.5, ["a"], {"format": 1}])
def test_sources_of_the_wrong_type(source):
    refused(source, r"load_json needs a path, an open file or the JSON text, got "
                    + type(source).__name__)


def test_other_sources(docs):
    good = json.dumps(docs["linear"])
    assert at.load_json(io.StringIO(good)).credit_.sum() > 0
    assert at.load_json(good.encode()).credit_.sum() > 0
    refused(b"\xff{", r"not UTF-8")
    refused(io.StringIO("{oops"), r"invalid JSON")
