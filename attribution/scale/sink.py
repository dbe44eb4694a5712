"""One output table written a piece at a time (batch scoring), through a temporary file
renamed to the output only once every piece is written (:func:`~attribution.scale.io.atomic_path`).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from attribution.journeys.validation import EmptyInputError
from attribution.scale import io


class TableSink:
    """Frames appended one at a time to one CSV or Parquet output, which appears (renamed from
    a temporary file next to it) only when the ``with`` block ends without error.

    Frames with rows are written as they come; an empty frame is kept only to give an output
    with no rows its columns. ``rows`` counts the rows written.
    """

    def __init__(self, dest):
        self.dest = Path(dest)
        self.format = io.detect_format(dest, "output")
        self.rows = 0
        self._writer = self._schema = self._empty = None

    def __enter__(self):
        self._atomic = io.atomic_path(self.dest)
        self._tmp = self._atomic.__enter__()
        return self

    def write(self, frame) -> None:
        """Append ``frame``, a pandas or Arrow table (same columns and types as before it)."""
        if len(frame):
            self._append(frame)
        elif self._empty is None:
            self._empty = frame

    def _append(self, frame) -> None:
        arrow = isinstance(frame, pa.Table)
        if self.format.kind == "csv":
            header = self._writer is None
            if header:
                self._writer = io.text_output(self._tmp, self.format)
            (frame.to_pandas() if arrow else frame).to_csv(
                self._writer, index=False, header=header, sep=self.format.delimiter)
        else:
            table = frame if arrow else pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._schema = pa.schema([  # categories differ between frames: their values
                    pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
                    for f in table.schema])
                self._writer = pq.ParquetWriter(self._tmp, self._schema)
            self._writer.write_table(table.cast(self._schema))
        self.rows += len(frame)

    def __exit__(self, *exc):
        try:
            if exc[0] is None and self._writer is None:
                if self._empty is None:
                    raise EmptyInputError(f"nothing to write to {str(self.dest)!r}")
                self._append(self._empty)  # no rows anywhere: the columns alone
            if self._writer is not None:
                self._writer, writer = None, self._writer
                writer.close()
        except BaseException as err:
            if self._writer is not None:
                self._writer.close()
            self._atomic.__exit__(type(err), err, err.__traceback__)
            raise
        return self._atomic.__exit__(*exc)
