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
from attribution.models import available_models
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
    for attr in vars(m):
        if attr.endswith("_") and not attr.startswith("_"):
            assert hasattr(back, attr), attr
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
