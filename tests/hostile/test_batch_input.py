"""Hostile inputs of batch scoring (score_file): time columns of every kind read with one
format and shown in one zone whatever the partitions, Parquet datasets whose files disagree,
tiny ``chunk_rows`` (bounded open files), CSV column types that drift between blocks, and
outputs named in upper case or naming the input. Errors are AttributionErrors on one line
naming the file, column or parameter.
"""

import hashlib
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
import attribution.scale.batch as batch
from attribution.scale import io, spill
from attribution.scale.batch import score_file
from tests.test_batch_invariance import COLS, KEY, make_events

pytestmark = pytest.mark.filterwarnings("ignore::attribution.AttributionWarning",
                                        "ignore::attribution.DroppedDataWarning")


def in_memory(ev, model=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = at.Journeys.from_events(ev, **COLS, **kw)
        out = (model or at.Linear()).fit(j).transform(j)
    return out.sort_values(KEY).reset_index(drop=True)


def scored(src, out, model=None, **kw):
    score_file(model or at.Linear(), src, out, **COLS, **kw)
    return io.read_table(out)


# ---------------------------------------------------------------- times (item 3)
def _paris(t):
    return t.dt.tz_localize("Europe/Paris", ambiguous="NaT", nonexistent="NaT")


def _times(case, ev):
    """(events, options of the call, zone of the output, file format) of one case."""
    t = ev["timestamp"]
    if case == "dayfirst":  # most dates also read month-first: only some rows tell
        return ev.assign(timestamp=t.dt.strftime("%d/%m/%Y %H:%M")), {}, None, "csv"
    if case == "mixed_offsets":  # a daylight-saving change: +01:00 then +02:00
        return (ev.assign(timestamp=_paris(t).dt.strftime("%Y-%m-%dT%H:%M:%S%z")), {}, "UTC",
                "csv")
    if case == "one_offset":
        return ev.assign(timestamp=t.dt.strftime("%Y-%m-%d %H:%M:%S+01:00")), {}, "+01:00", "csv"
    if case == "aware":
        return ev.assign(timestamp=_paris(t)), {}, "Europe/Paris", "parquet"
    if case == "tz":
        return (ev.assign(timestamp=t.dt.strftime("%Y-%m-%d %H:%M")), dict(tz="Asia/Tokyo"),
                "Asia/Tokyo", "csv")
    if case == "epoch":
        return ev.assign(timestamp=t.astype("int64") // 10**9), dict(time_unit="s"), "UTC", \
            "parquet"
    return ev.assign(timestamp=t.rank(method="dense").astype("int64")), \
        dict(time_unit="step"), None, "csv"


@pytest.mark.parametrize("case", ["dayfirst", "mixed_offsets", "one_offset", "aware", "tz",
                                  "epoch", "steps"])
def test_times_read_with_one_format_shown_in_one_zone(case, tmp_path):
    """Every partition reads the times as the whole input in memory does (the format
    inferred once, ``time_unit`` and ``tz`` passed on); the output is the same file for 3 and
    for 10**6 rows per partition, its times in the input's zone."""
    ev = make_events(150, 11)
    ev = ev.assign(timestamp=ev["timestamp"] + pd.to_timedelta(ev["user_id"] * 2, "D"))
    ev = ev[_paris(ev["timestamp"]).notna()]  # no wall-clock time of a DST change
    ev, kw, zone, fmt = _times(case, ev.sample(frac=1, random_state=0).reset_index(drop=True))
    src = tmp_path / f"ev.{fmt}"
    ev.to_parquet(src) if fmt == "parquet" else ev.to_csv(src, index=False)
    many = scored(src, tmp_path / "a.parquet", chunk_rows=3, **kw)
    one = scored(src, tmp_path / "b.parquet", chunk_rows=10**6, **kw)
    pd.testing.assert_frame_equal(many, one, check_exact=False, rtol=1e-12)
    ref_kw = dict(time_format="%d/%m/%Y %H:%M") if case == "dayfirst" else kw
    want = in_memory(io.read_table(src), **ref_kw)
    got = many.assign(journey=many["journey"].astype(np.int64)).sort_values(KEY)
    got = got.reset_index(drop=True)
    assert got["journey"].tolist() == want["journey"].tolist()
    assert got["position"].tolist() == want["position"].tolist()
    np.testing.assert_allclose(got["credit"], want["credit"], rtol=1e-12)
    if zone is None:  # naive datetimes, or steps (integers)
        assert getattr(got["time"].dtype, "tz", None) is None
    else:
        assert pd.Timestamp("2024-06-01", tz=got["time"].dt.tz).utcoffset() == \
            pd.Timestamp("2024-06-01", tz=zone).utcoffset()
    assert (got["time"].isna() == want["time"].isna()).all()
    assert (got["time"].dropna() == want["time"].dropna()).all()  # the same instants


def test_ambiguous_dates_need_a_format(tmp_path):
    """Dates that read both day-first and month-first in the first block: one error naming the
    column and the two formats, not a guess per partition."""
    ev = make_events(30, 2)
    t = ev["timestamp"]
    t = pd.to_datetime(dict(year=t.dt.year, month=t.dt.month, day=1 + t.dt.day % 12,
                            hour=t.dt.hour, minute=t.dt.minute))
    ev["timestamp"] = t.dt.strftime("%m/%d/%Y %H:%M")
    ev.to_csv(tmp_path / "ev.csv", index=False)
    with pytest.raises(at.InputError) as err:
        score_file(at.Linear(), tmp_path / "ev.csv", tmp_path / "o.csv", chunk_rows=5, **COLS)
    msg = str(err.value)
    assert "'timestamp'" in msg and "time_format=" in msg and "\n" not in msg
    s = score_file(at.Linear(), tmp_path / "ev.csv", tmp_path / "o.csv", chunk_rows=5,
                   time_format="%m/%d/%Y %H:%M", **COLS)
    assert s.rows_written > 0


# ---------------------------------------------------------------- Parquet datasets (item 6)
def test_dataset_file_without_a_column_fails_before_any_row_is_read(tmp_path, monkeypatch):
    ev = make_events(60, 4)
    d = tmp_path / "events"
    d.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(ev)), 3)):
        part = ev.iloc[rows]
        (part.drop(columns="revenue") if i == 2 else part).to_parquet(d / f"part-{i}.parquet")
    spilled = []
    monkeypatch.setattr(spill.SpillWriter, "write", lambda *a: spilled.append(1))
    with pytest.raises(at.MissingColumnError) as err:
        score_file(at.Linear(), d, tmp_path / "o.parquet", **COLS)
    msg = str(err.value)
    assert "'revenue'" in msg and "part-2.parquet" in msg and "\n" not in msg and not spilled


