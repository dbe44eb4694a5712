"""``attribution fit --by-epoch`` and ``--experiments`` on the command line."""

import re

import pandas as pd
import pytest

from attribution.cli import main
from tests.test_cli_money import log  # noqa: F401 (fixture)


def test_by_epoch_refits_each_month(log, tmp_path, capsys):  # noqa: F811
    """u1 converts in January (a, b: linear 0.5 each), u2 in February (b: 1); u3 never
    converts (its last touch is in February)."""
    out = tmp_path / "ep.csv"
    assert main(["--quiet", "fit", str(log), "-m", "linear", "--by-epoch", "month",
                 "-o", str(out)]) == 0
    ep = pd.read_csv(out)
    got = {(r.epoch, r.entity): r.credit for r in ep.itertuples()}
    assert got == {("2024-01", "a"): 0.5, ("2024-01", "b"): 0.5, ("2024-02", "b"): 1.0,
                   ("2024-02", "a"): 0.0}
    assert "model" not in ep and "lower" not in ep
    assert "need intervals: add --n-boot" in capsys.readouterr().err


def test_by_epoch_with_intervals_tells_the_changes(tmp_path, capsys):
    from attribution.evaluation.simulate import simulate_journeys

    events, _ = simulate_journeys(30_000, random_state=1, span_days=365, drift={
        "date": "2024-07-01", "lifts": {"radio_spot": 0.1}})
    p = tmp_path / "ev.csv"
    events.to_csv(p, index=False)
    out = tmp_path / "ep.csv"
    assert main(["--quiet", "fit", str(p), "-m", "logistic", "--by-epoch", "quarter",
                 "--n-boot", "20", "-o", str(out)]) == 0
    ep = pd.read_csv(out)
    assert {"lower", "upper", "se"} <= set(ep.columns)
    err = capsys.readouterr().err
    assert "change: logistic: from 2024Q3, radio_spot" in err
    assert "2025Q1 hold under half" in err


def test_experiments_on_the_command_line(log, tmp_path, capsys):  # noqa: F811
    lift = tmp_path / "lift.csv"
    pd.DataFrame({"touchpoint": ["b"], "incremental": [0.5], "se": [0.1]}).to_csv(lift,
                                                                                   index=False)
    out = tmp_path / "fit.csv"
    assert main(["--quiet", "fit", str(log), "-m", "logistic", "-p", "link=identity",
                 "--experiments", str(lift), "-o", str(out)]) == 0
    assert set(pd.read_csv(out)["model"]) == {"logistic", "logistic (calibrated)"}
    # one line per lift test: measured, observational and calibrated with their z-scores
    line, = [x for x in capsys.readouterr().err.splitlines() if x.startswith("experiment:")]
    got = re.match(r"experiment: logistic \(calibrated\): b measured 0\.5 \(se 0\.1\); "
                   r"observational (\S+) \(z (\S+)\) -> calibrated (\S+) \(z (\S+)\), "
                   r"journeys' weight (\S+)$", line)
    assert got, line
    obs, z_obs, cal, z_cal, w = map(float, got.groups())
    assert z_obs == pytest.approx((obs - 0.5) / 0.1, abs=0.06)
    assert z_cal == pytest.approx((cal - 0.5) / 0.1, abs=0.06)
    assert abs(z_cal) <= abs(z_obs) and 0 < w <= 1
    assert main(["--quiet", "fit", str(log), "-m", "linear", "--by-epoch", "month",
                 "--experiments", str(lift)]) == 2
    assert "--experiments" in capsys.readouterr().err
    assert main(["--quiet", "fit", str(log), "-m", "logistic", "--experiments",
                 str(tmp_path / "missing.csv")]) != 0
    assert main(["--quiet", "fit", str(log), "-m", "linear", "--experiments", str(lift)]) == 2
    assert "linear cannot be calibrated" in capsys.readouterr().err
    pd.DataFrame({"touchpoint": ["zz"], "incremental": [0.5], "se": [0.1]}).to_csv(
        lift, index=False)
    assert main(["--quiet", "fit", str(log), "-m", "logistic", "--experiments", str(lift)]) != 0
    assert "'zz' is not in the journeys" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--by", "--spend"])
def test_by_epoch_goes_alone(log, tmp_path, flag, capsys):  # noqa: F811
    other = "month" if flag == "--by" else str(tmp_path / "s.csv")
    if flag == "--spend":
        pd.DataFrame({"touchpoint": ["a"], "cost": [1.0]}).to_csv(other, index=False)
    assert main(["fit", str(log), "--by-epoch", "month", flag, other]) == 2
    assert "--by-epoch refits per period" in capsys.readouterr().err


def test_compare_shows_calibrated_models_and_the_true_baseline(tmp_path, capsys):
    assert main(["--quiet", "simulate", "--journeys", "4000", "--seed", "3", "-o",
                 str(tmp_path / "ev.csv")]) == 0
    lift = tmp_path / "lift.csv"
    pd.DataFrame({"channel": ["web"], "incremental": [50.0], "se": [10.0]}).to_csv(
        lift, index=False)
    capsys.readouterr()
    assert main(["--quiet", "compare", str(tmp_path / "ev.csv"), "-m", "logistic", "-m",
                 "linear", "--experiments", str(lift), "--truth",
                 str(tmp_path / "ev.truth.json")]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[1].split()
    assert header[1:] == ["logistic", "logistic", "(calibrated)", "linear", "TRUTH"]
    from attribution.evaluation.truth import Truth

    true_base = Truth.read_json(tmp_path / "ev.truth.json").shares("channel")["(baseline)"]
    base = next(line for line in out.splitlines() if line.startswith("(baseline)"))
    assert base.split()[-1] == f"{100 * true_base:.1f}%"


def test_by_epoch_with_experiments_calibrates_the_epoch_of_each_test(tmp_path, capsys):
    from attribution.evaluation.simulate import simulate_journeys

    events, _ = simulate_journeys(8_000, random_state=2, span_days=365)
    p = tmp_path / "ev.csv"
    events.to_csv(p, index=False)
    lift = tmp_path / "lift.csv"
    pd.DataFrame({"channel": ["web"], "incremental": [40.0], "se": [5.0],
                  "start": ["2024-04-01"], "end": ["2024-07-01"]}).to_csv(lift, index=False)
    out = tmp_path / "ep.csv"
    assert main(["--quiet", "fit", str(p), "-m", "logistic", "-p", "link=identity",
                 "--by-epoch", "quarter", "--experiments", str(lift), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("experiment:")]
    assert len(lines) == 1 and lines[0].startswith(
        "experiment: logistic, epoch 2024Q2: web measured 40 (se 5);")
    assert "note: logistic: epoch 2024Q2: calibrated to 1 experiment(s)" in err
    assert set(pd.read_csv(out)["epoch"]) >= {"2024Q1", "2024Q2", "2024Q3", "2024Q4"}


def test_by_epoch_on_step_times_says_what_to_do(tmp_path, capsys):
    steps = tmp_path / "steps.csv"
    pd.DataFrame({"user_id": ["u1", "u1", "u2"], "timestamp": [1, 2, 5],
                  "touchpoint": ["a", "b", "b"], "converted": [0, 1, 0]}).to_csv(steps,
                                                                                 index=False)
    assert main(["fit", str(steps), "--time-unit", "step", "--by-epoch", "month"]) == 2
    err = capsys.readouterr().err
    assert "--by-epoch month needs journeys with dates" in err and "boundaries" in err
