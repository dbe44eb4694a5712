
import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.cli import main
from attribution.journeys.validation import InputError, MissingColumnError
from attribution.scale import io, merge, spill
from attribution.scale.batch import fit_file, partition, score_file
from attribution.scale.sink import TableSink
from tests._tol import rtol
from tests.conftest import simulated_log_files

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning")
COLS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint", channel="channel",
            conversion="converted", value="revenue")
KEY = ["journey", "conversion", "position"]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return simulated_log_files(tmp_path_factory.mktemp("log"), 6000, 4, 1, 5000,
                               "events.csv.gz", COLS)


@pytest.mark.parametrize("name", ["events.parquet", "events.csv.gz"])
def test_partitions_never_split_a_journey(log, tmp_path, name):
    d, events, _ = log
    parts = partition(d / name, tmp_path, "user_id", chunk_rows=4000)
    assert len(parts) == int(np.ceil(len(events) / 4000))
    frames = [spill.read_spill(p).to_pandas() for p in parts]
    seen = [set(f["user_id"].astype(str)) for f in frames]
    assert sum(len(s) for s in seen) == events["user_id"].nunique()  # disjoint, complete
    assert sum(len(f) for f in frames) == len(events)
    # every row once, and a person's events in input order
    key = ["user_id", "timestamp"]
    got = pd.concat(frames).astype({"user_id": str}).sort_values(key, kind="stable")
    want = events.astype({"user_id": str}).sort_values(key, kind="stable")
    assert got["revenue"].tolist() == want["revenue"].tolist()


@pytest.mark.parametrize("name", ["linear", "markov", "time_decay", "shapley", "logistic"])
def test_streamed_fit_equals_in_memory(log, name, tmp_path):
    d, _, j = log
    kw = {"logistic": dict(random_state=0), "shapley": dict(value="model", random_state=0)}
    m = fit_file(at.get_model(name, **kw.get(name, {})), d / "events.parquet", tmp_path,
                 chunk_rows=5000, **COLS)
    ref = at.get_model(name, **kw.get(name, {})).fit(j)
    tol = rtol(ref)
    np.testing.assert_allclose(m.credit_[ref.credit_.index], ref.credit_, rtol=tol, atol=tol)
    np.testing.assert_allclose(m.value_credit_[ref.credit_.index], ref.value_credit_,
                               rtol=tol, atol=tol * 100)


@pytest.mark.parametrize("name, fmt, n_jobs", [("linear", "parquet", 2), ("shapley", "csv", 1),
                                               ("markov", "parquet", 1)])
def test_score_file_every_touch_once(log, name, fmt, n_jobs, tmp_path, monkeypatch):
    d, events, j = log
    import attribution.scale.batch as batch

    monkeypatch.setattr(batch, "_ROWS_PER_WORKER", 1000)  # worker processes for small data
    src = d / ("events.parquet" if fmt == "parquet" else "events.csv.gz")
    out = tmp_path / f"scores.{fmt}"
    s = score_file(at.get_model(name), src, out, chunk_rows=5000, n_jobs=n_jobs, **COLS)
    got = pd.read_parquet(out) if fmt == "parquet" else pd.read_csv(out)
    assert not list(tmp_path.glob(".*.tmp"))
    touches = got[got["position"] >= 0]
    conv = j.conversions > 0
    assert len(touches) == j.lengths[conv].sum()  # every touch of a converting journey...
    assert not touches.duplicated(KEY).any()  # ...exactly once
    assert got["credit"].sum() == pytest.approx(j.conversions.sum())
    assert got.groupby("journey")["credit"].sum().to_numpy() == pytest.approx(1.0)
    assert s.journeys == j.n_journeys and s.rows_written == len(got)
    # n_jobs partitions are in memory at once, each about chunk_rows / n_jobs rows
    assert s.partitions == n_jobs * int(np.ceil(len(events) / 5000))
    assert s.conversions_attributed == pytest.approx(j.conversions.sum())
    # the same per-touch credit as in memory (Markov: balanced once on the merged statistic)
    ref = at.get_model(name).fit(j).transform(j)
    a = got.sort_values(KEY).reset_index(drop=True)
    b = ref.sort_values(KEY).reset_index(drop=True)
    assert a["journey"].astype(str).tolist() == b["journey"].astype(str).tolist()
    np.testing.assert_allclose(a["credit"], b["credit"], atol=1e-8)
    np.testing.assert_allclose(a["value_credit"], b["value_credit"], rtol=1e-7, atol=1e-6)


def test_crash_leaves_no_partial_output(log, tmp_path, monkeypatch):
    d, _, _ = log
    out = tmp_path / "scores.parquet"
    import attribution.scale.batch as batch

    def boom(*a, **k):
        raise RuntimeError("disk full")

    written = []
    monkeypatch.setattr(merge, "WRITE_ROWS", 500)  # the output written in several tables

    def crash_after_one(self, frame):  # the disk fills up after the first part is written
        if written:
            boom()
        written.append(len(frame))
        write(self, frame)

    write = TableSink.write
    monkeypatch.setattr(TableSink, "write", crash_after_one)
    work = tmp_path / "work"
    with pytest.raises(RuntimeError, match="disk full"):
        score_file(at.Linear(), d / "events.parquet", out, chunk_rows=5000, workdir=work,
                   **COLS)
    assert written and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["work"] and not list(work.iterdir())
    monkeypatch.setattr(batch, "_score_saved", boom)  # a crash while scoring
    with pytest.raises(RuntimeError):
        score_file(at.Linear(), d / "events.parquet", out, chunk_rows=5000, **COLS)
    assert [p.name for p in tmp_path.iterdir()] == ["work"]


