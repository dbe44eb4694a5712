"""The one reader and writer of table files, for batch scoring and every CLI command.

:func:`detect_format` is the one place that tells a file's format from its name
(case-insensitive): ``.csv``/``.txt``/``.tsv``, optionally ``.gz``/``.bz2``/``.xz``/``.zst``,
``.parquet``/``.pq``, or a directory of Parquet files. :func:`read_table` reads a whole table;
:class:`TableStream` reads one once, in chunks (Parquet a row group at a time, file by file;
CSV through pyarrow's streaming reader, one schema for the whole file). Outputs go through a
temporary file renamed at the end (:func:`atomic_path`, :func:`write_table`,
:class:`~attribution.scale.sink.TableSink`) and may not overwrite an input
(:func:`check_output`). Errors are
:class:`~attribution.InputError` on one line naming the file and the fix.
"""

from __future__ import annotations

import functools
import io
import lzma
import math
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from attribution.journeys.validation import InputError, MissingColumnError
from attribution.scale.spill import (  # noqa: F401 - spill files were io's
    SpillWriter,
    load_pickle,
    read_spill,
    save_pickle,
)

_COMPRESSION = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd",
                ".zstd": "zstd"}
_CSV = {".csv": ",", ".txt": ",", ".tsv": "\t"}
_PARQUET = (".parquet", ".pq")
_KNOWN = ".csv, .csv.gz (.bz2, .xz, .zst), .tsv or .parquet"
#: bytes of CSV text per block: the first block is the sample the column types come from
BLOCK_BYTES = 8 << 20
_STREAM_FIX = {"csv": "a column's type is inferred from the first rows: give all its values "
               "that type, or convert the file to Parquet",
               "parquet": "give every file of the dataset the same columns and types"}
_READ_ERRORS = (pa.ArrowException, OSError, ValueError, KeyError, EOFError, lzma.LZMAError)


class FileFormatError(InputError):
    """The name of a file does not say a format this module reads or writes."""


class FileReadError(InputError):
    """A file is missing or cannot be read as its name says."""


class FileWriteError(InputError):
    """An output that cannot be written (a folder without write access, a file in the way)."""


class SameFileError(InputError):
    """An output path is one of the inputs (it would be overwritten while it is read)."""


@dataclass(frozen=True)
class FileFormat:
    """What :func:`detect_format` found (``kind`` is "csv" or "parquet")."""

    kind: str
    compression: str | None = None
    delimiter: str = ","


def _name(path) -> str:
    return repr(str(path))


def detect_format(path, role: str = "input") -> FileFormat:
    """The format of ``path`` from its name, case-insensitive (module doc); an existing
    directory is a Parquet dataset when ``role`` is "input". Raises :class:`FileFormatError`.
    """
    p = Path(path)
    if p.is_dir():
        if role == "input":
            return FileFormat("parquet")
        raise FileFormatError(f"{role} {_name(path)} is a directory; name a file ({_KNOWN})")
    suffixes = [s.lower() for s in p.suffixes]
    compression = _COMPRESSION.get(suffixes[-1]) if suffixes else None
    last = (suffixes[:-1] if compression else suffixes)[-1:] or [""]
    if last[0] in _CSV:
        if compression not in (None, "xz") and not pa.Codec.is_available(compression):
            raise FileFormatError(f"{role} {_name(path)}: this pyarrow cannot read "
                                  f"{compression}; decompress the file or use .csv.gz")
        return FileFormat("csv", compression, _CSV[last[0]])
    if last[0] in _PARQUET and compression is None:
        return FileFormat("parquet")
    raise FileFormatError(f"cannot tell the format of {role} {_name(path)}: name it {_KNOWN}"
                          + (", or give a directory of Parquet files" if role == "input"
                             else ""))


def _existing(path) -> FileFormat:
    if not Path(path).exists():
        raise FileReadError(f"input {_name(path)} does not exist; check the path")
    return detect_format(path, "input")


