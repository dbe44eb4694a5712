"""A model registered by a user runs through batch scoring, Dask and the bootstrap unchanged.

The models below are written against the public protocol only (subclass AttributionModel,
implement ``_touch_weights`` and optionally ``_fit``, register with ``at.register``). They are
registered for the tests of this module only; the registry is restored afterwards.
"""


import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.inference.bootstrap import resample_weights
from attribution.models import AttributionModel, _registry
from attribution.scale.batch import score_file
from tests.conftest import make_journeys, simulated_log_files

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
COLS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint", channel="channel",
            conversion="converted", value="revenue")
KEY = ["journey", "conversion", "position"]


class ReversePosition(AttributionModel):
    """The k-th of L touches gets (L - k) / (L (L + 1) / 2): the first touch the most."""

    additive = True
    accepts_unseen = True

    def _touch_weights(self, j):
        length = j.touch_length.astype(np.float64)
        return (length - j.touch_position) / (length * (length + 1) / 2), None


class RateWeighted(AttributionModel):
    """Fitted per-entity state: each touch weighs its entity's conversion rate (conversions
    over journeys of the journeys that contain it); equal split when all rates are 0."""

    def _fit(self, j):
        jj, code = j.distinct()
        k = len(j.names)
        conv = np.bincount(code, j.conversions[jj], minlength=k)
        total = conv + np.bincount(code, j.nulls[jj], minlength=k)
        rate = np.divide(conv, total, out=np.zeros(k), where=total > 0)
        self.rate_ = pd.Series(rate, index=pd.Index(j.names.astype(str), name=j.level))
        return super()._fit(j)

    def _touch_weights(self, j):
        r = self.rate_.to_numpy()[j.codes]  # transform aligns j to the fitted vocabulary
        s = np.add.reduceat(r, j.offsets[:-1])[j.touch_journey]
        return np.where(s > 0, r / np.where(s > 0, s, 1.0), 1.0 / j.touch_length), None


class RateWeightedWhole(RateWeighted):
    """The same model declared not mergeable: batch and Dask gather the journeys."""

    mergeable = False


class AdaptiveDecay(AttributionModel):
    """Time decay whose half-life is fitted: the median age (time before the journey's last
    touch) of the touches of converting journeys, at least 1 ns. A median over all journeys is
    not a sum over partitions: the model is not mergeable."""

    mergeable = False

    @property
    def requires_times(self):
        return True

    def _ages(self, j):
        latest = np.maximum.reduceat(j.times, j.offsets[:-1])
        return (latest[j.touch_journey] - j.times).astype(np.float64)

    def _fit(self, j):
        ages = self._ages(j)[(j.conversions > 0)[j.touch_journey]]
        self.half_life_ = max(float(np.median(ages)), 1.0) if len(ages) else 1.0
        return super()._fit(j)

    def _touch_weights(self, j):
        w = np.exp2(-self._ages(j) / self.half_life_)
        return w / np.add.reduceat(w, j.offsets[:-1])[j.touch_journey], None


USER_MODELS = {"reverse_position": ReversePosition, "rate_weighted": RateWeighted,
               "rate_weighted_whole": RateWeightedWhole, "adaptive_decay": AdaptiveDecay}


@pytest.fixture(autouse=True)
def registered():
    at.available_models()  # the built-in models register when first needed: load them first
    saved = dict(_registry._REGISTRY)
    assert not set(USER_MODELS) & set(saved)  # nothing left over from an earlier test
    for name, cls in USER_MODELS.items():
        at.register(name)(cls)
    yield
    _registry._REGISTRY.clear()
    _registry._REGISTRY.update(saved)
    for cls in USER_MODELS.values():
        cls.name = ""
    assert not set(USER_MODELS) & set(at.available_models())


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return simulated_log_files(tmp_path_factory.mktemp("protocol"), 1200, 5, 3, 1000,
                               "events.csv", COLS)


def test_registered_and_hand_computed():
    assert set(USER_MODELS) <= set(at.available_models())
    # a > b > c (2 conv, value 12) | b (1 conv, value 3) | a > c (0 conv, 2 nulls)
    j = make_journeys([[0, 1, 2], [1], [0, 2]], [2, 1, 0], [0, 1, 2], value=[12.0, 3.0, 0.0],
                      names=["a", "b", "c"])
    m = at.get_model("reverse_position").fit(j)
    assert m.credit_.to_dict() == pytest.approx({"a": 1.0, "b": 2 / 3 + 1, "c": 1 / 3})
    assert m.value_credit_.to_dict() == pytest.approx({"a": 6.0, "b": 4.0 + 3.0, "c": 2.0})
    t = m.transform(j)
    assert t["credit"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3, 1.0])
    # rates: a 2/4 (a > b > c and a > c), b 3/4, c 2/4; a > b > c splits .5 : .75 : .5
    r = at.get_model("rate_weighted").fit(j)
    assert r.rate_.to_dict() == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.5})
    share = np.array([0.5, 0.75, 0.5]) / 1.75
    assert r.credit_.to_numpy() == pytest.approx(2 * share + [0, 1, 0])
    assert r.value_credit_.to_numpy() == pytest.approx(12 * share + [0, 3, 0])
    with pytest.raises(at.InputError, match="'zz'"):  # fitted state: unseen entities refused
        r.transform(make_journeys([[0, 1]], [1], names=["a", "zz"]))
    # half-life 1 (median age of 2, 1, 0 and 0): weights 1/4, 1/2, 1 over 7/4
    day = 1
    d = make_journeys([[0, 1, 2], [1]], [1, 1], [0, 0], names=["a", "b", "c"],
                      times=np.array([0, day, 2 * day, 5]))
    ad = at.get_model("adaptive_decay").fit(d)
    assert ad.half_life_ == 1.0
    assert ad.credit_.to_numpy() == pytest.approx([1 / 7, 2 / 7 + 1, 4 / 7])


