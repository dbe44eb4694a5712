import json
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import attribution as at
from attribution.journeys.validation import InputError, ParameterError
from attribution.models import AttributionModel, _registry, available_models
from tests.test_models_common import model

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
EXTRA = {"shapley": dict(value="model", estimator=LogisticRegression(C=0.5), random_state=0),
         "logistic": dict(n_estimators=3, inference=True, random_state=0),
         "markov": dict(order="auto", max_order=2, random_state=0)}


@pytest.fixture(scope="module")
def sample():
    from attribution.datasets import load_sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample(as_journeys=True).events.select(np.arange(3000))


def assert_same(got, want, where):
    """The loaded value equals the saved one, exactly (by type)."""
    from attribution.result import AttributionResult

    if isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_exact=True, obj=where)
    elif isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=where)
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype, where
        np.testing.assert_array_equal(got, want, err_msg=where)
    elif isinstance(want, AttributionResult):
        pd.testing.assert_frame_equal(got.to_frame(), want.to_frame(), check_exact=True)
        for key in ("names", "conversions", "value", "exposure", "channel_of"):
            np.testing.assert_array_equal(getattr(got, key), getattr(want, key), err_msg=key)
        assert got.extra == want.extra and got.diagnostics == want.diagnostics
    elif hasattr(want, "predict_proba"):  # a fitted scikit-learn classifier
        assert type(got) is type(want) and got.get_params() == want.get_params(), where
        np.testing.assert_array_equal(got.coef_, want.coef_)
        np.testing.assert_array_equal(got.intercept_, want.intercept_)
        x = np.eye(want.coef_.shape[1])
        np.testing.assert_array_equal(got.predict_proba(x), want.predict_proba(x))
    elif hasattr(want, "summary") and not isinstance(want, (str, bytes)):  # statsmodels
        assert "std err" in str(got.summary()), where  # compared in full below
    else:
        assert type(got) is type(want) and got == want, (where, got, want)


@pytest.mark.parametrize("name", available_models())
def test_round_trip_every_model(name, sample, tmp_path):
    m = model(name, **EXTRA.get(name, {})).fit(sample)
    if name == "linear":
        at.bootstrap(m, sample, n_boot=5, random_state=0)
    path = tmp_path / "m.json"
    at.to_json(m, path)
    doc = json.loads(path.read_text())
    assert doc["model"] == name and doc["format"] == "touchpoint-attribution/model"
    back = at.load_json(path)
    assert type(back) is type(m)
    assert repr(back.get_params()) == repr(m.get_params())
    pd.testing.assert_series_equal(back.credit_, m.credit_, check_exact=True)
    pd.testing.assert_frame_equal(back.result_.to_frame(), m.result_.to_frame(),
                                  check_exact=True)
    pd.testing.assert_frame_equal(back.transform(sample), m.transform(sample), check_exact=True)
    fitted = sorted(a for a in vars(m) if a.endswith("_") and not a.startswith("_"))
    assert fitted == sorted(a for a in vars(back) if a.endswith("_") and not a.startswith("_"))
    for attr in fitted:
        assert_same(getattr(back, attr), getattr(m, attr), attr)
    if name == "linear":
        pd.testing.assert_frame_equal(back.result_.conf_int(), m.result_.conf_int())
    if name == "logistic":
        def table(text):  # the summary stamps the time it was made
            return [ln for ln in str(text).splitlines() if "Time:" not in ln
                    and "Date:" not in ln]

        assert table(back.summary()) == table(m.summary())
    if name == "markov":
        pd.testing.assert_frame_equal(back.transition_matrix_, m.transition_matrix_)
        pd.testing.assert_frame_equal(back.order_scores_, m.order_scores_)
    # the text form loads too, and an unfitted model round-trips its parameters
    assert at.load_json(at.to_json(m)).credit_.equals(m.credit_)
    assert at.load_json(at.to_json(model(name))).get_params() == model(name).get_params()


def test_joblib_and_pickle_keep_working(sample, tmp_path):
    m = at.MarkovChain(order=2).fit(sample)
    joblib.dump(m, tmp_path / "m.joblib")
    assert joblib.load(tmp_path / "m.joblib").credit_.equals(m.credit_)
    assert pickle.loads(pickle.dumps(m)).credit_.equals(m.credit_)


def test_unserialisable_state_is_named(sample):
    m = at.Shapley(value="model", estimator=RandomForestClassifier(n_estimators=5,
                                                                   random_state=0))
    with pytest.raises(ParameterError, match="parameter estimator.*joblib.dump"):
        at.to_json(m)


