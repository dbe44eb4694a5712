"""attribution.dask on a LocalCluster (processes=False) and a partitioned Parquet dataset:
the same credit and the same per-touch scores as the in-memory path."""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.evaluation.simulate import simulate_journeys
from tests._tol import rtol

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
from attribution.scale import dask as adask  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")
COLS = dict(journey="journey_id", time="timestamp", touchpoint="touchpoint", channel="channel",
            conversion="converted", value="value")
KEY = ["journey", "conversion", "position"]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    events, _ = simulate_journeys(5000, tier="noisy_or", random_state=8)
    shuffled = events.sample(frac=1, random_state=2).reset_index(drop=True)
    path = tmp_path_factory.mktemp("ds") / "events"
    dd.from_pandas(shuffled, npartitions=6).to_parquet(path)  # journeys spread over files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = at.Journeys.from_events(events, **COLS)
    return path, j


@pytest.mark.parametrize("name", ["linear", "markov", "shapley", "logistic", "time_decay"])
def test_fit_and_score_equal_in_memory(client, dataset, name, tmp_path):
    path, j = dataset
    kw = {"logistic": dict(random_state=0)}.get(name, {})
    ddf = dd.read_parquet(path)
    assert ddf.npartitions > 1
    m = adask.fit(at.get_model(name, **kw), ddf, **COLS)
    ref = at.get_model(name, **kw).fit(j)
    tol = rtol(ref)
    np.testing.assert_allclose(m.credit_[ref.credit_.index], ref.credit_, rtol=tol, atol=tol)
    scores = adask.score(m, ddf, **COLS)
    scores.to_parquet(tmp_path / "scores")  # what a nightly job does
    got = pd.read_parquet(tmp_path / "scores").sort_values(KEY).reset_index(drop=True)
    want = ref.transform(j).sort_values(KEY).reset_index(drop=True)
    assert len(got) == len(want)
    assert got["journey"].tolist() == want["journey"].tolist()
    np.testing.assert_allclose(got["credit"], want["credit"], rtol=1e-7, atol=1e-8)
    assert (got["touchpoint"].astype(str).to_numpy()
            == want["touchpoint"].astype(str).to_numpy()).all()


def test_errors(dataset):
    path, _ = dataset
    with pytest.raises(at.InputError, match="dask DataFrame"):
        adask.fit(at.Linear(), pd.DataFrame({"a": [1]}), **COLS)
    with pytest.raises(at.InputError, match="'who'"):
        adask.fit(at.Linear(), dd.read_parquet(path), **{**COLS, "journey": "who"})
