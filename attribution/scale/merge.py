"""The output of batch scoring in one order, whatever the partitions: sorted runs merged.

Each partition's scored rows are sorted by :data:`KEY` (journey, conversion, position) and
written as a *run* (an Arrow IPC stream of blocks, :func:`write_run`); :func:`merge_runs`
merges the runs k-way with at most :data:`FAN_IN` open at once (a pass merges groups of
runs into longer runs while there are more), a block at a time: it reads a block of every
open run, emits every buffered row whose key is at most the smallest last key of the runs
that have more to read (a binary search per run), sorted, and reads on. Memory holds about
2 ``FAN_IN`` blocks (a block of each run is read ahead).

Keys compare as their type: journey keys read from a CSV are text, so "10" comes before "9";
Parquet keeps integer keys integers. The key of a row is unique (a journey's remainder row
has position -1), so the order is total and the output is the same for any partitioning of
the same input and any order of its rows.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

KEY = ("journey", "conversion", "position")
#: runs open at once at most
FAN_IN = 64
#: rows of every table written to the output (a Parquet row group), whatever the partitions
WRITE_ROWS = 1 << 16


def as_arrow(frame: pd.DataFrame, zone: str | None) -> pa.Table:
    """A scored frame (``model.transform``) as Arrow: categories as their values, datetimes
    (UTC nanoseconds, naive or not) shown in ``zone`` (None: left as they are).
    """
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    for i, field in enumerate(table.schema):
        t = field.type
        if pa.types.is_dictionary(t):
            table = table.set_column(i, field.name, table.column(i).cast(t.value_type))
        elif pa.types.is_timestamp(t) and zone is not None and t.tz != zone:
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp(t.unit,
                                                                                     zone)))
    return table


def _sorted(table: pa.Table) -> pa.Table:
    keys = [(c, "ascending") for c in KEY if c in table.column_names]
    return table.take(pc.sort_indices(table, sort_keys=keys))


def write_run(table: pa.Table, path, block_rows: int) -> Path:
    """``table`` sorted by :data:`KEY`, written to ``path`` in blocks of ``block_rows``."""
    with pa.ipc.new_stream(str(path), table.schema) as w:
        w.write_table(_sorted(table), max_chunksize=max(int(block_rows), 1))
    return Path(path)


class _Run:
    """A run being read: the rows read and not emitted yet (sorted), a block at a time, and
    the next block (read ahead, so that a run whose last block is read is known to be done).
    """

    def __init__(self, path, schema):
        self.path, self.schema = Path(path), schema
        self._file = pa.OSFile(str(path))
        self._reader = pa.ipc.open_stream(self._file)
        self.rows, self.done = None, False
        self._next = self._read()

    def _read(self):
        try:
            batch = self._reader.read_next_batch()
        except StopIteration:
            self._file.close()
            return None
        rows = pa.Table.from_batches([batch])
        return rows if rows.schema.equals(self.schema) else rows.cast(self.schema)

    def fill(self) -> None:
        """Take the next block if every row read was emitted (and there are more)."""
        while self._next is not None and (self.rows is None or self.rows.num_rows == 0):
            self.rows, self._next = self._next, self._read()
        self.done = self._next is None

    def last(self) -> tuple:
        names = [c for c in KEY if c in self.schema.names]
        return tuple(self.rows.column(c)[-1].as_py() for c in names)

    def take(self, bound) -> pa.Table:
        """The rows read whose key is at most ``bound`` (all with None), now emitted."""
        n = self.rows.num_rows if bound is None else _count_upto(self.rows, bound)
        out, self.rows = self.rows.slice(0, n), self.rows.slice(n)
        return out

    def close(self) -> None:
        self._file.close()


def _count_upto(rows: pa.Table, bound: tuple) -> int:
    """How many of ``rows`` (sorted by key) have a key at most ``bound``: a binary search, a
    few scalars read per block.
    """
    cols = [rows.column(c) for c in KEY if c in rows.column_names]
    lo, hi = 0, rows.num_rows
    if tuple(c[hi - 1].as_py() for c in cols) <= bound:
        return hi
    if tuple(c[0].as_py() for c in cols) > bound:
        return 0
    while lo < hi:
        mid = (lo + hi) // 2
        if tuple(c[mid].as_py() for c in cols) <= bound:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _merge(paths, emit, schema) -> None:
    """Merge the sorted runs ``paths`` (module doc), ``emit``-ing sorted tables in key order."""
    runs = [_Run(p, schema) for p in paths]
    try:
        while True:
            for r in runs:
                r.fill()
            live = [r for r in runs if r.rows is not None and r.rows.num_rows]
            if not live:
                return
            pending = [r.last() for r in live if not r.done]
            bound = min(pending) if pending else None
            taken = [t for t in (r.take(bound) for r in live) if t.num_rows]
            emit(_sorted(pa.concat_tables(taken)))
    finally:
        for r in runs:
            r.close()


def run_schema(paths) -> pa.Schema:
    """The schema every run is read with: the first run's, its types widened to fit all (a
    column all missing in one partition is typed null there).
    """
    schemas = []
    for p in paths:
        with pa.OSFile(str(p)) as f:
            schemas.append(pa.ipc.open_stream(f).schema)
    return pa.unify_schemas(schemas, promote_options="permissive")


def merge_runs(paths, emit, workdir, block_rows: int, fan_in: int = FAN_IN) -> None:
    """Merge the sorted runs ``paths`` into one order, ``emit``-ting sorted Arrow tables (of
    up to ``fan_in`` blocks); with more than ``fan_in`` runs, groups of them are merged into
    longer runs in ``workdir`` first (each run is removed once merged). Without any row, one
    empty table is emitted (the columns).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        return
    schema, level, emitted = run_schema(paths), 0, []
    emit_rows, emit = emit, lambda t: emitted.append(1) or emit_rows(t)
    while len(paths) > fan_in:
        merged = []
        for g in range(math.ceil(len(paths) / fan_in)):
            group, out = paths[g * fan_in:(g + 1) * fan_in], Path(workdir) / f"run-{level}-{g}"
            with pa.ipc.new_stream(str(out), schema) as w:
                _merge(group, lambda t, w=w: w.write_table(t, max_chunksize=block_rows), schema)
            for p in group:
                p.unlink()
            merged.append(out)
        paths, level = merged, level + 1
    _merge(paths, emit, schema)
    if not emitted:  # no row anywhere: the columns alone
        emit_rows(schema.empty_table())