def _unreadable(path, fmt: FileFormat, exc, fix: str = "") -> FileReadError:
    kind, why = ("Parquet" if fmt.kind == "parquet" else "CSV"), " ".join(str(exc).split())
    return FileReadError(f"could not read {_name(path)} as {kind}: {why[:300]}; "
                         + (fix or f"check that it is a {kind} file or rename it"))


@contextmanager
def _opened(path, fmt: FileFormat):
    """The file, decompressed, and the raw file (whose position is the bytes read)."""
    with open(path, "rb") if fmt.compression == "xz" else pa.OSFile(str(path)) as raw:
        yield (lzma.open(raw) if fmt.compression == "xz" else raw if not fmt.compression
               else pa.CompressedInputStream(raw, fmt.compression)), raw


def _csv_options(fmt: FileFormat, columns=None, types=None):
    convert = pacsv.ConvertOptions(include_columns=columns, column_types=types,
                                   strings_can_be_null=True)  # "" and "NA" missing, as pandas
    return dict(read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES), convert_options=convert,
                parse_options=pacsv.ParseOptions(delimiter=fmt.delimiter))


@functools.lru_cache(maxsize=16)
def _sniff(path: str, fmt: FileFormat, size: int, mtime: int):
    with _opened(path, fmt) as (stream, raw):
        head = stream.read(BLOCK_BYTES)
        disk = raw.tell()
    whole = len(head) < BLOCK_BYTES
    head = head if whole else head[: head.rfind(b"\n") + 1] or head  # whole rows
    table = pacsv.read_csv(pa.BufferReader(head), **_csv_options(fmt))
    return table.schema, table.num_rows if whole else math.ceil(table.num_rows * size / disk)


def _csv_schema(path, fmt: FileFormat):
    """The schema pyarrow infers from the first block of a CSV, and the file's rows: exact
    when it is one block, else extrapolated from the bytes read from disk for that block.
    """
    st = os.stat(path)
    try:
        return _sniff(str(path), fmt, st.st_size, st.st_mtime_ns)
    except _READ_ERRORS as exc:
        raise _unreadable(path, fmt, exc) from exc


def _dataset(path, fmt: FileFormat):
    try:
        dataset = ds.dataset(str(path), format="parquet")
    except _READ_ERRORS as exc:
        raise _unreadable(path, fmt, exc) from exc
    if not dataset.files:
        raise FileReadError(f"{_name(path)} holds no Parquet file; point at a folder of "
                            ".parquet files or at one file")
    return dataset