def test_protocol_declarations():
    j = make_journeys([[0, 1], [1]], [1, 0], [0, 1])
    assert not at.get_model("adaptive_decay").mergeable
    assert at.get_model("adaptive_decay").requires_times
    assert isinstance(at.get_model("rate_weighted_whole").partition_statistic(j), at.Journeys)
    stat = at.get_model("rate_weighted").partition_statistic(j)
    assert stat.n_journeys == j.aggregate().n_journeys and stat.ids is None


def in_memory(name, j):
    m = at.get_model(name).fit(j)
    return m, m.transform(j).sort_values(KEY).reset_index(drop=True)


@pytest.mark.parametrize("name, fmt, n_jobs", [
    ("reverse_position", "csv", 1), ("rate_weighted", "parquet", 2),
    ("rate_weighted_whole", "parquet", 1), ("adaptive_decay", "csv", 1)])
def test_score_file_equals_in_memory(log, tmp_path, name, fmt, n_jobs):
    d, _, j = log
    out = tmp_path / f"scores.{fmt}"
    m = at.get_model(name)
    s = score_file(m, d / f"events.{fmt}", out, chunk_rows=1500, n_jobs=n_jobs, **COLS)
    assert s.partitions > 1 and s.journeys == j.n_journeys
    ref, want = in_memory(name, j)
    pd.testing.assert_series_equal(m.credit_[ref.credit_.index], ref.credit_, rtol=1e-12)
    pd.testing.assert_series_equal(m.value_credit_[ref.credit_.index], ref.value_credit_,
                                   rtol=1e-12)
    got = pd.read_parquet(out) if fmt == "parquet" else pd.read_csv(out)
    got = got.sort_values(KEY).reset_index(drop=True)
    assert got["journey"].astype(str).tolist() == want["journey"].astype(str).tolist()
    assert got["position"].tolist() == want["position"].tolist()
    assert got["touchpoint"].astype(str).tolist() == want["touchpoint"].astype(str).tolist()
    np.testing.assert_allclose(got["credit"], want["credit"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got["value_credit"], want["value_credit"], rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("name", list(USER_MODELS))
def test_dask_equals_in_memory(log, name):
    dd = pytest.importorskip("dask.dataframe")
    from attribution.scale import dask as adask

    _, events, j = log
    ddf = dd.from_pandas(events, npartitions=4)
    m = adask.fit(at.get_model(name), ddf, **COLS)
    ref, want = in_memory(name, j)
    pd.testing.assert_series_equal(m.credit_[ref.credit_.index], ref.credit_, rtol=1e-12)
    if name == "adaptive_decay":
        assert m.half_life_ == ref.half_life_
    got = adask.score(m, ddf, **COLS).compute().sort_values(KEY).reset_index(drop=True)
    assert got["journey"].tolist() == want["journey"].tolist()
    assert got["touchpoint"].tolist() == want["touchpoint"].astype(str).tolist()
    np.testing.assert_allclose(got["credit"], want["credit"], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, n_jobs", [("reverse_position", 1), ("rate_weighted", 2),
                                          ("adaptive_decay", 1)])
def test_bootstrap_replicates_are_refits(log, name, n_jobs):
    _, _, j = log
    m = at.get_model(name)
    ci = at.bootstrap(m, j, n_boot=4, random_state=9, n_jobs=n_jobs)
    ref = at.get_model(name).fit(j)
    pd.testing.assert_series_equal(m.credit_, ref.credit_, check_exact=True)
    np.testing.assert_array_equal(ci["conversions"], ref.result_.conversions)
    base = j if m.requires_times else j.aggregate()
    reps = m.result_.bootstrap_
    for b, seed in enumerate(np.random.SeedSequence(9).spawn(4)):
        c, u, v = resample_weights(base, "multinomial", np.random.default_rng(seed))
        want = at.get_model(name).fit(base.replace(conversions=c, nulls=u, value=v))
        np.testing.assert_allclose(reps.conversions[b], want.result_.conversions, rtol=1e-12)
        np.testing.assert_allclose(reps.value[b], want.result_.value, rtol=1e-12)
    assert not np.allclose(reps.conversions[0], reps.conversions[1])  # replicates differ


def test_json_round_trip_of_a_registered_model(log):
    _, _, j = log
    m = at.get_model("rate_weighted").fit(j)
    back = at.load_json(at.to_json(m))
    assert type(back) is RateWeighted
    pd.testing.assert_series_equal(back.rate_, m.rate_, check_exact=True)
    pd.testing.assert_frame_equal(back.transform(j), m.transform(j), check_exact=True)


def test_compare_takes_the_registered_name(log):
    _, _, j = log
    f = at.compare(["linear", "reverse_position"], j)
    rp = f[f["model"] == "reverse_position"].set_index("entity")["conversions"]
    ref = at.get_model("reverse_position").fit(j).credit_
    np.testing.assert_array_equal(rp[ref.index].to_numpy(), ref.to_numpy())