def test_bad_input(tmp_path, log):
    d, events, _ = log
    with pytest.raises(InputError, match="does not exist"):
        score_file(at.Linear(), tmp_path / "nope.parquet", tmp_path / "o.parquet", **COLS)
    with pytest.raises(MissingColumnError, match="'who'"):
        score_file(at.Linear(), d / "events.parquet", tmp_path / "o.parquet",
                   **{**COLS, "journey": "who"})
    bad = events.copy()
    bad.loc[3, "user_id"] = None
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(InputError, match="missing value"):
        score_file(at.Linear(), tmp_path / "bad.parquet", tmp_path / "o.parquet", **COLS)
    with pytest.raises(InputError, match="format"):
        score_file(at.Linear(), d / "events.parquet", tmp_path / "o.xlsx", **COLS)


def test_cli_simulate_score_compare(tmp_path, capsys):
    ev, truth = tmp_path / "ev.parquet", tmp_path / "truth.json"
    assert main(["simulate", "--journeys", "3000", "--seed", "2", "-o", str(ev), "--truth",
                 str(truth)]) == 0
    assert "true top-20% share" in capsys.readouterr().out
    out = tmp_path / "scores.csv"
    assert main(["--quiet", "score", str(ev), "--journey", "user_id", "--value", "revenue",
                 "-m", "linear", "-o", str(out), "--chunk-rows", "4000"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("scored 3,000 journeys") and "conversions attributed" in line
    assert pd.read_csv(out)["credit"].sum() == pytest.approx(pd.read_parquet(ev)["converted"].sum())
    png = tmp_path / "cmp.png"
    assert main(["--quiet", "compare", str(ev), "--journey", "user_id", "-m", "first", "-m",
                 "linear", "--truth", str(truth), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "TRUTH" in text and png.stat().st_size > 5000
    assert main(["score", str(ev), "--journey", "user_id"]) == 2
    assert "needs --output" in capsys.readouterr().err


def test_partitions_without_journeys_are_skipped(tmp_path):
    """A person with only a conversion row leaves a partition with nothing to sessionise."""
    ev = pd.DataFrame({
        "user_id": [1, 1, 2, 3, 3],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01",
                                     "2024-01-04"]),
        "touchpoint": ["a", None, None, "b", "a"],
        "channel": ["web", None, None, "tv", "web"],
        "converted": [0, 1, 1, 0, 1],
        "revenue": [0.0, 10.0, 5.0, 0.0, 7.0],
    })
    src = tmp_path / "ev.parquet"
    ev.to_parquet(src)
    with pytest.warns(at.DroppedDataWarning, match="partitions that make no journey dropped: 1"):
        s = score_file(at.Linear(), src, tmp_path / "o.parquet", chunk_rows=1, **COLS)
    assert s.journeys == 2
    assert s.conversions_attributed == pytest.approx(2.0)


def test_read_once_and_sessionised_once_per_partition(log, tmp_path, monkeypatch):
    d, _, j = log
    import attribution.scale.batch as batch

    reads, sessions = [], []
    stream, sessionise = io.TableStream._batches, batch.journeys_of_frame
    monkeypatch.setattr(io.TableStream, "_batches", lambda s: reads.append(1) or stream(s))
    monkeypatch.setattr(batch, "journeys_of_frame",
                        lambda *a: sessions.append(1) or sessionise(*a))
    s = score_file(at.MarkovChain(), d / "events.csv.gz", tmp_path / "o.parquet",
                   chunk_rows=5000, **COLS)
    assert len(reads) == 1 and len(sessions) == s.partitions > 1


def test_score_a_fitted_model_without_refitting(log, tmp_path):
    d, _, j = log
    model = fit_file(at.MarkovChain(), d / "events.parquet", chunk_rows=7000, **COLS)
    s = score_file(model, d / "events.parquet", tmp_path / "o.csv.gz", chunk_rows=5000,
                   fit=False, **COLS)
    got = pd.read_csv(tmp_path / "o.csv.gz").sort_values(KEY).reset_index(drop=True)
    ref = at.MarkovChain().fit(j).transform(j).sort_values(KEY).reset_index(drop=True)
    assert s.rows_written == len(got) == len(ref)
    np.testing.assert_allclose(got["credit"], ref["credit"], atol=1e-8)
    with pytest.raises(InputError, match="overwritten"):
        score_file(model, d / "events.parquet", d / "events.parquet", fit=False, **COLS)


def test_parquet_directory_with_text_keys(log, tmp_path):
    """A dataset of several files (journey keys as text) gives the in-memory credit."""
    d, events, j = log
    folder = tmp_path / "events"
    folder.mkdir()
    text = events.assign(user_id=events["user_id"].map("u{:05d}".format))
    for i, rows in enumerate(np.array_split(np.arange(len(text)), 3)):
        text.iloc[rows].to_parquet(folder / f"part-{i}.parquet")
    out = tmp_path / "scores.parquet"
    s = score_file(at.MarkovChain(), folder, out, chunk_rows=6000, **COLS)
    got = pd.read_parquet(out).sort_values(KEY).reset_index(drop=True)
    ref = at.MarkovChain().fit(j).transform(j)
    ref = ref.assign(journey=ref["journey"].map("u{:05d}".format))
    ref = ref.sort_values(KEY).reset_index(drop=True)
    assert s.partitions == 5 and got["journey"].tolist() == ref["journey"].tolist()
    np.testing.assert_allclose(got["credit"], ref["credit"], atol=1e-8)