@pytest.mark.parametrize("text, msg", [
    ("{}", "not a model file"),
    ("{not json", "invalid JSON"),
    ('{"format": "touchpoint-attribution/model", "version": 99}', "version 99"),
    ('{"format": "touchpoint-attribution/model", "version": 1, "model": "nope", '
     '"params": {}, "fitted": {}}', "'nope'"),
    ('{"format": "touchpoint-attribution/model", "version": 1, "model": "shapley", '
     '"params": {"estimator": {"__sklearn__": {"cls": "os", "params": {"__dict__": []}, '
     '"fitted": {}}}}, "fitted": {}}', "unknown estimator"),
])
def test_bad_files(text, msg, tmp_path):
    with pytest.raises(InputError, match=msg):
        at.load_json(text)
    with pytest.raises(InputError, match="does not exist"):
        at.load_json(tmp_path / "missing.json")


class Weighted(AttributionModel):
    """A user model whose fitted state is set as ``self.<name>_`` (tuple assignment too)."""

    def __init__(self, power=1.0, level=None):
        self.power = power
        self.level = level

    def _fit(self, j):
        k = len(j.names)
        counts = np.bincount(j.codes, minlength=k).astype(np.float64) + 1.0
        index = pd.Index(j.names.astype(str), name=j.level)
        self.weight_, self.labels_ = (pd.Series(counts ** self.power, index=index),
                                      np.array(j.names.astype(str), dtype=str))
        return super()._fit(j)

    def _touch_weights(self, j):
        w = self.weight_.to_numpy()[j.codes]
        return w / np.add.reduceat(w, j.offsets[:-1])[j.touch_journey], None


class Hidden(Weighted):
    """Sets a fitted attribute the source scan cannot see."""

    def _fit(self, j):
        out = super()._fit(j)
        vars(self)["hidden_"] = 2
        return out


class Declared(Hidden):
    fitted_attributes = ("hidden_",)


@pytest.fixture
def user_models():
    at.available_models()
    saved = dict(_registry._REGISTRY)
    for name, cls in (("t_weighted", Weighted), ("t_hidden", Hidden), ("t_declared", Declared)):
        at.register(name)(cls)
    yield
    _registry._REGISTRY.clear()
    _registry._REGISTRY.update(saved)


def test_user_registered_models_round_trip(user_models, sample):
    for name in ("t_weighted", "t_declared"):
        m = at.get_model(name, power=0.5).fit(sample)
        back = at.load_json(at.to_json(m))
        assert type(back) is type(m) and back.get_params() == m.get_params()
        pd.testing.assert_series_equal(back.weight_, m.weight_, check_exact=True)
        np.testing.assert_array_equal(back.labels_, m.labels_)
        assert back.labels_.dtype == m.labels_.dtype  # a str array keeps its dtype
        pd.testing.assert_frame_equal(back.transform(sample), m.transform(sample),
                                      check_exact=True)
    assert at.load_json(at.to_json(at.get_model("t_declared").fit(sample))).hidden_ == 2
    # state the class's code does not visibly set, and that it does not declare, is refused
    doc = at.to_json(at.get_model("t_hidden").fit(sample))
    with pytest.raises(InputError, match="attribute 'hidden_' is not set by Hidden"):
        at.load_json(doc)


def test_fitted_names_come_from_the_class_code():
    from attribution.inference.schema import fitted_names

    names, unread = fitted_names(at.MarkovChain)
    assert {"removal_effects_", "balance_factors_", "transition_matrix_", "names_",
            "result_"} <= names and not unread
    assert "p1_" in fitted_names(at.ShaoLiProbabilistic)[0]
    assert "p1_" not in fitted_names(at.Logistic)[0]  # same module, other class
    assert fitted_names(Weighted)[0] == fitted_names(at.Linear)[0] | {"weight_", "labels_"}


def test_batch_fitted_markov_round_trips(sample):
    parts = [sample.select(np.arange(0, 1500)).aggregate(),
             sample.select(np.arange(1500, 3000)).aggregate()]
    m = at.MarkovChain(order=2).fit_partitions(parts, 3000)
    assert hasattr(m, "balance_factors_")
    back = at.load_json(at.to_json(m))
    pd.testing.assert_frame_equal(back.balance_factors_, m.balance_factors_)
    pd.testing.assert_frame_equal(back.transform(sample), m.transform(sample), check_exact=True)


def test_unsupported_dtypes_are_refused_at_write(sample):
    m = at.Linear().fit(sample)
    m.when_ = np.array(["2020-01-01"], dtype="datetime64[ns]")
    with pytest.raises(ParameterError, match="attribute when_ .*datetime64"):
        at.to_json(m)
    m.when_ = np.array([1 + 2j])
    with pytest.raises(ParameterError, match="attribute when_ .*complex128"):
        at.to_json(m)


def test_invalid_parameter_values_are_refused_at_load(sample):
    doc = json.loads(at.to_json(at.Shapley(random_state=0).fit(sample)))
    doc["params"]["value"] = "bogus"
    with pytest.raises(InputError, match="value must be one of"):
        at.load_json(json.dumps(doc))
