"""Batch scoring of event logs larger than memory: stream, partition by journey, fit, score.

1. **Partition.** The input (Parquet row groups, or CSV chunks) is read ``chunk_rows`` rows at
   a time and each row goes to one of P temporary Parquet partitions by a hash of its journey
   key, so every person's events land in one partition and no journey is ever split. Memory
   holds one read chunk; P is chosen so a partition has about ``chunk_rows`` rows.
2. **Fit once.** Each partition is sessionised (:meth:`Journeys.from_events`) and reduced to
   the mergeable statistic (its distinct paths, :func:`attribution.stats.merge`); the model
   is fitted once on the merged statistic. Models whose credit needs touch times
   (``TimeDecay(by="time")``) are fitted per partition and their credit summed (their credit
   is a sum over journeys).
3. **Score.** Partitions are scored in parallel (joblib processes) with ``model.transform``
   and written as parts; the parts are then joined into the output, written to a temporary
   file and renamed, so a crash never leaves a partial output.

Every touch of every converting journey appears exactly once in the output (plus one
remainder row where a model keeps credit off the touches, e.g. ``(baseline)``).
``MarkovChain`` balances per-touch credit (IPF) within each partition, against the global
removal effects, so its per-touch credit sums to the same entity totals.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from joblib import Parallel, delayed

from attribution.journeys.validation import (
    DroppedDataWarning,
    EmptyInputError,
    InputError,
    MissingColumnError,
    warn_dropped,
)

EVENT_KEYS = ("journey", "time", "touchpoint", "channel", "conversion", "value", "stage")


@dataclass
class ScoreSummary:
    """What :func:`score_file` did."""

    journeys: int
    touches: int
    conversions: float
    conversions_attributed: float
    value_attributed: float
    rows_written: int
    partitions: int
    seconds: float
    output: str

    def __str__(self) -> str:
        return (f"scored {self.journeys:,} journeys, {self.touches:,} touches, "
                f"{self.conversions_attributed:,.4g} conversions attributed "
                f"({self.rows_written:,} rows, {self.partitions} partitions) in "
                f"{self.seconds:.1f} s -> {self.output}")


def _format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes or path.is_dir():
        return "parquet"
    if ".csv" in suffixes or ".tsv" in suffixes:
        return "csv"
    raise InputError(f"cannot tell the format of {str(path)!r}: use .csv, .csv.gz or .parquet")


def iter_chunks(source, chunk_rows: int, columns=None, journey=None):
    """Yield pandas frames of about ``chunk_rows`` rows from a Parquet file (or directory of
    Parquet files) or a CSV file. The journey column of a CSV is read as text (the same key
    in every chunk).
    """
    path = Path(source)
    if not path.exists():
        raise InputError(f"input {str(source)!r} does not exist")
    if _format(path) == "parquet":
        import pyarrow.dataset as ds

        try:
            dataset = ds.dataset(path, format="parquet")
            for batch in dataset.to_batches(columns=columns, batch_size=chunk_rows):
                yield batch.to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"could not read {str(source)!r} as Parquet: {exc}") from exc
        return
    sep = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
    try:
        reader = pd.read_csv(path, sep=sep, chunksize=chunk_rows, usecols=columns,
                             dtype={journey: str} if journey else None)
        yield from reader
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        raise InputError(f"could not read {str(source)!r} as CSV: {exc}") from exc


def columns_of(source) -> list[str]:
    """Column names of a Parquet file/directory or CSV file, without reading its rows."""
    path = Path(source)
    if not path.exists():
        raise InputError(f"input {str(source)!r} does not exist")
    try:
        if _format(path) == "parquet":
            import pyarrow.dataset as ds

            return list(ds.dataset(path, format="parquet").schema.names)
        sep = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
        return list(pd.read_csv(path, sep=sep, nrows=0).columns)
    except (pa.ArrowInvalid, ValueError, OSError) as exc:
        raise InputError(f"could not read the columns of {str(source)!r}: {exc}") from exc


def _row_count(path: Path) -> int:
    """Rows of a Parquet dataset (metadata), or lines of a CSV counted in 16 MB blocks (an
    upper bound when quoted fields hold newlines: that only makes partitions smaller).
    """
    if _format(path) == "parquet":
        import pyarrow.dataset as ds

        return ds.dataset(path, format="parquet").count_rows()
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix.lower(),
                                                                        open)
    lines = 0
    try:
        with opener(path, "rb") as f:
            while block := f.read(1 << 24):
                lines += block.count(b"\n")
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise InputError(f"could not read {str(path)!r}: {exc}") from exc
    return max(lines - 1, 1)  # minus the header


def partition(source, workdir, journey: str, chunk_rows: int = 2_000_000, columns=None,
              progress: bool = False) -> list[Path]:
    """Split ``source`` into Parquet partitions by a hash of the journey key (module doc)."""
    path = Path(source)
    if not path.exists():
        raise InputError(f"input {str(source)!r} does not exist")
    total = _row_count(path)
    n_parts = max(1, math.ceil(total / chunk_rows))
    workdir = Path(workdir)
    writers: dict[int, pq.ParquetWriter] = {}
    schema = None
    bar = _bar(progress, total, "partition", "rows")
    try:
        for df in iter_chunks(source, chunk_rows, columns, journey):
            if journey not in df.columns:
                have = ", ".join(map(str, df.columns))
                raise MissingColumnError(f"column {journey!r} (journey) is missing from "
                                         f"{str(source)!r}; it has {have}")
            if df[journey].isna().any():
                row = int(np.flatnonzero(df[journey].isna().to_numpy())[0])
                raise InputError(f"column {journey!r} (journey) has a missing value (row "
                                 f"{row} of a chunk); every event needs its journey key")
            key = pd.util.hash_array(df[journey].to_numpy()) % np.uint64(n_parts)
            table = pa.Table.from_pandas(df, preserve_index=False)
            if schema is None:
                schema = table.schema
            else:
                table = _conform(table, schema, source)
            order = np.argsort(key, kind="stable")
            bounds = np.searchsorted(key[order], np.arange(n_parts + 1))
            for p in range(n_parts):
                if bounds[p] == bounds[p + 1]:
                    continue
                if p not in writers:
                    writers[p] = pq.ParquetWriter(workdir / f"part-{p:05d}.parquet", schema)
                writers[p].write_table(table.take(order[bounds[p]:bounds[p + 1]]))
            bar.update(len(df))
    finally:
        for w in writers.values():
            w.close()
        bar.close()
    return [workdir / f"part-{p:05d}.parquet" for p in sorted(writers)]


def _conform(table, schema, source):
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError) as exc:
        raise InputError(f"{str(source)!r}: a later chunk has other column types than the "
                         f"first ({exc}); give the columns one type") from exc


def _journeys(part: Path, events: dict, level):
    return journeys_of_frame(pd.read_parquet(part), events, level)


def journeys_of_frame(df: pd.DataFrame, events: dict, level):
    """Journeys of one partition's events, or the number of its rows when they make no
    journey (the caller reports them as dropped). Drops inside are summed by the caller from
    the journeys' reports, not warned per partition.
    """
    from attribution.journeys import Journeys

    if len(df) == 0:
        return 0
    t = events["time"]
    if t in df.columns and not (pd.api.types.is_datetime64_any_dtype(df[t])
                                or pd.api.types.is_integer_dtype(df[t])):
        try:
            df[t] = pd.to_datetime(df[t])
        except (ValueError, TypeError) as exc:
            raise InputError(f"column {t!r} (time) could not be read as dates: {exc}") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedDataWarning)
        try:
            j = Journeys.from_events(df, **events)
        except EmptyInputError:  # e.g. only conversion rows, or everything outside windows
            return len(df)
    return j if level is None else j.at_level(level)


def partition_statistic(j, model):
    """(statistic, journeys, report) of one partition (``model.partition_statistic``); a
    partition without journeys reports its rows instead.
    """
    if isinstance(j, int):
        return None, 0, [dict(step="batch", item="events of partitions that make no journey "
                              "dropped", count=j)] if j else []
    return model.partition_statistic(j), j.n_journeys, list(j.report_records)


def fit_statistics(model, out):
    """Fit ``model`` on the partition statistics (``model.fit_partitions``)."""
    report_drops([o[2] for o in out])
    out = [o for o in out if o[0] is not None]
    if not out:
        raise EmptyInputError("no journey in any partition: every event was dropped or none "
                              "is a touch; see the columns and windows passed")
    return model.fit_partitions([o[0] for o in out], sum(o[1] for o in out))


def _fit_part(model, part, events, level):
    return partition_statistic(_journeys(part, events, level), model)


def _score_part(scorer, part, events, level, out_dir):
    j = _journeys(part, events, level)
    if isinstance(j, int):
        return None
    frame = scorer(j)
    dest = Path(out_dir) / (part.stem + ".scored.parquet")
    frame.to_parquet(dest, index=False)
    conv = j.conversions > 0
    return dict(path=dest, journeys=int(j.n_journeys), touches=int(j.n_touches),
                conversions=float(j.conversions.sum()),
                attributed=float(frame["credit"].sum()),
                value=float(frame["value_credit"].sum()), rows=len(frame),
                converting_touches=int(j.lengths[conv].sum()))


def fit_file(model, source, workdir=None, *, chunk_rows=2_000_000, n_jobs=None,
             progress=False, **events):
    """Fit ``model`` on an event log file without loading it whole (module doc, steps 1-2).

    ``events`` are the column names and options of :meth:`Journeys.from_events`
    (``journey=``, ``time=``, ``touchpoint=``, ...). Returns the fitted model.
    """
    with _Workdir(workdir) as wd:
        parts = partition(source, wd, events["journey"], chunk_rows, progress=progress)
        _fit_parts(model, parts, events, n_jobs, progress)
    return model


def _fit_parts(model, parts, events, n_jobs, progress):
    if not parts:
        raise InputError("the input has no rows")
    level = getattr(model, "level", None)
    jobs = (delayed(_fit_part)(model, p, events, level) for p in parts)
    return fit_statistics(model, list(_bar_iter(
        Parallel(n_jobs=n_jobs, return_as="generator")(jobs), progress, len(parts), "fit")))


def score_file(model, source, output, *, chunk_rows=2_000_000, n_jobs=None, fit=True,
               progress=False, workdir=None, **events) -> ScoreSummary:
    """Fit (unless ``fit=False`` and the model is fitted) and score an event log file.

    Writes one row per touch of every converting journey (``model.transform``) to ``output``
    (.parquet or .csv[.gz]) through a temporary file that is renamed at the end.
    ``events`` are :meth:`Journeys.from_events` arguments. Returns a :class:`ScoreSummary`.
    """
    t0 = time.perf_counter()
    missing = [k for k in ("journey", "time", "touchpoint") if not events.get(k)]
    if missing:
        raise InputError(f"score_file needs the event columns {missing} (e.g. journey='user_id')")
    out = Path(output)
    fmt = _format(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _Workdir(workdir) as wd:
        parts = partition(source, wd, events["journey"], chunk_rows, progress=progress)
        if fit:
            _fit_parts(model, parts, events, n_jobs, progress)
        level = getattr(model, "level_", None)
        scored = Path(wd) / "scored"
        scored.mkdir()
        scorer = model.scorer()
        jobs = (delayed(_score_part)(scorer, p, events, level, scored) for p in parts)
        res = [r for r in _bar_iter(Parallel(n_jobs=n_jobs, return_as="generator")(jobs),
                                    progress, len(parts), "score") if r is not None]
        if not res:
            raise EmptyInputError("no journey to score in any partition")
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            _join([r["path"] for r in res], tmp, fmt)
            tmp.replace(out)
        finally:
            if tmp.exists():
                tmp.unlink()
    return ScoreSummary(
        journeys=sum(r["journeys"] for r in res), touches=sum(r["touches"] for r in res),
        conversions=sum(r["conversions"] for r in res),
        conversions_attributed=sum(r["attributed"] for r in res),
        value_attributed=sum(r["value"] for r in res), rows_written=sum(r["rows"] for r in res),
        partitions=len(parts), seconds=time.perf_counter() - t0, output=str(out))


def _join(paths, dest: Path, fmt: str):
    """Concatenate scored parts into ``dest``, one part in memory at a time."""
    schema = _common_schema(paths)
    if fmt == "parquet":
        with pq.ParquetWriter(dest, schema) as w:
            for p in paths:
                w.write_table(pq.read_table(p).cast(schema))
        return
    compression = "gzip" if dest.name.endswith(".gz.tmp") or ".gz" in dest.suffixes else None
    for i, p in enumerate(paths):
        df = pq.read_table(p).cast(schema).to_pandas()
        df.to_csv(dest, mode="w" if i == 0 else "a", header=i == 0, index=False,
                  compression=compression)


def _common_schema(paths):
    """One schema for all parts: category columns become plain strings (their categories
    differ between parts).
    """
    schema = pq.read_schema(paths[0]).remove_metadata()
    fields = [pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f
              for f in schema]
    return pa.schema(fields)


def report_drops(reports):
    """One DroppedDataWarning with the drops of every partition summed by item."""
    rows = [r for rep in reports for r in rep if r.get("count")
            and ("dropped" in str(r.get("item")) or "ignored" in str(r.get("item")))]
    if not rows:
        return
    df = pd.DataFrame(rows)
    keys = [c for c in df.columns if c != "count"]
    summed = df.groupby(keys, sort=False)["count"].sum()
    parts = [f"{k[-1] if isinstance(k, tuple) else k}: {int(v):,}" for k, v in summed.items()]
    warn_dropped("over all partitions: " + "; ".join(parts) + ".", stacklevel=5)


class _Workdir:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        if self.path is not None:
            Path(self.path).mkdir(parents=True, exist_ok=True)
            self._made = Path(tempfile.mkdtemp(prefix="attribution-", dir=self.path))
        else:
            self._made = Path(tempfile.mkdtemp(prefix="attribution-"))
        return self._made

    def __exit__(self, *exc):
        shutil.rmtree(self._made, ignore_errors=True)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _bar(progress, total, desc, unit):
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit)


def _bar_iter(it, progress, total, desc):
    bar = _bar(progress, total, desc, "partition")
    for x in it:
        bar.update(1)
        yield x
    bar.close()
