"""Input tables of any kind: pandas, polars, pyarrow (or any Arrow stream) as one pandas frame.

:func:`as_pandas` is the single entry point :meth:`Journeys.from_events
<attribution.Journeys.from_events>` and :meth:`~attribution.Journeys.from_paths` read their
frame through. A pandas DataFrame passes unchanged. Any other eager table that `narwhals
<https://narwhals-dev.github.io/narwhals/>`_ knows (polars, pyarrow ``Table``, modin, cuDF
...) or that exports the Arrow PyCapsule stream interface (``__arrow_c_stream__``: a pyarrow
``RecordBatchReader``, DuckDB and others) is checked for the named columns first (the same
errors as for pandas, naming the column), then only those columns are converted, through
Arrow: numbers without missing values and, with pandas >= 3, strings stay in Arrow buffers
(no Python objects). The journeys are then read by the same code as a pandas frame, so the
result is the same whatever library the table came from. Row labels of a non-pandas table are
its row positions (0, 1, ...); error messages name rows by them.
"""

from __future__ import annotations

import pandas as pd

from attribution.journeys.validation import (
    ColumnTypeError,
    EmptyInputError,
    require_columns,
)


def as_pandas(df, what: str, columns: dict, extra=()) -> pd.DataFrame:
    """``df`` as a pandas DataFrame holding (at least) the named columns.

    Parameters
    ----------
    df : pandas.DataFrame, polars.DataFrame, pyarrow.Table or Arrow stream
        The input table.
    what : str
        What the table is, for error messages ("event log", "path table").
    columns : dict
        Role -> column name (None: not in the data), checked as for a pandas frame.
    extra : sequence of str
        More columns to keep (covariates).

    Raises
    ------
    ColumnTypeError
        When ``df`` is a lazy table (collect it first). Anything else that is not a table
        is returned as is, for the caller's own check.
    MissingColumnError
        When a named column is not in the table.
    """
    if isinstance(df, (pd.DataFrame, pd.Series)):
        return df  # a Series is refused by the caller's own check
    import narwhals as nw

    frame = nw.from_native(df, eager_only=True, pass_through=True)
    if not isinstance(frame, nw.DataFrame):
        if hasattr(df, "__arrow_c_stream__"):
            frame = nw.from_native(_arrow_table(df), eager_only=True, pass_through=True)
            if not isinstance(frame, nw.DataFrame):
                return df
        elif isinstance(nw.from_native(df, pass_through=True), nw.LazyFrame):
            raise ColumnTypeError(f"{what} is a lazy {type(df).__name__}; call .collect() "
                                  f"first and pass the DataFrame")
        else:
            return df  # not a table: refused by require_frame, as before
    names = list(frame.columns)
    if not names or frame.shape[0] == 0:
        raise EmptyInputError(f"{what} has no rows; pass a table with at least one row")
    require_columns(pd.DataFrame(columns=names), columns)
    wanted = [c for c in (*columns.values(), *extra) if c is not None]
    keep = [c for c in names if c in set(wanted)]
    return frame.select(keep).to_pandas()


def _arrow_table(df):
    """``df`` read through the Arrow stream interface as a pyarrow Table (``df`` itself when
    its stream is not a table, e.g. a single array).
    """
    import pyarrow as pa

    try:
        return pa.table(df)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return df
