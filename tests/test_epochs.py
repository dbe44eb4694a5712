"""Attribution over time: epochs, refits per epoch, change detection, drift in the simulator."""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.changes import RATE, detect_changes, step_z
from attribution.epochs import epoch_of
from attribution.evaluation.simulate import simulate_journeys
from tests.test_periods import EVENTS, journeys


def year(n, seed, drift=None, tier="additive"):
    events, truth = simulate_journeys(n, tier=tier, random_state=seed, span_days=365,
                                      drift=drift)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        j = at.Journeys.from_events(events, journey="user_id", time="timestamp",
                                    touchpoint="touchpoint", channel="channel",
                                    conversion="converted", value="revenue")
    return j, truth, events


def test_step_z_by_hand():
    """Values 0, 0, 1, 1 with unit errors: at the middle boundary the means are 0 and 1,
    each with variance 1/2, so z = 1 / sqrt(1) = 1; at the first, 0 vs 2/3 with variances
    1 and 1/3: z = (2/3) / sqrt(4/3)."""
    z = step_z(np.array([[0.0, 0.0, 1.0, 1.0]]), np.ones((1, 4)))
    np.testing.assert_allclose(z, [[(2 / 3) / np.sqrt(4 / 3), 1.0, (2 / 3) / np.sqrt(4 / 3)]])


def toy(values, se=0.01, journeys=None):
    rows = []
    for entity, series in values.items():
        for t, v in enumerate(series):
            rows.append(dict(epoch=f"e{t}", entity=entity, share=v, se=se, lower=v - 2 * se,
                             upper=v + 2 * se, **({} if journeys is None else
                                                  {"journeys": journeys[t]})))
    return pd.DataFrame(rows)


def test_a_step_change_is_found_at_its_boundary():
    rng = np.random.default_rng(0)
    flat = 0.3 + 0.01 * rng.normal(size=8)
    step = np.r_[np.full(4, 0.2), np.full(4, 0.35)] + 0.01 * rng.normal(size=8)
    out = detect_changes(toy({"flat": flat, "step": step}))
    assert list(out["boundary"]) == ["e4"] and list(out["entity"]) == ["step"]
    row = out.iloc[0]
    assert row["change"] == pytest.approx(0.15, abs=0.02) and row["z"] > row["threshold"]
    assert bool(row["beyond_interval"])


def test_no_change_in_noise_and_the_threshold_is_bonferroni():
    rng = np.random.default_rng(1)
    series = {f"s{i}": 0.1 + 0.01 * rng.normal(size=10) for i in range(5)}
    out = detect_changes(toy(series))
    assert out.empty and list(out.columns)[:2] == ["boundary", "entity"]
    from scipy.stats import norm

    big = detect_changes(toy({"a": np.r_[np.zeros(5), np.ones(5)], "b": np.zeros(10)}))
    assert big["threshold"].iloc[0] == pytest.approx(norm.ppf(1 - 0.05 / (2 * 2 * 9)))


def test_two_steps_are_both_found_by_binary_segmentation():
    s = np.r_[np.zeros(4), np.ones(4), np.full(4, 3.0)]
    out = detect_changes(toy({"a": s}, se=0.1))
    assert sorted(set(out["boundary"])) == ["e4", "e8"]


def test_errors_are_pooled_by_epoch_size():
    """One epoch with a tiny bootstrap error does not carry its segment: each series uses
    the root mean square error, scaled by 1 / sqrt(journeys)."""
    frame = toy({"a": [0.10, 0.13, 0.10, 0.10]}, se=0.01)
    frame.loc[1, "se"] = 1e-6
    assert detect_changes(frame).empty
    sized = toy({"a": [0.1, 0.1, 0.1, 0.1]}, se=0.02, journeys=[100, 400, 400, 400])
    sized.loc[0, "share"] = 0.16  # 3 x its pooled error sqrt(mean(se^2 n) / 100) = 0.02
    assert detect_changes(sized).empty
    sized.loc[0, "share"] = 0.22
    assert list(detect_changes(sized)["boundary"]) == ["e1"]


