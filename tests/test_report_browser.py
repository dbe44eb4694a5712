"""The report page in a real browser: Playwright driving the system Chromium (Debian's
``chromium`` package, /usr/bin/chromium; never ``playwright install``).

Skipped where Chromium or Playwright is absent, except in CI (``CI=true``), where a missing
browser fails the test: the page must have been seen in a browser.
"""

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

CHROMIUM_NAMES = ("chromium", "chromium-browser")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _unavailable(why: str):
    if IN_CI:
        pytest.fail(f"CI=true but {why}: the browser test must run in CI "
                    "(apt-get install -y chromium; pip install playwright)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    exe = _chromium()
    if exe is None:
        _unavailable("no system Chromium (chromium) on PATH")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True,
                              args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    from attribution.datasets import load_sample
    from attribution.report import write_report

    j, truth = load_sample(as_journeys=True)
    spend = pd.DataFrame({"channel": ["web", "social", "tv", "email", "audio", "print"],
                          "cost": [4000.0, 2500.0, 9000.0, 500.0, 3000.0, 800.0]})
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, j, models=["last", "linear", "markov", "shapley"], spend=spend,
                 truth=truth, n_boot=5)
    return path


def look(browser, path: Path, shot: Path) -> dict:
    """Open ``path``; console errors, failed requests, each chart's size, the screenshot."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    charts = page.eval_on_selector_all(
        "img, svg",
        """els => els.map(e => {
            const r = e.getBoundingClientRect();
            return {tag: e.tagName, w: r.width, h: r.height,
                    natural: e.tagName === 'IMG' ? e.naturalWidth * e.naturalHeight : 1,
                    complete: e.tagName === 'IMG' ? e.complete : true};
        })""")
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    return dict(errors=errors, requests=requests, charts=charts)


def not_blank(shot: Path) -> bool:
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"), dtype=float) / 255
    return bool(img.std() > 0.05 and (img < 0.9).mean() > 0.02)


def rendered(chart: dict) -> bool:
    return chart["complete"] and chart["natural"] > 0 and chart["w"] > 0 and chart["h"] > 0


def test_report_in_the_browser(browser, report_file, tmp_path):
    seen = look(browser, report_file, tmp_path / "shot.png")
    assert seen["errors"] == []
    assert [u for u in seen["requests"] if not u.startswith(("file:", "data:"))] == []
    assert len(seen["charts"]) == 5  # lengths, credit, ROAS, Lorenz, transitions
    assert all(rendered(c) for c in seen["charts"]), seen["charts"]
    assert not_blank(tmp_path / "shot.png")


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="data:image/svg+xml;base64,bm90IHN2Zw=='
                   '" alt=""><script>console.error("boom")</script></body></html>')
    seen = look(browser, bad, tmp_path / "bad.png")
    assert seen["errors"] == ["boom"]
    assert not rendered(seen["charts"][0])  # "not svg" does not decode
    assert not not_blank(tmp_path / "bad.png")  # a white page


def test_a_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch):
    import tests.test_report_browser as mod

    monkeypatch.setattr(mod, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        mod._unavailable("no system Chromium")
    monkeypatch.setattr(mod, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception):
        mod._unavailable("no system Chromium")
