"""attribution.scale.io: the one reader and writer of table files."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import attribution as at
from attribution.scale import io
from attribution.scale.sink import TableSink


@pytest.fixture
def frame():
    n = 3000
    return pd.DataFrame({
        "user": [f"{i % 700:04d}" for i in range(n)],  # keys with leading zeros stay text
        "when": pd.date_range("2024-01-01", periods=n, freq="min"),
        "tp": np.where(np.arange(n) % 7 == 0, None, "ad"),
        "n": np.arange(n) % 2,
        "value": np.round(np.linspace(0, 10, n), 3),
    })


@pytest.mark.parametrize("name, kind, compression, delimiter", [
    ("a.csv", "csv", None, ","), ("A.CSV", "csv", None, ","), ("a.Csv.Gz", "csv", "gzip", ","),
    ("a.csv.bz2", "csv", "bz2", ","), ("a.csv.xz", "csv", "xz", ","),
    ("a.csv.zst", "csv", "zstd", ","), ("a.TSV", "csv", None, "\t"),
    ("a.tsv.gz", "csv", "gzip", "\t"), ("a.txt", "csv", None, ","),
    ("d.2024.parquet", "parquet", None, ","), ("a.PQ", "parquet", None, ","),
])
def test_detect_format(name, kind, compression, delimiter):
    assert io.detect_format(name) == io.FileFormat(kind, compression, delimiter)


@pytest.mark.parametrize("name", ["a.xlsx", "a.gz", "a.parquet.gz", "csv", "a.json"])
def test_unknown_format_is_one_line_naming_the_file(name):
    with pytest.raises(io.FileFormatError) as err:
        io.detect_format(name, "output")
    msg = str(err.value)
    assert isinstance(err.value, at.InputError) and "\n" not in msg and repr(name) in msg
    assert ".csv" in msg and ".parquet" in msg


def test_a_directory_is_a_parquet_dataset_not_an_output(tmp_path):
    assert io.detect_format(tmp_path).kind == "parquet"
    with pytest.raises(io.FileFormatError, match="is a directory"):
        io.detect_format(tmp_path, "output")


@pytest.mark.parametrize("name", ["t.csv", "T.CSV.GZ", "t.tsv.bz2", "t.csv.xz", "t.csv.zst",
                                  "t.parquet", "t.pq"])
def test_round_trip_and_no_temporary_file_left(frame, tmp_path, name):
    io.write_table(frame, tmp_path / name)
    assert [p.name for p in tmp_path.iterdir()] == [name]
    back = io.read_table(tmp_path / name)
    assert back.shape == frame.shape and list(back.columns) == list(frame.columns)
    np.testing.assert_allclose(back["value"], frame["value"])
    assert io.columns_of(tmp_path / name) == list(frame.columns)
    assert io.count_rows(tmp_path / name) == len(frame)
    stream = io.TableStream(tmp_path / name, ["user", "when", "value"], 1000,
                            {"user": "text", "when": "time", "value": "number"})
    tables = list(stream)
    got = pa.concat_tables(tables).to_pandas()
    assert len(got) == len(frame) and stream.rows_estimate() == len(frame)
    assert got["user"].tolist() == frame["user"].tolist()  # "0007" stays "0007"
    when = got["when"]  # a CSV's date strings stay strings (parsed by from_events)
    if not pd.api.types.is_datetime64_any_dtype(when):
        assert name.lower().split(".")[1] in ("csv", "tsv")
        when = pd.to_datetime(when)
    assert (when.to_numpy() == frame["when"].to_numpy()).all()


def test_stream_has_one_schema_for_the_whole_csv(tmp_path, monkeypatch):
    """Types come from the first block; the roles make later blocks fit (fractional seconds,
    decimals after integers, numeric-looking keys after text keys)."""
    monkeypatch.setattr(io, "BLOCK_BYTES", 1 << 10)
    n = 400
    df = pd.DataFrame({"user": ["u1"] * n, "when": ["2024-01-01 10:00:00"] * n,
                       "value": ["1"] * n, "tp": [""] * n})
    df.loc[n - 1] = ["17", "2024-01-01 10:00:00.250", "2.5", "x"]
    df.to_csv(tmp_path / "e.csv", index=False)
    stream = io.TableStream(tmp_path / "e.csv", None, 10_000,
                            {"user": "text", "when": "time", "value": "number"})
    table = pa.concat_tables(list(stream))
    assert stream.rows_read == n and len(list(stream)) == 1  # blocks gathered into one chunk
    assert table.schema.field("when").type == pa.string()  # read by from_events, one format
    last = table.slice(n - 1).to_pylist()[0]
    assert last["when"] == "2024-01-01 10:00:00.250"
    assert last["user"] == "17" and last["value"] == 2.5 and last["tp"] == "x"
    assert table.column("tp").null_count == n - 1  # empty strings are missing, as in pandas
    bad = df.copy()
    bad.loc[n - 1, "value"] = "lots"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(io.FileReadError) as err:
        list(io.TableStream(tmp_path / "bad.csv", None, 10_000,
                            {"when": "time", "value": "number"}))
    msg = str(err.value)
    assert repr(str(tmp_path / "bad.csv")) in msg and "\n" not in msg and "'lots'" in msg
    assert "first rows" in msg and "Parquet" in msg  # the fix


def test_rows_estimate_before_reading_a_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "BLOCK_BYTES", 1 << 12)
    pd.DataFrame({"a": np.arange(20_000)}).to_csv(tmp_path / "a.csv", index=False)
    stream = io.TableStream(tmp_path / "a.csv")
    assert 10_000 < stream.rows_estimate() < 40_000  # from the first block and its bytes
    assert sum(len(t) for t in stream) == 20_000 and stream.rows_estimate() == 20_000


def test_parquet_directory(frame, tmp_path):
    d = tmp_path / "events"
    d.mkdir()
    frame.iloc[:1000].to_parquet(d / "part-0.parquet")
    frame.iloc[1000:].to_parquet(d / "part-1.parquet")
    assert io.count_rows(d) == len(frame) and io.columns_of(d)[:2] == ["user", "when"]
    assert sum(len(t) for t in io.TableStream(d, ["user"], 700)) == len(frame)
    assert len(io.read_table(d)) == len(frame)
    extra = frame.iloc[:5].astype({"n": "int32"})  # another file, a narrower type: cast
    extra.to_parquet(d / "part-2.parquet")
    got = pa.concat_tables(list(io.TableStream(d, ["user", "n"])))
    assert len(got) == len(frame) + 5 and got.schema.field("n").type == pa.int64()
    frame.iloc[:5].astype({"n": "float64"}).to_parquet(d / "part-3.parquet")  # int, float
    got = pa.concat_tables(list(io.TableStream(d, ["user", "n"])))
    assert got.schema.field("n").type == pa.float64() and got["n"].to_pylist()[:3] == [0, 1, 0]


@pytest.mark.parametrize("bad, error, what", [
    (lambda f: f.drop(columns="n"), at.MissingColumnError, "column 'n' is missing from"),
    (lambda f: f.astype({"n": str}), io.FileReadError, "but int64 in"),
    (lambda f: f.assign(when=f["when"].dt.tz_localize("UTC")), io.FileReadError,
     "tz=UTC] in"),
])
def test_parquet_directory_checks_every_file_before_reading(frame, tmp_path, monkeypatch, bad,
                                                            error, what):
    """A file of a dataset without a column, or with a type that fits no other file's, is
    an error naming that file and the column, before any row of any file is read."""
    d = tmp_path / "events"
    d.mkdir()
    for i in range(3):
        frame.iloc[i * 1000:(i + 1) * 1000].to_parquet(d / f"part-{i}.parquet")
    bad(frame.iloc[:5]).to_parquet(d / "part-9.parquet")  # the last file read
    read = []
    monkeypatch.setattr(io.pq.ParquetFile, "iter_batches", lambda *a, **k: read.append(1))
    with pytest.raises(error) as err:
        io.TableStream(d, ["user", "when", "n"])
    msg = str(err.value)
    assert isinstance(err.value, at.InputError) and "\n" not in msg and not read
    assert what in msg and "part-9.parquet" in msg and "same columns and types" in msg
    io.TableStream(d, ["user", "tp"])  # the columns not read may differ


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(io.FileReadError, match="does not exist"):
        io.read_table(tmp_path / "nope.csv")
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(at.MissingColumnError, match="'b' is missing .* it has a"):
        io.TableStream(tmp_path / "a.csv", ["a", "b"])
    for name, content in [("g.csv.gz", b"not gzip"), ("p.parquet", b"not parquet"),
                          ("e.csv", b"")]:
        (tmp_path / name).write_bytes(content)
        for read in (io.read_table, io.columns_of):
            with pytest.raises(io.FileReadError) as err:
                read(tmp_path / name)
            assert "\n" not in str(err.value) and name in str(err.value)


def test_output_may_not_overwrite_an_input(tmp_path):
    src = tmp_path / "events.csv"
    src.write_text("a\n1\n")
    for out in (src, tmp_path / "." / "events.csv"):
        with pytest.raises(io.SameFileError, match="overwritten"):
            io.check_output(out, src)
    (tmp_path / "link.csv").symlink_to(src)
    with pytest.raises(io.SameFileError):
        io.check_output(tmp_path / "link.csv", src)
    with pytest.raises(io.SameFileError, match="is inside"):
        io.check_output(tmp_path / "scores.parquet", tmp_path)
    io.check_output(tmp_path / "scores.csv", src, None)


@pytest.mark.parametrize("name", ["s.parquet", "s.csv.gz"])
def test_sink_is_atomic(tmp_path, name):
    parts = [pd.DataFrame({"j": [1, 2], "c": pd.Categorical(["a", "b"])}),
             pd.DataFrame({"j": [3], "c": pd.Categorical(["z"])})]
    with pytest.raises(RuntimeError), TableSink(tmp_path / name) as sink:
        sink.write(parts[0])
        raise RuntimeError("crash")
    assert not list(tmp_path.iterdir())
    with TableSink(tmp_path / name) as sink:
        for p in [parts[0].iloc[:0], *parts]:
            sink.write(p)
    assert sink.rows == 3 and [p.name for p in tmp_path.iterdir()] == [name]
    back = io.read_table(tmp_path / name)
    assert back["j"].tolist() == [1, 2, 3] and back["c"].astype(str).tolist() == ["a", "b", "z"]
    with TableSink(tmp_path / name) as sink:  # only empty frames: the columns alone
        sink.write(parts[0].iloc[:0])
    assert list(io.read_table(tmp_path / name).columns) == ["j", "c"]