def test_the_result_does_not_depend_on_row_order_and_numbers_sort_as_numbers():
    step = {"a": np.r_[np.zeros(6), np.ones(6)], "b": np.zeros(12)}
    frame = toy(step, se=0.1)
    want = detect_changes(frame)
    got = detect_changes(frame.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(got, want)
    numeric = frame.assign(epoch=frame["epoch"].str[1:])  # "0".."11": 10 after 9, not 1
    assert list(detect_changes(numeric.sample(frac=1, random_state=1))["boundary"]) == ["6"]


def test_a_series_with_some_zero_errors_is_still_tested():
    """A share held at 0 in some epochs (bootstrap error 0) is pooled, not dropped."""
    frame = toy({"a": np.r_[np.zeros(6), np.full(6, 0.3)]}, se=0.02)
    frame.loc[frame["share"] == 0, "se"] = 0.0
    assert list(detect_changes(frame)["boundary"]) == ["e6"]


def test_detect_changes_checks_its_input():
    with pytest.raises(at.InputError, match="'se'"):
        detect_changes(pd.DataFrame({"epoch": ["a"], "entity": ["x"], "share": [0.1]}))
    with pytest.raises(at.ParameterError, match="alpha"):
        detect_changes(toy({"a": [0.1, 0.2]}), alpha=5)


def test_detect_changes_refuses_what_it_cannot_test():
    frame = toy({"a": [0.1, 0.2]})
    for bad in (0, -1, "2", 1.5, True):
        with pytest.raises(at.ParameterError, match="max_changes"):
            detect_changes(frame, max_changes=bad)
    with pytest.raises(at.InputError, match="two rows for epoch"):
        detect_changes(pd.concat([frame, frame.iloc[:1]]))
    with pytest.raises(at.InputError, match="negative for epoch"):
        detect_changes(frame.assign(se=[0.1, -0.1]))
    # any real alpha (numpy's too) is a level; the result is that of the float
    pd.testing.assert_frame_equal(detect_changes(frame, alpha=np.float32(0.25)),
                                  detect_changes(frame, alpha=float(np.float32(0.25))))


def test_epoch_labels_sort_in_time_order_and_never_merge():
    """Signed and large numbers order by value; boundaries that print alike under 6
    significant digits (hours in unix seconds) stay apart."""
    from attribution.changes import epoch_order
    signed = ["<-20", "-20..-10", "-10..0", "0..10", "10..20", ">=20"]
    assert epoch_order(signed[::-1]) == signed
    big = ["<500000", "500000..1000000", "1000000..2000000", ">=2000000"]
    assert epoch_order(big[::-1]) == big
    weeks = ["2023-12-25/2023-12-31", "2024-01-01/2024-01-07", "2024-01-29/2024-02-04"]
    assert epoch_order(weeks[::-1]) == weeks
    t0 = 1_706_745_600
    events = pd.DataFrame({"user": ["u1", "u2", "u3", "u4"], "tp": ["a", "b", "a", "b"],
                           "t": [t0 - 10, t0 + 10, t0 + 3610, t0 + 7210], "conv": [1, 0, 1, 0]})
    j = at.Journeys.from_events(events, journey="user", time="t", time_unit="step",
                                touchpoint="tp", conversion="conv")
    got = epoch_of(j, boundaries=[t0, t0 + 3600, t0 + 7200]).tolist()
    assert got == [f"<{t0}", f"{t0}..{t0 + 3600}", f"{t0 + 3600}..{t0 + 7200}", f">={t0 + 7200}"]


def test_boundaries_are_read_as_the_journeys_times_are():
    j = journeys()
    for bad, words in [("2024-01-05", "a list of dates"), ([1, 2], "dates like the journeys"),
                       (["02/01/2024"], "month-first and day-first.*YYYY-MM-DD")]:
        with pytest.raises(at.ParameterError, match=words):
            epoch_of(j, boundaries=bad)
    day_first = epoch_of(j, boundaries=["05/01/2024", "11/01/2024", "13/01/2024"])
    assert day_first.tolist() == epoch_of(j, boundaries=["2024-01-05", "2024-01-11",
                                                         "2024-01-13"]).tolist()


def test_only_the_ragged_ends_are_partial():
    """Short first and last epochs are left out of the change test; a short epoch between
    full ones (an outage) is data and stays in."""
    sizes = {"2024-01": 50, "2024-02": 900, "2024-03": 1000, "2024-04": 200, "2024-05": 1000,
             "2024-06": 950, "2024-07": 250, "2024-08": 10}
    fits = at.EpochFits(frame=pd.DataFrame(), models={}, epochs=pd.DataFrame(
        {"epoch": list(sizes)[::-1], "journeys": list(sizes.values())[::-1]}))
    assert fits.partial() == ["2024-01", "2024-07", "2024-08"]


def test_pandas_offset_aliases_name_the_same_calendar_periods():
    j = journeys()
    for alias, code in [("ME", "M"), ("QE", "Q"), ("YE", "Y"), ("month", "M")]:
        assert epoch_of(j, alias).tolist() == epoch_of(j, code).tolist()


def test_epochs_follow_the_conversion_time():
    """A journey is in the epoch of its conversion (u1 converts on Jan 2, u2 on Jan 9, u3's
    journeys on Jan 10 and Jan 12); weeks end on Sunday (Jan 7)."""
    j = journeys()
    got = epoch_of(j, "W").tolist()
    ends = pd.to_datetime(j.end_times).strftime("%m-%d").tolist()
    week = {"01-02": "2024-01-01/2024-01-07", "01-09": "2024-01-08/2024-01-14",
            "01-10": "2024-01-08/2024-01-14", "01-12": "2024-01-08/2024-01-14"}
    assert got == [week[e] for e in ends]
    cut = epoch_of(j, boundaries=["2024-01-05", "2024-01-11"]).tolist()
    want = {"01-02": "<2024-01-05", "01-09": "2024-01-05..2024-01-11",
            "01-10": "2024-01-05..2024-01-11", "01-12": ">=2024-01-11"}
    assert cut == [want[e] for e in ends]


def test_non_converting_journeys_go_by_their_last_touch():
    events = pd.concat([EVENTS, pd.DataFrame({
        "user": ["u4", "u4"], "ts": pd.to_datetime(["2024-01-20 10:00", "2024-02-03 10:00"]),
        "tp": ["a", "b"], "conv": [0, 0], "rev": [0.0, 0.0]})], ignore_index=True)
    j = journeys(events)
    month = epoch_of(j, "M")
    assert month[j.conversions == 0].tolist() == ["2024-02"]


def test_fit_by_epoch_refits_each_epoch_on_its_own_journeys():
    j, _, _ = year(20_000, 0)
    fits = at.fit_by_epoch(at.get_model("linear"), j, "Q", n_boot=0)
    e = epoch_of(j, "Q").to_numpy()
    for name, model in fits.models.items():
        alone = at.get_model("linear").fit(j.select(e == name))
        pd.testing.assert_series_equal(model.credit_, alone.credit_)
        got = fits.frame[fits.frame["epoch"] == name].set_index("entity")["credit"]
        np.testing.assert_allclose(got.reindex(alone.credit_.index), alone.credit_)
    assert fits.epochs["journeys"].sum() == j.n_journeys
    assert fits.epochs["conversions"].sum() == pytest.approx(j.conversions.sum())
    assert fits.frame["lower"].isna().all()
    with pytest.raises(at.ParameterError, match="n_boot=100"):
        fits.detect_changes()  # no intervals, nothing to compare: said, not an empty frame


def test_a_stationary_world_agrees_within_its_intervals():
    j, _, _ = year(60_000, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        fits = at.fit_by_epoch(at.Logistic(), j, "Q", n_boot=30, random_state=0, n_jobs=1)
    assert fits.notes and "link chosen once" in fits.notes[0]
    assert fits.detect_changes().empty
    whole = at.Logistic(link=fits.models[next(iter(fits.models))].link).fit(j)
    share = whole.credit_ / whole.result_.total_conversions
    f = fits.frame[fits.frame["entity"].isin(share.index)
                   & ~fits.frame["epoch"].isin(fits.partial())]
    inside = (f["lower"] - 0.01 <= f["entity"].map(share)) & (
        f["entity"].map(share) <= f["upper"] + 0.01)
    assert inside.mean() >= 0.9


def test_a_drift_is_found_near_its_date():
    j, truth, _ = year(60_000, 1, drift={"date": "2024-07-01", "lifts": {"radio_spot": 0.2}})
    assert truth.drift["theta_after"]["radio_spot"] == pytest.approx(
        0.2 * truth.theta["radio_spot"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        fits = at.fit_by_epoch(at.Logistic(), j, "Q", n_boot=30, random_state=0)
    changes = fits.detect_changes()
    assert "2024Q3" in set(changes["boundary"])
    moved = changes[changes["boundary"] == "2024Q3"]
    assert {"radio_spot", RATE} <= set(moved["entity"])
    assert (moved.loc[moved["entity"] == "radio_spot", "change"] < 0).all()


def test_fit_by_epoch_refuses_what_it_cannot_do(ca_journeys):
    j = journeys()
    with pytest.raises(at.InputError, match="path tables have none"):
        at.fit_by_epoch(at.get_model("linear"), ca_journeys)
    with pytest.raises(at.ParameterError, match="n_boot"):
        at.fit_by_epoch(at.get_model("linear"), j, n_boot=1)
    with pytest.raises(at.ParameterError, match="attribution model"):
        at.fit_by_epoch("linear", j)
    with pytest.raises(at.ParameterError, match="boundaries"):
        at.fit_by_epoch(at.get_model("linear"), j, boundaries=["2024-02-01", "2024-01-01"])
    with pytest.raises(at.ParameterError, match="not both"):
        at.fit_by_epoch(at.get_model("linear"), j, "W", boundaries=["2024-01-05"])
    aware = at.fit_by_epoch(at.get_model("linear"), j, n_boot=0,
                            boundaries=[pd.Timestamp("2024-01-05", tz="UTC")])
    assert list(aware.epochs["epoch"]) == ["<2024-01-05", ">=2024-01-05"]


@pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
def test_each_epoch_is_calibrated_to_the_experiments_run_within_it():
    """A lift test dated in Q2 claims twice the removal effect of web that the plain Q2 fit
    finds: Q2's calibrated fit moves toward it; the other epochs are fitted as they are."""
    j, _, _ = year(20_000, 0)
    plain = at.fit_by_epoch(at.Logistic(link="identity", random_state=0), j, "Q", n_boot=0)
    q2 = plain.models["2024Q2"]
    e = epoch_of(j, "Q").to_numpy()
    vague = pd.DataFrame({"channel": ["web"], "incremental": [1.0], "se": [1e9]})
    obs = at.Logistic(link="identity", random_state=0).fit(
        j.select(e == "2024Q2"), experiments=vague).experiments_
    claim = 2 * float(obs["observational"].iloc[0])
    lift = pd.DataFrame({"channel": ["web"], "incremental": [claim], "se": [claim / 50],
                         "start": ["2024-04-01"], "end": ["2024-07-01"]})
    fits = at.fit_by_epoch(at.Logistic(link="identity", random_state=0), j, "Q", n_boot=0,
                           experiments=lift)
    table = fits.models["2024Q2"].experiments_
    assert float(table["observational"].iloc[0]) == pytest.approx(claim / 2)
    assert abs(table["z_calibrated"].iloc[0]) < abs(table["z_observational"].iloc[0]) / 5
    assert "epoch 2024Q2: calibrated to 1 experiment(s)" in fits.notes
    web = [t for i, t in enumerate(j.names) if j.channel_names[j.channel_of[i]] == "web"]
    moved = fits.frame.query("epoch == '2024Q2'").set_index("entity")["credit"]
    before = plain.frame.query("epoch == '2024Q2'").set_index("entity")["credit"]
    assert moved[web].sum() > before[web].sum()
    assert not np.allclose(q2.coef_, fits.models["2024Q2"].coef_)
    for name in ("2024Q1", "2024Q3", "2024Q4"):  # untouched: the same fit as without
        assert fits.models[name].experiments_ is None
        pd.testing.assert_frame_equal(fits.frame.query("epoch == @name"),
                                      plain.frame.query("epoch == @name"))


def test_epoch_experiments_need_a_period_within_one_epoch():
    j, _, _ = year(5_000, 0)
    lift = pd.DataFrame({"channel": ["web"], "incremental": [10.0], "se": [5.0]})
    with pytest.raises(at.InputError, match="has no period"):
        at.fit_by_epoch(at.Logistic(), j, "Q", n_boot=0, experiments=lift)
    across = lift.assign(start="2024-03-01", end="2024-05-01")
    with pytest.raises(at.InputError, match="covers journeys of 2 epochs"):
        at.fit_by_epoch(at.Logistic(), j, "Q", n_boot=0, experiments=across)
    later = lift.assign(start="2030-01-01", end="2030-02-01")
    with pytest.raises(at.InputError, match="covers no journey of the data"):
        at.fit_by_epoch(at.Logistic(), j, "Q", n_boot=0, experiments=later)
    with pytest.raises(at.ParameterError, match="Linear cannot be calibrated"):
        at.fit_by_epoch(at.get_model("linear"), j, "Q", n_boot=0,
                        experiments=lift.assign(start="2024-04-01", end="2024-05-01"))


def test_drift_changes_conversions_only_after_its_date():
    base, _, ev0 = year(40_000, 2)
    _, _, ev1 = year(40_000, 2, drift={"date": "2024-07-01", "lifts": {"web": 3.0}})
    start = ev0.groupby("user_id")["timestamp"].min()
    early = start.index[start < "2024-06-25"]
    conv0 = ev0.groupby("user_id")["converted"].sum()
    conv1 = ev1.groupby("user_id")["converted"].sum()
    # the same people and touches (the stream is unchanged) and the same early outcomes
    pd.testing.assert_series_equal(conv0[early], conv1[early])
    late = start.index[start >= "2024-07-01"]
    assert conv1[late].mean() > 1.3 * conv0[late].mean()


def test_drift_is_checked():
    for bad, message in (({"date": "2024-07-01"}, "keys"),
                         ({"date": "soon", "lifts": {}}, "date"),
                         ({"date": "2024-07-01", "lifts": {"billboard": 2}}, "billboard"),
                         ({"date": "2024-07-01", "lifts": {"tv_ad": -1}}, ">= 0")):
        with pytest.raises(at.ParameterError, match=message):
            simulate_journeys(100, drift=bad, random_state=0)
    with pytest.raises(at.ParameterError, match="span_days"):
        simulate_journeys(100, span_days=0, random_state=0)


def test_report_page_shows_the_epochs_and_the_change():
    from attribution.report import build_report

    j, _, _ = year(30_000, 1, drift={"date": "2024-07-01", "lifts": {"radio_spot": 0.1}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.AttributionWarning)
        html = build_report(j, models=["linear"], n_boot=15, epochs="quarter")
    section = html[html.index('<section id="time">'):]
    section = section[:section.index("</section>")]
    assert "Over time: has the credit changed?" in section and "data:image/svg+xml" in section
    assert "<td>2024Q3</td><td>radio_spot</td>" in section
    assert "2025Q1 hold under half" in section
    assert '<a href="#time">' in html
    assert 'id="time"' not in build_report(j, models=["linear"], n_boot=0)


def test_an_epoch_calibration_warning_names_its_epoch_once():
    """A negative Q2 lift cannot be met by noisy-OR effects (>= 0): the warnings say which
    epoch's fit disagrees: the fit's own once, and the bootstrap's summary of its replicates."""
    j, _, _ = year(20_000, 0)
    lift = pd.DataFrame({"channel": ["web"], "incremental": [-300.0], "se": [20.0],
                         "start": ["2024-04-01"], "end": ["2024-07-01"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        at.fit_by_epoch(at.Logistic(link="noisy_or", random_state=0), j, "Q", n_boot=3,
                        experiments=lift)
    said = [str(w.message) for w in caught if "still disagrees" in str(w.message)]
    assert all(m.startswith("epoch 2024Q2: ") for m in said)
    assert sum(m.startswith("epoch 2024Q2: the calibrated fit still disagrees with "
                            "experiment row 0 (web") for m in said) == 1
    assert sum("3 of 3 bootstrap replicates warned" in m for m in said) == 1


def test_an_epoch_names_experiments_by_their_row_in_the_users_table():
    """Row 1 of the table is the only test of its epoch: messages still call it row 1."""
    j, _, _ = year(4_000, 0)
    lift = pd.DataFrame({"channel": ["web", "email"], "incremental": [5.0, 1e6],
                         "se": [2.0, 1.0], "start": ["2024-02-01", "2024-05-01"],
                         "end": ["2024-03-01", "2024-06-01"]})
    with pytest.raises(at.InputError, match=r"experiment row 1 \(email\): incremental 1e\+06 "
                       "exceeds"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", at.AttributionWarning)
            at.fit_by_epoch(at.Logistic(link="identity", random_state=0), j, "M", n_boot=0,
                            experiments=lift)
