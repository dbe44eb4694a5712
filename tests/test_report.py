"""The report page: self-contained, every section there, figures checked by hand."""

import base64
import re
import warnings
import xml.etree.ElementTree as ET
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import attribution as at  # noqa: E402
from attribution.report import _build, _fit, build_report, cli_report, write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# LastTouch on the CA paths (tests/conftest.py): conversions c 3+2+5+2 = 12, b 1+4 = 5,
# a 1, d 0; value c 30+22+60+9 = 121, b 5+41 = 46, a 7.5.
SPEND = pd.DataFrame({"channel": ["a", "b", "c", "e"], "cost": [15.0, 23.0, 60.5, 10.0]})


def images(html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)


@pytest.fixture(scope="module")
def page(request):
    from tests.conftest import CA_PATHS

    j = at.Journeys.from_paths(CA_PATHS, value="total_conversion_value")
    return build_report(j, models=["last", "linear", "markov"], spend=SPEND, n_boot=0,
                        title="CA <paths>")


def test_the_page_is_self_contained(page):
    assert "://" not in page and "//" not in re.sub(r"data:[^\"]*", "", page).replace(
        "<!DOCTYPE html>", "")
    refs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert refs and all(r.startswith(("data:image/svg+xml;base64,", "#")) for r in refs)
    assert "<link" not in page and "<script" not in page and "@import" not in page
    svgs = images(page)
    assert len(svgs) == 5  # lengths, credit, ROAS, Lorenz, transitions
    for uri in svgs:
        svg = base64.b64decode(uri.split(",", 1)[1]).decode()
        root = ET.fromstring(svg)  # well-formed
        assert root.tag.endswith("svg")
        links = re.findall(r'(?:href|url)\s*[=(]\s*"?([^")\s]+)', svg)
        assert all(x.startswith(("#", "data:image/png;base64,")) for x in links), links
    assert "CA &lt;paths&gt;" in page  # escaped


def test_every_section_is_there(page):
    for anchor in ("data", "models", "money", "concentration", "markov", "definitions"):
        assert f'id="{anchor}"' in page
    for name in ("LastTouch", "Linear", "MarkovChain"):
        assert f"<code>{name}</code>" in page
    assert "Last touch: w_L = 1; all credit to the touch just before conversion." in page
    assert "Nothing was dropped" in page


def test_money_figures_by_hand():
    from tests.conftest import CA_PATHS

    j = at.Journeys.from_paths(CA_PATHS, value="total_conversion_value")
    fitted = _fit.fit_models(["last"], j, n_boot=0)
    money = _build.money(fitted, j, SPEND, 0.05)
    rows = {r["entity"]: r for r in money["rows"]}
    assert rows["c"]["roas"][0]["v"] == "2.00"  # 121 / 60.5
    assert rows["b"]["roas"][0]["v"] == "2.00"  # 46 / 23
    assert rows["a"]["roas"][0]["v"] == "0.50"  # 7.5 / 15
    assert rows["c"]["cpa"][0]["v"] == "5.04"  # 60.5 / 12
    assert rows["b"]["cpa"][0]["v"] == "4.60"  # 23 / 5
    assert rows["d"]["status"] == "no spend" and rows["d"]["roas"][0]["v"] == ""
    assert rows["e"]["status"] == "unknown"  # spend for a channel the data never names
    assert not any(e.startswith("(") for e in rows)


def test_concentration_reading():
    # two entities; last touch gives x all the credit, linear splits it evenly
    j = at.Journeys.from_paths(pd.DataFrame({"path": ["y > x"] * 3 + ["x > y"],
                                             "conversions": [1] * 4, "nulls": [0] * 4}),
                               conversions="conversions", nulls="nulls")
    fitted = _fit.fit_models(["last", "linear"], j, n_boot=0)
    rows = {r["model"]: r for r in _build.concentration(fitted, None)["rows"]}
    assert rows["last"]["top"] == "75.0%" and rows["last"]["reading"] == "concentrated"
    # the top 20% of two entities is one: 50% is its even share, not concentration
    assert rows["linear"]["top"] == "50.0%" and rows["linear"]["reading"] == "flat"
    assert _build.reading(0.5, 5 / 21) == "concentrated"
    assert _build.reading(0.49, 5 / 21) == "flat"
    assert rows["last"]["entities"] == "1 of 2"
    flat = _fit.fit_models(["linear"], at.Journeys.from_paths(
        pd.DataFrame({"path": ["a > b > c > d > e > f"], "conversions": [1], "nulls": [0]}),
        conversions="conversions", nulls="nulls"), n_boot=0)
    row = _build.concentration(flat, None)["rows"][0]
    assert row["top"] == f"{2 / 6:.1%}" and row["reading"] == "flat"  # ceil(0.2 * 6) = 2


