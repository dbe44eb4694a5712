"""``attribution demo`` (attribution.datasets.demo.run_demo): its tables against the sample's
totals and truth, the files it writes, and the report writer it is handed."""

import pandas as pd
import pytest

from attribution.datasets import load_sample
from attribution.datasets.demo import BASELINE, TRUTH, demo_models, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    calls, lines = [], []
    result = run_demo(out, write_report=lambda path, **kw: calls.append((path, kw)),
                      echo=lines.append)
    return result, out, calls, "\n".join(lines)


def test_every_model_credits_all_conversions(demo):
    result, *_ = demo
    channels = result["channels"]
    conversions = result["journeys"].conversions.sum()
    for label in demo_models():
        assert channels[label].sum() == pytest.approx(conversions, rel=1e-9), label
    truth = load_sample().truth
    assert channels[TRUTH].sum() == pytest.approx(truth.conversions)
    assert channels.loc[BASELINE, TRUTH] == pytest.approx(truth.baseline)
    assert channels.index[-1] == BASELINE
    # heuristics have no baseline; the incremental learned models set one aside
    assert (channels.loc[BASELINE, ["first", "last", "linear", "position", "time_decay",
                                    "markov"]] == 0).all()
    assert (channels.loc[BASELINE, ["shapley", "logistic"]] > 0).all()


def test_accuracy_is_sorted_and_the_learned_model_wins(demo):
    result, *_ = demo
    acc = result["accuracy"]
    assert list(acc["tv_distance"]) == sorted(acc["tv_distance"])
    assert set(acc.index) == set(demo_models())
    # on a noisy-OR world the logistic value model is far closer than any heuristic
    assert acc.loc["logistic", "tv_distance"] < 0.5 * acc.loc["last", "tv_distance"]


def test_files_report_and_next_steps(demo):
    result, out, calls, text = demo
    saved = pd.read_csv(out / "channels.csv", index_col="channel")
    pd.testing.assert_frame_equal(saved, result["channels"], check_names=False)
    assert len(calls) == 1
    path, kw = calls[0]
    assert path == out / "report.html" == result["report"]
    assert kw["models"] is result["models"] and kw["truth"] is result["truth"]
    assert "Where to look next" in text and str(path) in text and "attribution --help" in text


def test_no_report_writer_no_page(tmp_path):
    result = run_demo(tmp_path, echo=lambda s: None)
    assert result["report"] is None and not (tmp_path / "report.html").exists()
    assert (tmp_path / "accuracy.csv").exists()
