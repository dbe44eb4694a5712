"""The analyst's command line: ``fit --spend`` (CPA and ROAS, hand-computed), ``fit --by``
(credit per period of conversion), bootstrap rank probabilities, and ``attribution report``.
"""

import re

import pandas as pd
import pytest

from attribution.cli import main


@pytest.fixture
def log(tmp_path):
    """Two converting journeys, hand-checkable with the linear model:
    u1: a, b, then converts (value 10) in January; u2: b, then converts (value 20) in February.
    Linear: a 0.5, b 1.5 conversions; value a 5, b 5 + 20 = 25. A third journey never converts.
    """
    rows = [("u1", "2024-01-03 10:00", "a", 0, 0.0), ("u1", "2024-01-04 10:00", "b", 0, 0.0),
            ("u1", "2024-01-05 10:00", "", 1, 10.0),
            ("u2", "2024-02-10 09:00", "b", 0, 0.0), ("u2", "2024-02-11 09:00", "", 1, 20.0),
            ("u3", "2024-02-12 09:00", "a", 0, 0.0)]
    p = tmp_path / "ev.csv"
    pd.DataFrame(rows, columns=["user_id", "timestamp", "touchpoint", "converted",
                                "revenue"]).to_csv(p, index=False)
    return p


def _spend(tmp_path, rows, columns=("touchpoint", "cost")):
    p = tmp_path / "spend.csv"
    pd.DataFrame(rows, columns=list(columns)).to_csv(p, index=False)
    return str(p)


def test_fit_spend_gives_hand_computed_cpa_and_roas(log, tmp_path):
    spend = _spend(tmp_path, [("a", 10.0), ("b", 30.0), ("c", 7.0)])
    out = tmp_path / "eff.csv"
    assert main(["--quiet", "fit", str(log), "-m", "linear", "--spend", spend,
                 "-o", str(out)]) == 0
    eff = pd.read_csv(out).set_index("entity")
    assert eff.loc["a", "cpa"] == pytest.approx(10 / 0.5)
    assert eff.loc["b", "cpa"] == pytest.approx(30 / 1.5)
    assert eff.loc["a", "roas"] == pytest.approx(5 / 10)
    assert eff.loc["b", "roas"] == pytest.approx(25 / 30)
    # spend without credit is listed, not dropped
    assert eff.loc["c", "cost"] == 7.0 and eff.loc["c", "status"] != "ok"


def test_fit_spend_on_the_terminal_is_for_people(log, tmp_path, capsys):
    spend = _spend(tmp_path, [("a", 1000.0), ("b", 3000.0)])
    assert main(["--quiet", "fit", str(log), "-m", "linear", "-m", "first",
                 "--spend", spend]) == 0
    out = capsys.readouterr().out
    assert "cpa" in out and "roas" in out and "3,000" in out
    assert re.search(r"^first\s+a\s", out, re.M) and re.search(r"^linear\s+b\s", out, re.M)


def test_fit_by_month_buckets_credit_by_conversion_time(log, tmp_path):
    out = tmp_path / "months.csv"
    assert main(["--quiet", "fit", str(log), "-m", "linear", "--by", "month",
                 "-o", str(out)]) == 0
    got = pd.read_csv(out).set_index(["period", "entity"])["conversions"]
    # u1 converts in January (a 0.5, b 0.5), u2 in February (b 1)
    assert got.to_dict() == pytest.approx({("2024-01", "a"): 0.5, ("2024-01", "b"): 0.5,
                                           ("2024-02", "b"): 1.0})


def test_by_and_spend_together_is_one_line_error(log, tmp_path, capsys):
    spend = _spend(tmp_path, [("a", 1.0)])
    assert main(["fit", str(log), "--by", "week", "--spend", spend]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--by" in err[0] and "--spend" in err[0]


def test_missing_spend_file_fails_before_fitting(log, capsys):
    assert main(["fit", str(log), "--spend", "nope.csv"]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_bootstrap_adds_rank_probabilities(tmp_path, sample_events):
    src = tmp_path / "ev.csv"
    sample_events.to_csv(src, index=False)
    out = tmp_path / "ci.csv"
    assert main(["--quiet", "fit", str(src), "-m", "linear", "--level", "channel",
                 "--n-boot", "20", "-o", str(out)]) == 0
    ci = pd.read_csv(out)
    p = ci["p_top20"].dropna()
    assert len(p) >= 2 and p.between(0, 1).all()
    # the top 20% of channels holds ceil(0.2 n) of them in every replicate
    n = len(p)
    assert p.sum() == pytest.approx(max(1, -(-2 * n // 10)), abs=1e-9)


def test_report_command_writes_a_self_contained_page(log, tmp_path, capsys):
    spend = _spend(tmp_path, [("a", 10.0), ("b", 30.0)])
    page = tmp_path / "r.html"
    assert main(["--quiet", "report", str(log), "-o", str(page), "--spend", spend,
                 "-m", "linear", "-m", "last", "--n-boot", "0"]) == 0
    html = page.read_text()
    assert f"wrote {page}" in capsys.readouterr().out
    assert "<html" in html and "ROAS" in html.upper()
    assert not re.search(r"""(src|href)=["']https?://""", html)  # no network


def test_report_refuses_an_existing_input_as_output(log, capsys):
    assert main(["report", str(log), "-o", str(log)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def _linear(log):
    import attribution as at

    j = at.Journeys.from_events(pd.read_csv(log), journey="user_id", time="timestamp",
                                touchpoint="touchpoint", conversion="converted",
                                value="revenue")
    return j, at.Linear().fit(j)


def test_spend_names_differing_in_case_warn_naming_the_pair(log):
    import attribution as at

    _, m = _linear(log)
    spend = pd.DataFrame({"touchpoint": ["A", "b"], "cost": [1.0, 2.0]})
    with pytest.warns(at.AttributionWarning, match="'A' ~ 'a'"):
        eff = m.result_.efficiency(spend)
    assert eff.set_index("entity").loc["A", "status"] == "unknown"


def test_spend_periods_that_meet_no_conversion_warn(log):
    import attribution as at

    j, m = _linear(log)
    spend = pd.DataFrame({"touchpoint": ["a", "b"], "period": ["2024-01-01", "2024-02-01"],
                          "cost": [1.0, 2.0]})  # month starts, read as days
    with pytest.warns(at.AttributionWarning, match="read as days"):
        m.result_.efficiency(spend, touches=m.transform(j))
    monthly = spend.assign(period=["2024-01", "2024-02"])
    eff = m.result_.efficiency(monthly, touches=m.transform(j)).set_index(["period", "entity"])
    assert eff["status"].value_counts()["ok"] >= 1


def test_roas_is_missing_not_zero_without_value(log):
    import attribution as at

    j = at.Journeys.from_events(pd.read_csv(log), journey="user_id", time="timestamp",
                                touchpoint="touchpoint", conversion="converted")
    eff = at.Linear().fit(j).result_.efficiency(
        pd.DataFrame({"touchpoint": ["a", "b"], "cost": [1.0, 2.0]})).set_index("entity")
    assert eff["roas"].isna().all() and eff.loc["a", "cpa"] == pytest.approx(2.0)