def test_intervals_truth_and_notes(sample_journeys):
    from attribution.datasets import load_sample

    truth = load_sample().truth
    ctx = _build.context(sample_journeys, models={"lin": "linear", "td": at.TimeDecay()},
                         truth=truth, n_boot=5)
    cmp_ = ctx["comparison"]
    assert cmp_["columns"] == ["lin", "td", "truth"] and cmp_["has_intervals"]
    first = cmp_["rows"][0]["cells"]
    assert re.fullmatch(r"\[\d+\.\d%, \d+\.\d%\]", first[0]["ci"])
    # the truth's share of all expected conversions: incremental credit, and the baseline
    shares = truth.shapley / truth.conversions
    entity = cmp_["rows"][0]["entity"]
    assert first[2]["v"] == f"{shares[entity]:.1%}"
    base = [r for r in cmp_["rows"] if r["entity"] == "(baseline)"][0]["cells"][2]["v"]
    assert base == f"{truth.baseline / truth.conversions:.1%}"
    assert ctx["concentration"]["rows"][-1]["model"] == "truth"
    assert ctx["level"] == "touchpoint" and ctx["markov"]["chart"]


def test_refused_and_timeless_models_are_noted(ca_journeys):
    ctx = _build.context(ca_journeys, models=["linear", "time_decay"], n_boot=0)
    assert [m["label"] for m in ctx["models"]] == ["linear"]
    assert any("time_decay: left out" in n for n in ctx["notes"])
    assert [lbl for lbl, _ in _fit.as_models({"a": "last", "b": "last"})] == ["a", "b"]
    with pytest.raises(at.ParameterError, match="same label"):
        _fit.as_models(["last", "last"])
    with pytest.raises(at.ParameterError, match="not a model name"):
        _fit.as_models([3])


def test_drops_are_reported():
    events = pd.DataFrame({
        "user_id": ["u1", "u1", "u1", "u2", "u2"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01",
                                     "2024-01-02"]),
        "touchpoint": ["a", None, None, "b", None], "converted": [0, 0, 1, 0, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        j = at.Journeys.from_events(events, journey="user_id", time="timestamp",
                                    touchpoint="touchpoint", conversion="converted")
    summary = _build.data_summary(j)
    lost = summary["dropped"]
    assert lost and lost[0]["count"] == "1" and "dropped" in lost[0]["item"]
    html = build_report(j, models=["last"], n_boot=0)
    assert 'class="lost"' in html and "Nothing was dropped" not in html


def test_write_and_cli_report(ca_journeys, tmp_path):
    out = write_report(tmp_path / "r.html", ca_journeys, models=["first"], n_boot=0)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    spend = tmp_path / "spend.csv"
    SPEND.to_csv(spend, index=False)
    got = cli_report(ca_journeys, ["last"], str(spend), tmp_path / "sub" / "c.html", n_boot=0)
    html = got.read_text(encoding="utf-8")
    assert 'id="money"' in html and list((tmp_path / "sub").iterdir()) == [got]
    with pytest.raises(at.UnknownModelError):  # nothing written on error
        cli_report(ca_journeys, ["nope"], None, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "spend.csv", "sub"]


def test_same_input_same_bytes(ca_journeys):
    a = build_report(ca_journeys, models=["last"], n_boot=0)
    assert a == build_report(ca_journeys, models=["last"], n_boot=0)


def test_template_is_package_data():
    """The installed package carries the template: pyproject's package-data globs match every
    file under attribution/report/templates, and the loader finds it by package name.
    """
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = conf["tool"]["setuptools"]["package-data"]["attribution.report"]
    base = ROOT / "attribution" / "report"
    files = [p.relative_to(base).as_posix() for p in (base / "templates").rglob("*")
             if p.is_file()]
    assert files and all(any(fnmatch(f, g) for g in globs) for f in files)
    from importlib import resources

    assert resources.files("attribution.report").joinpath("templates/report.html.j2").is_file()


def test_auto_link_is_chosen_once_for_the_bootstrap(sample_journeys):
    """A link="auto" model's replicates refit with the link it picks on the full data (the
    page notes it); without a bootstrap it keeps "auto"."""
    fitted = _fit.fit_models({"lr": at.Logistic()}, sample_journeys, n_boot=3)
    chosen = at.Logistic().fit(sample_journeys).link_
    assert fitted.estimators["lr"].get_params()["link"] == chosen
    assert any(f"link chosen once on the full data by held-out log-loss ({chosen})" in n
               for n in fitted.notes)
    plain = _fit.fit_models({"lr": at.Logistic()}, sample_journeys, n_boot=0)
    assert plain.estimators["lr"].get_params()["link"] == "auto"


def test_rank_uncertainty_from_the_bootstrap(sample_journeys):
    """P(top 20%) per entity and model, and the pairwise orders of the last model: each pair's
    two probabilities sum to 1 (no ties in continuous credit)."""
    fitted = _fit.fit_models(["linear", "last"], sample_journeys, n_boot=10)
    r = _build.ranks(fitted)
    assert r["columns"] == ["linear", "last"] and r["pair_model"] == "last"
    share = {row["entity"]: row["cells"] for row in r["rows"]}
    assert set(share) == set(fitted.estimators["linear"].result_.names)
    want = fitted.estimators["linear"].result_.rank_probabilities().set_index("entity")["p_top"]
    for e, p in want.items():
        assert share[e][0] == f"{p:.0%}"
    pw = fitted.estimators["last"].result_.pairwise_order(top=6)
    assert len(r["pair_rows"]) == 6
    a, b = pw.index[0], pw.index[1]
    assert pw.loc[a, b] + pw.loc[b, a] == pytest.approx(1.0)
    assert _build.ranks(_fit.fit_models(["linear"], sample_journeys, n_boot=0)) is None
    html = build_report(sample_journeys, models=["linear"], n_boot=5)
    assert "How sure is the ranking?" in html
