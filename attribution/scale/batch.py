"""Batch scoring of event logs larger than memory: read once, partition by journey, sessionise
once, fit, score.

1. **Partition.** The event columns of the input are read once, a piece at a time
   (:class:`~attribution.scale.io.TableStream`: Parquet row groups, or CSV blocks with one
   schema, labels as text). Each row goes to one of P spill files (Arrow IPC,
   :mod:`~attribution.scale.spill`) by a hash of its journey key, so a person's events land in
   one partition, in input order. Date strings are read with one format, inferred once from
   the first block (:mod:`~attribution.scale.event_times`).
2. **Sessionise once, fit.** Each partition is sessionised (:meth:`Journeys.from_events`),
   in up to ``n_jobs`` processes (this one and workers), and reduced to the model's statistic
   (``model.partition_statistic``); its converting journeys, all that scoring needs, are
   kept in the work folder. The model is fitted on all the statistics
   (``model.fit_partitions``).
3. **Score.** The kept journeys of every partition are scored (``model.scorer()``), sorted
   into a run, and the runs merged (:mod:`~attribution.scale.merge`) into the output, in the
   order of journey, conversion and position, through a temporary file renamed at the end
   (:class:`~attribution.scale.sink.TableSink`), so a crash never leaves a partial output. The
   output is the same file whatever ``chunk_rows``, ``n_jobs`` and the order of the input's
   rows; times are shown in the input's zone (:func:`event_times.output_zone`).

Memory holds about ``chunk_rows`` rows of events: P is chosen so that the partitions
sessionised at once hold that many. Every touch of every converting journey appears exactly
once in the output (plus one remainder row where a model keeps credit off the touches, e.g.
``(baseline)``). ``MarkovChain`` balances per-touch credit once on the merged statistic, so a
journey gets the same credit in any partition.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
from joblib import effective_n_jobs
from joblib.externals.loky import ProcessPoolExecutor

from attribution.journeys.validation import (
    DroppedDataWarning,
    EmptyInputError,
    InputError,
    MissingColumnError,
    warn_dropped,
)
from attribution.scale import event_times, io, merge, spill
from attribution.scale.sink import TableSink

EVENT_KEYS = ("journey", "time", "touchpoint", "channel", "conversion", "value", "stage")
#: how a CSV column of each role is typed in every block (io.TableStream): labels as text,
#: date strings as text too (io._stream_type)
_KINDS = {"journey": "text", "time": "time", "touchpoint": "text", "channel": "text",
          "stage": "text", "conversion": "number", "value": "number"}
#: rows partitioned at a time, whatever chunk_rows (the first block gives the time format)
_READ_ROWS = 1 << 18
#: rows that make a worker process worth its start (about a second of work)
_ROWS_PER_WORKER = 2_000_000


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


def partition(source, workdir, journey: str, chunk_rows: int = 2_000_000, columns=None,
              progress: bool = False, kinds=None, parallel=None, first=None) -> list[Path]:
    """Split ``source`` into spill files (Arrow IPC streams, :func:`spill.read_spill`) by a
    hash of the journey key, reading it once (module doc, step 1); ``columns`` (default all)
    are kept, ``kinds`` type CSV columns (:class:`io.TableStream`; the journey key is text).
    ``parallel(rows)`` is told the rows before reading and returns how many partitions will
    be in memory at once (default 1): a partition has about ``chunk_rows`` rows over that.
    ``first(table)`` is called with the first block read. Open files stay bounded
    (:class:`spill.SpillWriter`).
    """
    columns = None if columns is None else list(dict.fromkeys([journey, *columns]))
    stream = io.TableStream(source, columns, _READ_ROWS, {journey: "text", **(kinds or {})})
    if journey not in stream.names:
        raise MissingColumnError(f"column {journey!r} (journey) is missing from "
                                 f"{str(source)!r}; it has {', '.join(stream.names)}")
    at_once = 1 if parallel is None else parallel(stream.rows_estimate())
    n_parts = at_once * max(1, math.ceil(stream.rows_estimate() / chunk_rows))  # even shares
    spills = spill.SpillWriter(workdir, max(chunk_rows, _READ_ROWS))
    bar = _bar(progress, stream.rows_estimate(), "partition", "rows")
    try:
        for table in stream:
            row = stream.rows_read - len(table)
            if row == 0 and first is not None:
                first(table)
            for batch in table.to_batches():
                for p, rows in spill.split(batch, journey, n_parts, row):
                    spills.write(p, rows)
                row += len(batch)
            bar.update(len(table))
    finally:
        parts = spills.close()
        bar.close()
    _release()
    return parts


def journeys_of_frame(df: pd.DataFrame, events: dict, level):
    """Journeys of one partition's events, or the number of its rows when they make no
    journey (the caller reports them as dropped). Drops inside are summed by the caller from
    the journeys' reports, not warned per partition. ``events`` hold one ``time_format`` for
    every partition (:mod:`event_times`): nothing is guessed per partition.
    """
    from attribution.journeys import Journeys

    if len(df) == 0:
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedDataWarning)
        try:
            j = Journeys.from_events(df, **events)
        except EmptyInputError:  # e.g. only conversion rows, or everything outside windows
            return len(df)
    return j if level is None else j.at_level(level)


def partition_statistic(j, model):
    """(statistic, journeys, report) of one partition (``model.partition_statistic``); a
    partition without journeys reports its rows instead; no statistic when ``model`` is None.
    """
    if isinstance(j, int):
        return None, 0, [dict(step="batch", item="events of partitions that make no journey "
                              "dropped", count=j)] if j else []
    stat = None if model is None else model.partition_statistic(j)
    return stat, j.n_journeys, list(j.report_records)


def fit_statistics(model, out):
    """Fit ``model`` on the partition statistics (``model.fit_partitions``)."""
    report_drops([o[2] for o in out])
    out = [o for o in out if o[0] is not None]
    if not out:
        raise EmptyInputError("no journey in any partition: every event was dropped or none "
                              "is a touch; see the columns and windows passed")
    return model.fit_partitions([o[0] for o in out], sum(o[1] for o in out))


def _release():
    """Give freed memory back to the system (Arrow's pool, the C heap), so that a process
    holds only its live data between partitions.
    """
    gc.collect(1)
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


def _ready():
    time.sleep(0.1)  # so that every worker takes one


class _Workers:
    """The processes of one call: this one and up to ``n_jobs - 1`` workers (loky's, as
    joblib's). The workers start before reading, so that they import the library while this
    process reads, and are shut down once the partitions are sessionised, so that the fit has
    their memory. A worker takes about a second to start: there is one process per
    ``_ROWS_PER_WORKER`` rows at most. On an error or an interruption they are killed and
    waited for. They start with SIGINT blocked (inherited): a Ctrl-C, sent to the whole
    process group, stops this process alone, which kills them.
    """

    def __init__(self, n_jobs):
        self.n_jobs, self.n, self._pool = n_jobs, 1, None

    def start(self, rows: int) -> int:
        """Start the workers for ``rows`` rows; returns the number of processes."""
        import signal
        from multiprocessing import resource_tracker

        from joblib.externals.loky.backend import resource_tracker as loky_tracker

        self.n = max(1, min(effective_n_jobs(self.n_jobs), rows // _ROWS_PER_WORKER))
        if self.n > 1:  # one thread per core for each process's numpy and Arrow
            threads = str(max(1, (os.cpu_count() or 1) // self.n))
            env = {k: threads for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                        "MKL_NUM_THREADS")}
            posix = hasattr(signal, "pthread_sigmask")
            if posix:  # the trackers unblock SIGINT as they start: they start first
                loky_tracker.ensure_running()
                resource_tracker.ensure_running()
                old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                self._pool = ProcessPoolExecutor(max_workers=self.n - 1, env=env)
                for _ in range(self.n - 1):  # the workers start here
                    self._pool.submit(_ready)
            finally:
                if posix:
                    signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return self.n

    def map(self, fn, args: list):
        """``fn(*a)`` for every ``a`` of ``args``, the results in order: every n-th here,
        the others in the workers meanwhile.
        """
        futures = {i: self._pool.submit(fn, *a) for i, a in enumerate(args) if i % self.n}
        for i, a in enumerate(args):
            yield futures.pop(i).result() if i in futures else fn(*a)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._pool is not None:  # on success the workers exit while the fit starts
            try:
                self._pool.shutdown(wait=exc[0] is not None, kill_workers=exc[0] is not None)
            except BaseException:  # interrupted meanwhile: kill them, and wait
                self._pool.shutdown(wait=True, kill_workers=True)
                raise


def _sessionise(part: Path, events, level, model, keep: bool):
    """:func:`_sessionise_once`, then memory given back."""
    out = _sessionise_once(part, events, level, model, keep)
    _release()
    return out


def _sessionise_once(part: Path, events, level, model, keep: bool):
    """Sessionise one spill file, once: its statistic (:func:`partition_statistic`), counts,
    and with ``keep`` its converting journeys pickled next to it (at least one journey, so
    that scoring knows the output's columns).
    """
    df = spill.frame_of_spill(part)  # indexed by input rows: errors name the input's row
    part.unlink()
    j = journeys_of_frame(df, events, level)
    del df
    stat, n, report = partition_statistic(j, model)
    out = dict(stat=stat, n=n, report=report, saved=None, touches=0, conversions=0.0,
               zone=None)
    if n:
        out.update(touches=j.n_touches, conversions=math.fsum(j.conversions),
                   zone=j.time_zone)
    if n and keep:
        out["saved"] = part.with_suffix(".journeys.pkl")
        kept = j.converting()
        spill.save_pickle(kept if kept.n_journeys else j.select([0]), out["saved"])
    return out


def _score_saved(path: Path, scorer) -> pd.DataFrame:
    return scorer(spill.load_pickle(path))


def _score_sorted(sink, saved, scorer, zone, wd, chunk_rows, progress):
    """Step 3 of the module doc (:func:`merge.write_sorted`); returns the credit and value
    written.
    """
    block = max(1 << 10, min(chunk_rows, _READ_ROWS << 3) // merge.FAN_IN)
    scored = ((p.with_suffix(".run"), _score_saved(p, scorer))
              for p in _bar_iter(saved, progress, len(saved), "score"))
    with warnings.catch_warnings(record=True) as caught:  # a model warns once per partition
        warnings.simplefilter("always")
        out = merge.write_sorted(scored, sink.write, wd, block, zone)
    for w in {(w.category, str(w.message)): w for w in caught}.values():  # once each
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _prepare(model, source, wd, events, chunk_rows, n_jobs, progress, fit, keep):
    """Steps 1-2 of the module doc: partitions sessionised once (and the model fitted)."""
    missing = [k for k in ("journey", "time", "touchpoint") if not events.get(k)]
    if missing:
        raise InputError(f"batch scoring needs the event columns {missing} (e.g. "
                         "journey='user_id')")
    roles = {r: events[r] for r in EVENT_KEYS if events.get(r)}
    kinds = {name: _KINDS[r] for r, name in roles.items() if r in _KINDS}
    events = dict(events)

    def first(table):  # one time format for every partition
        events.update(event_times.first_block_format(table, events))

    with _Workers(n_jobs) as workers:
        parts = partition(source, wd, events["journey"], chunk_rows, list(roles.values()),
                          progress, kinds, workers.start, first)
        if not parts:
            raise EmptyInputError(f"the input {str(source)!r} has no rows")
        level = getattr(model, "level", None) if fit else model.level_
        args = [(p, events, level, model if fit else None, keep) for p in parts]
        outs = list(_bar_iter(workers.map(_sessionise, args), progress, len(args),
                              "sessionise"))
    if fit:
        fit_statistics(model, [(o["stat"], o["n"], o["report"]) for o in outs])
    else:
        report_drops([o["report"] for o in outs])
    return parts, outs


def fit_file(model, source, workdir=None, *, chunk_rows=2_000_000, n_jobs=None,
             progress=False, **events):
    """Fit ``model`` on an event log file without loading it whole (module doc, steps 1-2).

    ``events`` are the column names and options of :meth:`Journeys.from_events`
    (``journey=``, ``time=``, ``touchpoint=``, ...). Returns the fitted model.
    """
    with _workdir(workdir) as wd:
        _prepare(model, source, wd, events, chunk_rows, n_jobs, progress, True, False)
    return model


def score_file(model, source, output, *, chunk_rows=2_000_000, n_jobs=None, fit=True,
               progress=False, workdir=None, **events) -> ScoreSummary:
    """Fit (unless ``fit=False`` and the model is fitted) and score an event log file.

    Writes one row per touch of every converting journey (``model.transform``) to ``output``
    (.parquet or .csv[.gz]) through a temporary file that is renamed at the end, sorted by
    journey, conversion and position (keys compare as their type: CSV journey keys are text,
    "10" before "9"), the same file for any ``chunk_rows`` and ``n_jobs``.
    ``events`` are :meth:`Journeys.from_events` arguments. Returns a :class:`ScoreSummary`.
    """
    t0 = time.perf_counter()
    io.detect_format(output, "output")
    io.check_output(output, source)
    if not fit:
        model.scorer()  # fitted?
    with _workdir(workdir) as wd:
        parts, outs = _prepare(model, source, wd, events, chunk_rows, n_jobs, progress, fit,
                               True)
        scorer = model.scorer()
        saved = [o["saved"] for o in outs if o["saved"] is not None]
        if not saved:
            raise EmptyInputError("no journey to score in any partition")
        zone = event_times.output_zone(o["zone"] for o in outs if o["n"])
        with TableSink(output) as sink:  # here: scoring converting journeys is light
            credit, value = _score_sorted(sink, saved, scorer, zone, wd, chunk_rows, progress)
    return ScoreSummary(
        journeys=sum(o["n"] for o in outs), touches=sum(o["touches"] for o in outs),
        conversions=math.fsum(o["conversions"] for o in outs), conversions_attributed=credit,
        value_attributed=value, rows_written=sink.rows, partitions=len(parts),
        seconds=time.perf_counter() - t0, output=str(output))


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


def _workdir(path):
    """A temporary folder (inside ``path`` if given), removed with everything in it."""
    if path is not None:
        Path(path).mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="attribution-", dir=path,
                                       ignore_cleanup_errors=True)


def _bar(progress, total, desc, unit):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress)


def _bar_iter(it, progress, total, desc):
    with _bar(progress, total, desc, "partition") as bar:
        for x in it:
            bar.update(1)
            yield x