# ---------------------------------------------------------------- tiny chunks (item 12)
def test_spill_writer_keeps_few_files_open(tmp_path):
    fds = []
    w = spill.SpillWriter(tmp_path, buffer_rows=40, max_open=3)
    import pyarrow as pa

    base = len(os.listdir("/proc/self/fd"))
    for i in range(500):  # 50 parts, interleaved
        w.write(i % 50, pa.table({"i": [i]}))
        fds.append(len(os.listdir("/proc/self/fd")) - base)
    paths = w.close()
    assert len(paths) == 50 and max(fds) <= 3
    assert len(os.listdir("/proc/self/fd")) == base  # every file closed
    for k in (0, 1, 49):  # every row once, in the order written
        assert spill.read_spill(paths[k])["i"].to_pylist() == list(range(k, 500, 50))


def test_tiny_chunk_rows_under_a_low_open_file_limit(tmp_path):
    """A partition per 10 rows (hundreds of spill files and runs) under a limit of 80 more
    open files than the interpreter has: it runs, with the output of one partition."""
    ev = make_events(600, 8)
    ev.to_parquet(tmp_path / "ev.parquet")
    code = textwrap.dedent(f"""
        import os, resource, warnings
        warnings.simplefilter("ignore")
        import attribution as at
        from attribution.scale.batch import score_file
        base = len(os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (base + 80, base + 80))
        s = score_file(at.Linear(), {str(tmp_path / "ev.parquet")!r},
                       {str(tmp_path / "many.parquet")!r}, chunk_rows=10, n_jobs=1, **{COLS!r})
        print(s.partitions)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.getcwd(), timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert int(run.stdout.split()[-1]) > 3 * 64
    want = scored(tmp_path / "ev.parquet", tmp_path / "one.parquet", chunk_rows=10**6)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "many.parquet"), want)


# ---------------------------------------------------------------- CSV types drift (item 14)
def test_csv_types_that_drift_after_the_first_block(tmp_path, monkeypatch):
    """Journey keys numbers then text, values integers then decimals, touchpoints numbers
    then names: the whole file is read with one schema (labels as text, numbers as floats),
    as pandas reads it whole."""
    monkeypatch.setattr(io, "BLOCK_BYTES", 1 << 12)  # the first block: a hundred rows
    ev = make_events(300, 6)
    late = ev["user_id"] >= 150
    ev["user_id"] = ev["user_id"].astype(str).where(~late, "u" + ev["user_id"].astype(str))
    codes = {tp: str(i) for i, tp in enumerate(sorted(ev["touchpoint"].dropna().unique()))}
    ev["touchpoint"] = ev["touchpoint"].where(late, ev["touchpoint"].map(codes))
    ev["revenue"] = ev["revenue"].where(late, ev["revenue"].round())
    ev.to_csv(tmp_path / "ev.csv", index=False)
    assert str(io.TableStream(tmp_path / "ev.csv")._types["touchpoint"]) == "int64"  # sniffed
    got = scored(tmp_path / "ev.csv", tmp_path / "o.parquet", chunk_rows=50)
    want = in_memory(pd.read_csv(tmp_path / "ev.csv"))
    assert got["journey"].tolist() == want["journey"].tolist()
    assert got["touchpoint"].tolist() == want["touchpoint"].astype(str).tolist()
    np.testing.assert_allclose(got["credit"], want["credit"], rtol=1e-12)
    np.testing.assert_allclose(got["value_credit"], want["value_credit"], rtol=1e-12)


# ---------------------------------------------------------------- outputs (item 16)
@pytest.mark.parametrize("name, magic", [("OUT.CSV.GZ", b"\x1f\x8b"), ("Out.Csv", b"journey"),
                                         ("OUT.PARQUET", b"PAR1")])
def test_output_format_from_its_name_in_any_case(tmp_path, name, magic):
    make_events(40, 1).to_parquet(tmp_path / "ev.parquet")
    score_file(at.Linear(), tmp_path / "ev.parquet", tmp_path / name, **COLS)
    assert (tmp_path / name).read_bytes()[:len(magic)] == magic
    assert len(io.read_table(tmp_path / name)) > 0


def _digest(path):
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    return [hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()]


@pytest.mark.parametrize("case", ["same", "dotted", "symlink", "inside_dataset"])
def test_output_that_is_the_input_is_refused_before_any_work(tmp_path, monkeypatch, case):
    ev = make_events(40, 1)
    if case == "inside_dataset":
        src = tmp_path / "events"
        src.mkdir()
        ev.to_parquet(src / "part-0.parquet")
        out = src / "scores.parquet"
    else:
        src = tmp_path / "ev.csv"
        ev.to_csv(src, index=False)
        out = {"same": src, "dotted": tmp_path / "." / "ev.csv",
               "symlink": tmp_path / "link.csv"}[case]
        if case == "symlink":
            out.symlink_to(src)
    before = _digest(src)
    read = []
    monkeypatch.setattr(batch, "partition", lambda *a, **k: read.append(1))
    with pytest.raises(at.InputError) as err:
        score_file(at.Linear(), src, out, **COLS)
    msg = str(err.value)
    assert "overwritten" in msg and "another path" in msg and "\n" not in msg
    assert not read and _digest(src) == before
    assert not (case == "inside_dataset" and out.exists())
