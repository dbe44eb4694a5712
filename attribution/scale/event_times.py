"""The time column of an input read in pieces (batch scoring, Dask): one format for the whole
input and one zone for the whole output, never guessed per piece.

- **Format.** When the time column holds strings and no ``time_format`` is given, the format
  is inferred once (:func:`~attribution.journeys.time_strings.infer_time_format`) from the
  first piece read (batch scoring: the first block of the file, whatever ``chunk_rows``;
  Dask: the head of the first partition) and passed to every piece. ``time_unit`` and ``tz``
  are passed to every piece as given.
- **Zone.** Output times (UTC nanoseconds) are shown in the zone of the input: ``tz`` if
  given; else the zone every piece found (a tz-aware column's zone, the one offset of date
  strings); UTC when pieces found different zones (mixed offsets, as in memory); naive when
  the times are naive.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from attribution.journeys.time_strings import infer_time_format


def with_time_format(values: pd.Series, events: dict) -> dict:
    """``events`` with ``time_format`` inferred from ``values`` (a first piece of the time
    column) when they are strings and none was given; else ``events`` unchanged.
    """
    column = events.get("time")
    if events.get("time_format") is not None or column is None:
        return events
    fmt = infer_time_format(values, column)
    return events if fmt is None else {**events, "time_format": fmt}


def first_block_format(table: pa.Table, events: dict) -> dict:
    """:func:`with_time_format` on the time column of ``table``, the first block of the input
    (row labels are the input's rows).
    """
    column = events.get("time")
    if column not in table.column_names:
        return events
    t = table.schema.field(column).type
    t = t.value_type if pa.types.is_dictionary(t) else t
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return events
    return with_time_format(table.column(column).to_pandas(), events)


def output_zone(zones) -> str | None:
    """The zone of the output from the zones of the pieces (None: naive, or steps): the one
    zone they all have, else UTC.
    """
    zones = set(zones)
    if len(zones) > 1:
        return "UTC"
    return zones.pop() if zones else None
