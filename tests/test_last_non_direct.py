"""LastNonDirect: hand-computed journeys, a brute-force reference on random journeys, the
window's units, persistence and errors."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution as at

T0 = pd.Timestamp("2024-03-01 09:00")


def log(rows):
    """An event log from (user, minutes after T0, touchpoint, channel, converted) rows."""
    df = pd.DataFrame(rows, columns=["user_id", "minutes", "touchpoint", "channel", "converted"])
    df["timestamp"] = T0 + pd.to_timedelta(df.pop("minutes"), unit="min")
    return df


def journeys(df):
    return at.Journeys.from_events(df, journey="user_id", time="timestamp",
                                   touchpoint="touchpoint", channel="channel",
                                   conversion="converted")


EMAIL_THEN_DIRECT = log([(1, 0, "newsletter", "email", False),
                         (1, 60, "type_in", "direct", False),
                         (1, 60, None, None, True)])


def test_email_then_direct_credits_email():
    m = at.LastNonDirect(direct=["direct"]).fit(journeys(EMAIL_THEN_DIRECT))
    assert m.credit_.to_dict() == {"newsletter": 1.0, "type_in": 0.0}


def test_window_shorter_than_the_gap_credits_the_direct_touch():
    j = journeys(EMAIL_THEN_DIRECT)
    assert at.LastNonDirect(window="30min").fit(j).credit_.to_dict() == {
        "newsletter": 0.0, "type_in": 1.0}
    # the email touch is exactly 1h before the conversion: inside a 1h window
    assert at.LastNonDirect(window="1h").fit(j).credit_["newsletter"] == 1.0
    assert at.LastNonDirect(window=pd.Timedelta("59min")).fit(j).credit_["type_in"] == 1.0


def test_all_direct_journey_credits_its_last_touch():
    df = log([(1, 0, "type_in", "direct", False), (1, 10, "bookmark", "direct", False),
              (1, 20, None, None, True),
              (2, 0, "bookmark", "direct", False), (2, 5, "ad", "display", False),
              (2, 9, "type_in", "direct", True)])
    m = at.LastNonDirect().fit(journeys(df))
    # user 1: only direct touches -> the last (bookmark); user 2: the display ad
    assert m.credit_.to_dict() == {"ad": 1.0, "bookmark": 1.0, "type_in": 0.0}
    t = m.transform(journeys(df))
    assert t.loc[t["credit"] > 0, "touchpoint"].astype(str).tolist() == ["bookmark", "ad"]


def test_direct_names_channels_and_rollup_equals_channel_level():
    df = log([(1, 0, "newsletter", "email", False), (1, 5, "promo", "email", False),
              (1, 9, "home", "organic", False), (1, 12, None, None, True),
              (2, 0, "promo", "email", False), (2, 3, "home", "organic", True)])
    j = journeys(df)
    m = at.LastNonDirect(direct=["organic"]).fit(j)
    assert m.credit_.to_dict() == {"home": 0.0, "newsletter": 0.0, "promo": 2.0}
    ch = at.LastNonDirect(direct=["organic"], level="channel").fit(j)
    assert ch.credit_.to_dict() == {"email": 2.0, "organic": 0.0}
    # a name that is no channel makes no touch direct: last touch, and a warning says so
    last = at.LastTouch().fit(j).credit_
    with pytest.warns(at.AttributionWarning, match="'tv' match no channel or touchpoint"):
        pd.testing.assert_series_equal(at.LastNonDirect(direct=["tv"]).fit(j).credit_, last)
    # a touchpoint name is direct too
    assert at.LastNonDirect(direct=["home"]).fit(j).credit_.to_dict() == m.credit_.to_dict()


def reference(paths, channels, times, ends, direct, window):
    """Per path, the index of the credited touch (a plain loop, from the definition)."""
    out = []
    for path, tms, end in zip(paths, times, ends, strict=True):
        pick = len(path) - 1
        for i in range(len(path) - 1, -1, -1):
            if channels[path[i]] not in direct and (window is None or end - tms[i] <= window):
                pick = i
                break
        out.append(pick)
    return out


@given(data=st.data(), window=st.one_of(st.none(), st.integers(0, 10)))
@settings(max_examples=60, deadline=None)
def test_matches_the_definition_on_random_step_journeys(data, window):
    n = data.draw(st.integers(1, 6))
    paths = [data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=5)) for _ in range(n)]
    times = [np.sort(data.draw(st.lists(st.integers(0, 20), min_size=len(p), max_size=len(p))))
             for p in paths]
    ends = [int(t[-1]) + data.draw(st.integers(0, 5)) for t in times]
    conv = data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5]), min_size=n, max_size=n))
    conv[0] = 1.0
    channels = ["direct", "email", "direct", "search"]  # touchpoints 0..3 -> 3 channels
    channel_names = ["direct", "email", "search"]
    with_end = data.draw(st.booleans())  # without end times: the latest touch's time
    if not with_end:
        ends = [int(t[-1]) for t in times]
    j = at.Journeys(np.r_[0, np.cumsum([len(p) for p in paths])], np.concatenate(paths),
                    conv, [1.0] * n, [2 * c for c in conv], names=["t0", "t1", "t2", "t3"],
                    channel_of=[0, 1, 0, 2], channel_names=channel_names,
                    times=np.concatenate(times), end_times=np.array(ends) if with_end else None,
                    time_kind="numeric")
    m = at.LastNonDirect(window=window).fit(j)
    want = np.zeros(4)
    for p, pick, c in zip(paths, reference(paths, channels, times, ends, {"direct"}, window),
                          conv, strict=True):
        want[p[pick]] += c
    got = m.credit_.reindex([f"t{k}" for k in range(4)], fill_value=0.0).to_numpy()
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(m.value_credit_.sum(), 2 * sum(conv))


def test_json_round_trip_keeps_the_window():
    j = journeys(EMAIL_THEN_DIRECT)
    m = at.LastNonDirect(direct=["direct", "type_in"], window="30min").fit(j)
    back = at.load_json(at.to_json(m))
    assert back.get_params() == m.get_params()
    pd.testing.assert_series_equal(back.credit_, m.credit_)
    pd.testing.assert_frame_equal(back.transform(j), m.transform(j))
    assert at.get_model("last_non_direct", window="24h").requires_times


def test_errors_name_the_parameter():
    paths = at.Journeys.from_paths(pd.DataFrame({"path": ["a > direct"],
                                                 "total_conversions": [1]}), nulls=None)
    assert at.LastNonDirect().fit(paths).credit_.to_dict() == {"a": 1.0, "direct": 0.0}
    with pytest.raises(at.InputError, match="window=None"):
        at.LastNonDirect(window="1h").fit(paths)
    with pytest.raises(at.ParameterError, match="window=24 has no unit"):
        at.LastNonDirect(window=24).fit(journeys(EMAIL_THEN_DIRECT))
    # a bare string is one name
    assert at.LastNonDirect(direct="direct").fit(paths).credit_.to_dict() == {"a": 1.0,
                                                                              "direct": 0.0}
    with pytest.warns(at.AttributionWarning, match=r"'Direct' match no channel.*direct"):
        got = at.LastNonDirect(direct=["Direct"]).fit(paths).credit_.to_dict()
    assert got == {"a": 0.0, "direct": 1.0}  # as it said: no touch is direct
    with pytest.raises(at.ParameterError, match="window must be a duration"):
        at.LastNonDirect(window="soon").fit(paths)


@pytest.mark.parametrize("window", [None, "2h"])
def test_partitions_fit_like_the_whole(window, sample_journeys):
    """Batch scoring and Dask fit on partition statistics: the same credit as one fit."""
    j = sample_journeys.select(np.arange(3000))
    whole = at.LastNonDirect(direct=["web"], window=window).fit(j)
    m = at.LastNonDirect(direct=["web"], window=window)
    parts = [j.select(np.arange(0, 1000)), j.select(np.arange(1000, 3000))]
    m.fit_partitions([m.partition_statistic(p) for p in parts], j.n_journeys)
    pd.testing.assert_series_equal(m.credit_, whole.credit_, check_exact=False, rtol=1e-12)
    assert whole.credit_.sum() == pytest.approx(j.conversions.sum())
    if window is not None:  # a 2h window hands some credit back to web touches
        assert whole.credit_.groupby(j.channel_names[j.channel_of]).sum()["web"] > \
            at.LastNonDirect(direct=["web"]).fit(j).credit_.groupby(
                j.channel_names[j.channel_of]).sum()["web"]
