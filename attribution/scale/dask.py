"""Scale-out with Dask: statistics per partition, merged, fitted locally, scored in place.

Needs the optional extra: ``pip install 'touchpoint-attribution[dask]'``.

- :func:`fit`: the event log (a ``dask.dataframe.DataFrame``) is shuffled so that every
  journey key lives in one partition (skip with ``shuffle=False`` when it is partitioned by
  that key already); each partition is sessionised and reduced to its distinct paths (the
  mergeable statistic, :mod:`attribution.stats`); the small statistics are merged and the model
  is fitted in this process. Models whose credit needs touch times are fitted per partition
  and summed.
- :func:`score`: ``map_partitions`` runs ``model.transform`` on every partition and returns a
  lazy Dask frame of per-touch credit (write it with ``.to_parquet``).
- Times: every partition is read with ONE ``time_format``: the one given, else the one inferred
  from the head of the first partition (:mod:`~attribution.scale.event_times`) when the
  time column holds strings; ``time_unit`` and ``tz`` go to every partition as given. Output
  times are in one zone, known before any partition is scored (the frame's ``meta``): ``tz``,
  else the zone of the head of the first partition (a tz-aware column's zone, the offset of
  its strings, UTC for mixed offsets and epoch numbers); steps stay integers. Pass
  ``time_format`` (and ``tz``) when the first partition is not typical of the others.

Results equal the in-memory path: the merged statistic is the whole data's statistic, and
per-touch Markov credit is balanced once on it (``MarkovChain.balance_factors_``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys.times import time_values
from attribution.journeys.validation import InputError
from attribution.scale import event_times

_HEAD_ROWS = 1000


def _require_dask():
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("attribution.dask needs dask: pip install "
                          "'touchpoint-attribution[dask]'") from exc
    return dask, dd


def _prepared(ddf, journey, shuffle):
    _, dd = _require_dask()
    if not isinstance(ddf, dd.DataFrame):
        raise InputError(f"expected a dask DataFrame, got {type(ddf).__name__}; use "
                         "dask.dataframe.read_parquet(...) or dask.dataframe.from_pandas(...)")
    if journey not in ddf.columns:
        raise InputError(f"column {journey!r} (journey) is missing; the frame has "
                         f"{', '.join(map(str, ddf.columns))}")
    return ddf.shuffle(on=journey) if shuffle else ddf


def _time_options(ddf, events):
    """``events`` with one ``time_format`` for every partition, and the dtype of the output
    times (module doc), both from the head of the first partition (of any, if it is empty).
    """
    t = events.get("time")
    if not t or t not in ddf.columns:
        return events, None
    head = ddf[t].head(_HEAD_ROWS, npartitions=1)
    if not len(head):
        head = ddf[t].head(_HEAD_ROWS, npartitions=-1)
    if not len(head):
        return events, np.dtype("datetime64[ns]")
    events = event_times.with_time_format(head, events)
    col = time_values(head, t, **{k: events.get(k) for k in ("time_unit", "time_format", "tz")})
    if col.kind != "datetime":
        return events, np.dtype(np.int64)
    return events, (np.dtype("datetime64[ns]") if col.zone is None
                    else pd.DatetimeTZDtype("ns", col.zone))


def _partition_statistic(df, events, level, model):
    from attribution.scale.batch import journeys_of_frame, partition_statistic

    return partition_statistic(journeys_of_frame(df, events, level), model)


def fit(model, ddf, *, shuffle=True, **events):
    """Fit ``model`` on a Dask event log (module docstring); returns the fitted model.

    ``events`` are :meth:`Journeys.from_events` arguments (``journey=``, ``time=``,
    ``touchpoint=``, ...). Runs on the active ``dask.distributed`` client if there is one.
    """
    dask, _ = _require_dask()
    from attribution.scale.batch import fit_statistics

    ddf = _prepared(ddf, events.get("journey"), False)
    events, _ = _time_options(ddf, events)
    ddf = _prepared(ddf, events.get("journey"), shuffle)
    level = getattr(model, "level", None)
    parts = [dask.delayed(_partition_statistic)(p, events, level, model)
             for p in ddf.to_delayed()]
    return fit_statistics(model, list(dask.compute(*parts)))


def _score_partition(df, scorer, events, level, meta):
    from attribution.scale.batch import journeys_of_frame

    j = journeys_of_frame(df, events, level)
    if isinstance(j, int) or j.converting().n_journeys == 0:
        return meta.iloc[:0]
    out = scorer(j.converting())  # only converting journeys have rows
    for col in ("touchpoint", "channel"):
        if col in out:
            out[col] = out[col].astype(str)
    zone = getattr(meta.dtypes.get("time"), "tz", None)
    for col in ("time", "conversion_time"):
        if zone is not None and col in out:  # UTC nanoseconds, naive or not, in the zone
            t = out[col]
            out[col] = (t.dt.tz_localize("UTC") if t.dt.tz is None else t).dt.tz_convert(zone)
    if "conversion" not in out:
        out.insert(1, "conversion", 0)
    return out[list(meta.columns)].astype(meta.dtypes.to_dict())


def score(model, ddf, *, shuffle=True, **events):
    """Per-touch credit of every converting journey, as a lazy Dask DataFrame.

    ``model`` must be fitted (e.g. by :func:`fit`). Columns as ``model.transform``:
    journey, conversion, conversion_id, position, (touchpoint), channel, (time,
    conversion_time), credit, value_credit; touchpoint and channel as strings, times in one
    zone (module doc).
    """
    _require_dask()
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "result_")
    journey = events.get("journey")
    events, time_dtype = _time_options(_prepared(ddf, journey, False), events)
    ddf = _prepared(ddf, journey, shuffle)
    level = model.level_
    text = pd.StringDtype()  # not object: Parquet needs to know the type of empty meta
    jd = ddf.dtypes[journey]
    cols = {"journey": text if pd.api.types.is_object_dtype(jd) else jd,
            "conversion": np.dtype(np.int64), "conversion_id": np.dtype(np.uint64),
            "position": np.dtype(np.int64)}
    if level == "touchpoint":
        cols["touchpoint"] = text
    cols["channel"] = text
    if time_dtype is not None:
        cols["time"] = time_dtype
        cols["conversion_time"] = time_dtype
    cols["credit"] = np.dtype(np.float64)
    cols["value_credit"] = np.dtype(np.float64)
    meta = pd.DataFrame({k: pd.Series(dtype=v) for k, v in cols.items()})
    return ddf.map_partitions(_score_partition, model.scorer(), events, level, meta, meta=meta)
