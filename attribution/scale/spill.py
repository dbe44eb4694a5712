"""Temporary files of batch scoring, written and read back once: spill files (Arrow IPC
streams, uncompressed: LZ4 takes a third of the disk, and more time) and pickles; rows go to
a spill file by a hash of their journey key (:func:`split`).

:class:`SpillWriter` keeps at most :data:`MAX_OPEN` files open, however many parts it writes
(a small ``chunk_rows`` makes thousands of partitions: one open file each would run into the
limit of open files). Past that many parts it buffers batches in memory and appends them in
one stream per part at each flush, so a part may be several streams one after the other,
which :func:`read_spill` reads as one table.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.journeys.validation import InputError

#: files a SpillWriter keeps open at most
MAX_OPEN = 64


class SpillWriter:
    """Tables appended to numbered Arrow IPC stream files in ``folder`` (``prefix-00001.arrow``).

    Up to ``max_open`` parts, each has its file open until :meth:`close`. With more parts,
    every file is closed and batches are buffered until ``buffer_rows`` rows are waiting, then
    appended, one stream per part; the files opened are then about parts x rows /
    ``buffer_rows``, never more than ``max_open`` (one while flushing) at once.
    """

    def __init__(self, folder, buffer_rows: int = 1 << 20, max_open: int = MAX_OPEN,
                 prefix: str = "part"):
        self.folder, self.prefix = Path(folder), prefix
        self.buffer_rows, self.max_open = max(int(buffer_rows), 1), max_open
        self._writers, self._buffers, self._buffered = {}, None, 0
        self._keys, self._schema = set(), None

    def path(self, key: int) -> Path:
        """The file of part ``key``."""
        return self.folder / f"{self.prefix}-{key:05d}.arrow"

    def write(self, key: int, table) -> None:
        """Append ``table`` (or a record batch) to part ``key``."""
        self._schema = self._schema or table.schema
        self._keys.add(key)
        if self._buffers is None and (key in self._writers or len(self._writers) < self.max_open):
            if key not in self._writers:
                self._writers[key] = pa.ipc.new_stream(str(self.path(key)), table.schema)
            self._writers[key].write(table)
            return
        if self._buffers is None:  # one part too many: close the files, buffer from now on
            self._close_writers()
            self._buffers = {}
        self._buffers.setdefault(key, []).append(table)
        self._buffered += table.num_rows
        if self._buffered >= self.buffer_rows:
            self._flush()

    def _flush(self) -> None:
        for key in sorted(self._buffers):
            with open(self.path(key), "ab") as f, pa.ipc.new_stream(f, self._schema) as w:
                for t in self._buffers[key]:
                    w.write(t)
        self._buffers, self._buffered = {}, 0

    def _close_writers(self) -> None:
        writers, self._writers = self._writers, {}
        for w in writers.values():
            w.close()

    def close(self) -> list[Path]:
        """Write what is buffered, close every file; returns the paths of the parts written,
        in key order.
        """
        try:
            if self._buffers:
                self._flush()
        finally:
            self._close_writers()
        return [self.path(k) for k in sorted(self._keys)]


#: the column :func:`split` adds: each row's position in the input (0 = first data row)
ROW = "\x00input row"


def hash_keys(keys: pa.Array) -> np.ndarray:
    """A 64-bit hash of every journey key of one Arrow array; equal keys hash equally in every
    chunk. Integers are mixed with splitmix64, other keys hashed once per distinct value.
    """
    if pa.types.is_dictionary(keys.type):
        return hash_keys(keys.dictionary)[keys.indices.to_numpy(zero_copy_only=False)]
    if pa.types.is_integer(keys.type):
        x = keys.to_numpy(zero_copy_only=False).astype(np.uint64)
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            x ^= x >> np.uint64(shift)
            x *= np.uint64(mult)
        return x ^ (x >> np.uint64(31))
    codes = pc.dictionary_encode(keys)
    distinct = pd.util.hash_array(codes.dictionary.to_numpy(zero_copy_only=False))
    return distinct[codes.indices.to_numpy(zero_copy_only=False)]


def split(batch: pa.RecordBatch, journey: str, n_parts: int, first_row: int):
    """(partition, rows) pairs of one record batch: its rows grouped by partition, in input
    order (one take per batch: cheaper than on a table of several chunks).
    """
    keys = batch.column(journey)
    if keys.null_count:
        row = first_row + int(np.flatnonzero(pc.is_null(keys).to_numpy(zero_copy_only=False))[0])
        raise InputError(f"column {journey!r} (journey) has a missing value (row {row} of the "
                         "input); every event needs its journey key")
    batch = batch.append_column(ROW, pa.array(np.arange(first_row, first_row + len(batch))))
    part = hash_keys(keys) % np.uint64(n_parts)
    part = part.astype(np.uint16 if n_parts <= 1 << 16 else np.int64)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n_parts + 1))
    batch = batch.take(order)
    return [(int(p), batch.slice(bounds[p], bounds[p + 1] - bounds[p]))
            for p in np.flatnonzero(np.diff(bounds))]


def frame_of_spill(path) -> pd.DataFrame:
    """A part as pandas, indexed by the rows' positions in the input (:func:`split` keeps
    them), so that an error about a row names the input's row, not the part's.
    """
    df = read_spill(path).to_pandas(split_blocks=True, self_destruct=True)
    if ROW in df.columns:
        df.index = pd.Index(df.pop(ROW).to_numpy())
    return df


def read_spill(path) -> pa.Table:
    """A part written by :class:`SpillWriter` (memory-mapped): its streams as one table."""
    with pa.memory_map(str(path)) as source:
        size, tables = source.size(), []
        while source.tell() < size:
            tables.append(pa.ipc.open_stream(source).read_all())
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def save_pickle(obj, path) -> None:
    """Pickle ``obj`` (e.g. a partition's journeys) to ``path``."""
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=5)


def load_pickle(path):
    """What :func:`save_pickle` wrote to ``path``."""
    with open(path, "rb") as f:
        return pickle.load(f)  # noqa: S301 - our own temporary file