def write_sorted(scored, write, workdir, block_rows: int, zone) -> tuple[float, float]:
    """Write scored frames in key order: every ``(run path, frame)`` of ``scored`` sorted into
    a run (times shown in ``zone``, :func:`as_arrow`), then the runs merged and written in
    tables of :data:`WRITE_ROWS` rows (the last shorter), so that a Parquet output has the same
    row groups for any partitioning. Returns the credit and value written, summed exactly per
    table written.
    """
    runs = [write_run(as_arrow(frame, zone), path, block_rows) for path, frame in scored]
    sums, pending = ([], []), []

    def flush(table):
        for col, acc in zip(("credit", "value_credit"), sums, strict=True):
            acc.append(math.fsum(table.column(col).to_numpy()))
        write(table)

    def emit(table):
        pending.append(table)
        if sum(t.num_rows for t in pending) >= WRITE_ROWS:
            rows = pa.concat_tables(pending)
            n = rows.num_rows // WRITE_ROWS * WRITE_ROWS
            for start in range(0, n, WRITE_ROWS):
                flush(rows.slice(start, WRITE_ROWS))
            pending[:] = [rows.slice(n)]

    merge_runs(runs, emit, workdir, block_rows)
    rest = pa.concat_tables(pending)
    if rest.num_rows or not sums[0]:
        flush(rest)
    return math.fsum(sums[0]), math.fsum(sums[1])
