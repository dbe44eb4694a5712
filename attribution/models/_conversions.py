"""Which conversion each row of ``transform``'s per-touch credit belongs to: its id and time.

The conversion id is the input's conversion id when the journeys carry one
(``journeys.conversion_ids``), else a stable 64-bit hash of the journey id (as text, so the
person ``7`` read from CSV and ``"7"`` read from Parquet hash alike) and the conversion number
(0 for journeys without one, such as the rows of a path table). The hash is pandas' SipHash of
the values (``pandas.util.hash_pandas_object`` with its fixed key): the same input gives the
same ids in every run, process and chunking.

The conversion time is the journey's ``end_times`` (event logs: the time of the conversion),
or, for journeys built with touch times but no end times, the time of the journey's last
touch. Journeys without times get no conversion time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.journeys.export import time_column


def conversion_columns(j, rows: np.ndarray) -> dict:
    """``conversion_id`` and (when known) ``conversion_time`` of journeys ``rows`` of ``j``
    (one entry per output row: ``rows`` indexes journeys, repeated once per touch)."""
    out = {"conversion_id": journey_conversion_ids(j)[rows]}
    end = journey_end_times(j)
    if end is not None:
        out["conversion_time"] = time_column(j, end[rows])
    return out


def journey_conversion_ids(j) -> np.ndarray:
    """One conversion id per journey of ``j`` (module docstring)."""
    given = getattr(j, "conversion_ids", None)
    if given is not None:
        return np.asarray(given)
    ids = j.ids if j.ids is not None else np.arange(j.n_journeys)
    seq = j.seq if j.seq is not None else np.zeros(j.n_journeys, dtype=np.int64)
    key = pd.DataFrame({"journey": pd.Series(np.asarray(ids)).astype(str),
                        "conversion": np.asarray(seq, dtype=np.int64)})
    return pd.util.hash_pandas_object(key, index=False).to_numpy()


def journey_end_times(j) -> np.ndarray | None:
    """The conversion time of each journey (int64, as ``j.times``), or None without times."""
    if j.end_times is not None:
        return np.asarray(j.end_times, dtype=np.int64)
    if j.times is None:
        return None
    return np.asarray(j.times, dtype=np.int64)[j.offsets[1:] - 1]