def _common_type(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The type both ``a`` and ``b`` are read as (int and float as float, ...); raises
    ``pa.ArrowTypeError`` when there is none.
    """
    if a.equals(b):
        return a  # (dictionary-encoded columns stay so)
    a, b = (t.value_type if pa.types.is_dictionary(t) else t for t in (a, b))
    return pa.unify_schemas([pa.schema([("x", a)]), pa.schema([("x", b)])],
                            promote_options="permissive").field("x").type


def _parquet_schema(path, dataset, columns) -> pa.Schema:
    """The schema every file of a Parquet dataset is read with, from the metadata of each file
    before any row is read: a file without one of ``columns`` (default: the first file's), or
    with a type that does not fit the others, is an error naming the file and the column.
    """
    names, fields, first = columns or dataset.schema.names, {}, {}
    for file in dataset.files:
        try:
            schema = pq.read_schema(file)
        except _READ_ERRORS as exc:
            raise _unreadable(file, FileFormat("parquet"), exc) from exc
        for c in names:
            if c not in schema.names:
                raise MissingColumnError(
                    f"column {c!r} is missing from {_name(file)} (a file of {_name(path)}), "
                    f"which has {', '.join(schema.names)}; {_STREAM_FIX['parquet']}")
            t = schema.field(c).type
            try:
                fields[c] = _common_type(fields.get(c, t), t)
            except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
                raise FileReadError(
                    f"column {c!r} is {t} in {_name(file)} but {first[c][1]} in "
                    f"{_name(first[c][0])} (files of {_name(path)}); "
                    f"{_STREAM_FIX['parquet']}") from exc
            first.setdefault(c, (file, t))
    return pa.schema([(c, fields[c]) for c in names])


def columns_of(path) -> list[str]:
    """Column names of a table file, from the Parquet metadata (of a dataset's first file) or
    the CSV header.
    """
    fmt = _existing(path)
    if fmt.kind == "parquet":
        return list(_dataset(path, fmt).schema.names)
    return TableStream(path).names


def count_rows(path) -> int:
    """Rows of a table file: from the metadata of Parquet, by parsing a CSV (one pass)."""
    fmt = _existing(path)
    if fmt.kind == "parquet":
        return _dataset(path, fmt).count_rows()
    return sum(t.num_rows for t in TableStream(path, columns_of(path)[:1], 1 << 22))


def read_table(path) -> pd.DataFrame:
    """A whole table file as pandas (CSV types inferred by pandas, as ``pandas.read_csv``)."""
    fmt = _existing(path)
    TableStream(path)  # names checked (and a Parquet folder's files) before reading
    try:
        if fmt.kind == "parquet":
            return pd.read_parquet(path)
        with _opened(path, fmt) as (stream, _):
            return pd.read_csv(stream, sep=fmt.delimiter)
    except _READ_ERRORS as exc:
        raise _unreadable(path, fmt, exc) from exc


def _stream_type(t: pa.DataType, kind: str | None) -> pa.DataType:
    """A CSV column's type in every block: inferred from the first block, but "text" is
    always a string, a "number" a float; "time" strings that pyarrow reads as dates stay
    strings, parsed by ``Journeys.from_events`` with one format for the whole file as in
    memory (pyarrow reads "2024-01-31" and "2024-01-31 12:00" alike, makes offsets UTC and
    fails on dates past 2262 without naming the row); numbers stay numbers (``time_unit``).
    """
    if kind == "text":
        return pa.string()
    if kind == "number" and (pa.types.is_integer(t) or pa.types.is_null(t)):
        return pa.float64()
    if kind == "time" and (pa.types.is_timestamp(t) or pa.types.is_date(t)):
        return pa.string()
    return pa.string() if pa.types.is_null(t) else t


def _check_names(names, path) -> None:
    """Refuse a file with two columns of one name (pandas would rename the second, so it
    would be read in place of the other; pyarrow fails later).
    """
    seen = pd.Index(names)
    if seen.has_duplicates:
        dup = seen[seen.duplicated()][0]
        raise InputError(f"{_name(path)} has two columns named {dup!r}; rename one of them")


class TableStream:
    """The rows of a table file as Arrow tables of about ``chunk_rows`` rows, read once.

    ``columns`` (default all) must exist (else :class:`MissingColumnError`). ``kinds`` maps a
    column to "text", "number" or "time": its type in every CSV block (:func:`_stream_type`;
    Parquet keeps its types, checked in every file first: :func:`_parquet_schema`).
    :meth:`rows_estimate` is the file's rows (exact for Parquet).
    """

    def __init__(self, path, columns=None, chunk_rows: int = 2_000_000, kinds=None):
        self.path = Path(path)
        self.format = fmt = _existing(path)
        self.chunk_rows = max(int(chunk_rows), 1)
        self._dataset = _dataset(path, fmt) if fmt.kind == "parquet" else None
        schema, self._rows = ((self._dataset.schema, 0) if self._dataset is not None
                              else _csv_schema(path, fmt))
        self.names = list(schema.names)
        _check_names(self.names, path)
        columns = list(dict.fromkeys(columns)) if columns else self.names
        missing = [c for c in columns if c not in self.names]
        if missing:
            raise MissingColumnError(f"column {missing[0]!r} is missing from {_name(path)}; it "
                                     f"has {', '.join(map(str, self.names))}")
        self.columns = columns
        if self._dataset is not None:  # every file checked before any row is read
            self._types = dict(zip(columns, _parquet_schema(path, self._dataset, columns).types,
                                   strict=True))
        else:
            self._types = {c: _stream_type(schema.field(c).type, (kinds or {}).get(c))
                           for c in columns}
        self.rows_read, self._done = 0, False

    def rows_estimate(self) -> int:
        """Rows of the file: exact for Parquet and once a CSV is read, else estimated."""
        if self.format.kind == "parquet":
            return self._dataset.count_rows()
        return max(self.rows_read if self._done else self._rows, 1)

    def _batches(self):
        if self.format.kind == "parquet":  # file by file, a row group at a time: a dataset
            schema = pa.schema([(c, self._types[c]) for c in self.columns])  # scan reads
            for file in self._dataset.files:  # ahead, taking memory
                for b in pq.ParquetFile(file, pre_buffer=False).iter_batches(
                        min(self.chunk_rows, 1 << 18), columns=self.columns):
                    yield b if b.schema.equals(schema) else b.select(schema.names).cast(schema)
            return
        with _opened(self.path, self.format) as (stream, _):
            yield from pacsv.open_csv(stream, **_csv_options(self.format, self.columns,
                                                             self._types))

    def __iter__(self):
        batches, buf, n, self._done = self._batches(), [], 0, False
        fmt = self.format
        while not self._done:
            try:
                batch = next(batches, None)
            except _READ_ERRORS as exc:
                raise _unreadable(self.path, self.format, exc, _STREAM_FIX[fmt.kind]) from exc
            self._done = batch is None
            if batch is not None:
                buf, n = [*buf, batch], n + batch.num_rows
            if n and (self._done or n >= self.chunk_rows):
                self.rows_read += n
                yield pa.Table.from_batches(buf)
                buf, n = [], 0


def check_output(output, *inputs) -> None:
    """Refuse an ``output`` that is one of the ``inputs`` or inside an input directory."""
    if output is None:
        return
    out = Path(output).resolve()
    for src in inputs:
        if src is None:
            continue
        s = Path(src).resolve()
        same = out == s or (out.exists() and s.exists() and os.path.samefile(out, s))
        if same or (s.is_dir() and s in out.parents):
            where = "is" if same else "is inside"
            raise SameFileError(f"output {_name(output)} {where} the input {_name(src)}, which "
                                f"would be overwritten while it is read; write to another path")


@contextmanager
def atomic_path(dest):
    """A temporary path next to ``dest``: renamed to it if the block succeeds, else removed."""
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch()  # a folder that cannot be written fails here, before any work
    except OSError as exc:
        blocker = next((p for p in dest.parents if p.exists() and not p.is_dir()), None)
        why = f"{_name(blocker)} is a file, not a folder" if blocker else exc.strerror or exc
        raise FileWriteError(f"cannot write {_name(dest)}: {why}; choose an output in a "
                             "folder you can write to") from exc
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def text_output(path, fmt: FileFormat):
    """A text stream writing (and compressing) ``path`` as a CSV of ``fmt``."""
    if fmt.compression == "xz":
        raw = lzma.open(path, "wb")
    elif fmt.compression:
        raw = pa.output_stream(str(path), compression=fmt.compression)
    else:
        raw = open(path, "wb")  # noqa: SIM115 - closed with the text stream
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def write_table(df: pd.DataFrame, dest) -> None:
    """Write ``df`` to ``dest`` (CSV or Parquet by its name) through :func:`atomic_path`."""
    fmt = detect_format(dest, "output")
    with atomic_path(dest) as tmp:
        if fmt.kind == "parquet":
            df.to_parquet(tmp, index=False)
            return
        with text_output(tmp, fmt) as text:
            df.to_csv(text, index=False, sep=fmt.delimiter)
