"""Input checks and every user-facing error type of the package.

All errors raised for bad input are subclasses of :class:`AttributionError` and of the matching
builtin (``ValueError`` or ``TypeError``), so ``except ValueError`` keeps working.  Every message
says what is wrong, where (column, row, journey or entity) and how to fix it.
"""

from __future__ import annotations

import reprlib
import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError as _SklearnNotFitted


class AttributionError(Exception):
    """Base class of the errors this package raises for bad input or bad use."""


class InputError(AttributionError, ValueError):
    """The data has a wrong value (NaN, negative count, empty path, ...)."""


class MissingColumnError(InputError, KeyError):
    """A column named in the call is not in the frame."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ColumnTypeError(AttributionError, TypeError):
    """A column has a dtype that cannot be used for its role."""


class EmptyInputError(InputError):
    """The input has no rows (or nothing is left after windows and filters)."""


class NotFittedError(AttributionError, _SklearnNotFitted):
    """A model used before ``fit`` (also a scikit-learn ``NotFittedError``)."""


class UnknownModelError(AttributionError, ValueError):
    """A model name that is not in the registry."""


class ParameterError(AttributionError, ValueError):
    """A model or function parameter has an invalid value."""


class AttributionWarning(UserWarning):
    """A result that is valid but deserves attention (no conversions, negative credit, ...)."""


class DroppedDataWarning(UserWarning):
    """Some events, touches or conversions were dropped; ``journeys.report_`` counts them."""


def _row_list(index: Sequence, limit: int = 5) -> str:
    shown = ", ".join(repr(x.item() if isinstance(x, np.generic) else x)
                      for x in list(index[:limit]))
    more = len(index) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")


def require_frame(df, what: str = "input") -> pd.DataFrame:
    """Check that ``df`` is a non-empty DataFrame."""
    if not isinstance(df, pd.DataFrame):
        raise ColumnTypeError(
            f"{what} must be a pandas DataFrame, got {type(df).__name__}; "
            "read files with pandas.read_csv / read_parquet first"
        )
    if len(df) == 0:
        raise EmptyInputError(f"{what} has no rows; pass a frame with at least one row")
    return df


#: Roles whose column may be None (not in the data); every other role needs a column.
OPTIONAL_ROLES = frozenset({"channel", "conversion", "conversions", "nulls", "value", "stage"})


def require_columns(df: pd.DataFrame, columns: dict[str, str | None],
                    optional: Iterable[str] = OPTIONAL_ROLES) -> None:
    """Check that every named column is in the frame, once.

    Parameters
    ----------
    df : pandas.DataFrame
    columns : dict
        Role -> column name; a role in ``optional`` may be None (not in the data).
    optional : iterable of str
        The roles that may be None.

    Raises
    ------
    ParameterError
        A name that is not a column label (a list, a dict), or None for a required role.
    MissingColumnError
        A name that is not a column of the frame.
    InputError
        A name that labels several columns (a duplicated column, or the first level of
        MultiIndex columns).
    """
    optional = frozenset(optional)
    for role, col in columns.items():
        if col is None and role not in optional:
            raise ParameterError(f"{role} must name a column of the frame, got None; pass e.g. "
                                 f"{role}='<column>'")
        if col is not None and not pd.api.types.is_hashable(col):
            raise ParameterError(f"{role} must be one column name (a str or int), got "
                                 f"{type(col).__name__} {reprlib.repr(col)}; pass e.g. "
                                 f"{role}='<column>'")
    missing = [(role, col) for role, col in columns.items() if col is not None and col not in df]
    if missing:
        wanted = ", ".join(f"{role}={col!r}" for role, col in missing)
        present = ", ".join(repr(str(c)) for c in df.columns)
        raise MissingColumnError(
            f"column(s) not found: {wanted}. The frame has: {present}. "
            f"Pass the right names, e.g. {missing[0][0]}='<column>'"
        )
    for role, col in columns.items():
        if col is not None:
            _require_one_column(df.columns, col, role)


def _require_one_column(labels: pd.Index, col, role: str) -> None:
    """Refuse a column name that labels several columns of the frame."""
    loc = labels.get_loc(col)
    if isinstance(loc, (int, np.integer)):
        return
    found = labels[loc]
    if isinstance(labels, pd.MultiIndex) and not isinstance(col, tuple):
        raise InputError(f"column {col!r} ({role}) names {len(found)} columns of the frame's "
                         f"MultiIndex columns; pass the full label, e.g. {role}={found[0]!r}")
    raise InputError(f"column {col!r} ({role}) appears {len(found)} times in the frame; drop or "
                     f"rename the copies, e.g. df = df.loc[:, ~df.columns.duplicated()]")


def check_no_missing(values: pd.Series, column: str, role: str) -> None:
    """Refuse NaN/NaT/None in a required column, naming the rows."""
    mask = values.isna().to_numpy()
    if mask.any():
        rows = values.index[mask]
        raise InputError(
            f"column {column!r} ({role}) has {int(mask.sum())} missing value(s) at row(s) "
            f"{_row_list(rows)}; drop or fill those rows first"
        )


def check_distinct_labels(labels, column: str, role: str) -> None:
    """Refuse labels of different types that print the same (``1`` and ``"1"``, read from a
    column that mixes numbers and strings): they would be two entities (or persons) with one
    name. ``labels`` are the distinct values of the column.
    """
    idx = pd.Index(labels)
    if not (pd.api.types.is_object_dtype(idx.dtype)
            or isinstance(idx.dtype, pd.CategoricalDtype)) or len(idx) < 2:
        return
    idx = idx.astype(object)
    if pd.api.types.infer_dtype(idx, skipna=True) in ("string", "integer", "floating",
                                                      "boolean", "bytes", "empty"):
        return
    text = idx.astype(str)
    dup = text.duplicated(keep=False)
    if dup.any():
        same = idx[text == text[np.argmax(dup)]][:2]
        kinds = " and ".join(f"{x!r} ({type(x).__name__})" for x in same)
        raise InputError(
            f"column {column!r} ({role}) holds {kinds}, which print the same but differ in "
            f"type; make the column one type, e.g. df[{column!r}] = df[{column!r}].astype(str)")


def numeric_column(values: pd.Series, column: str, role: str) -> np.ndarray:
    """Return a finite, non-negative float64 array from a numeric or boolean column (an object
    column of numbers or booleans, such as a flag with missing values, counts as one).
    """
    dt = values.dtype
    if pd.api.types.is_complex_dtype(dt):
        raise ColumnTypeError(
            f"column {column!r} ({role}) holds complex numbers (dtype {dt}); pass real "
            f"numbers, e.g. df[{column!r}] = df[{column!r}].to_numpy().real if the imaginary "
            f"parts are all 0")
    numbers = pd.api.types.is_object_dtype(dt) and pd.api.types.infer_dtype(
        values, skipna=True) in ("boolean", "integer", "floating", "mixed-integer-float")
    if not numbers and (isinstance(dt, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))):
        raise ColumnTypeError(
            f"column {column!r} ({role}) must be numeric or boolean, got dtype {dt}; "
            f"convert it with pd.to_numeric(df[{column!r}])"
        )
    check_no_missing(values, column, role)
    arr = values.to_numpy(dtype=np.float64)
    return check_finite_nonneg(arr, column, role, values.index)


def check_finite_nonneg(arr: np.ndarray, column: str, role: str, index=None) -> np.ndarray:
    """Refuse infinite or negative entries, naming the rows."""
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        pos = np.flatnonzero(bad)
        rows = index[pos] if index is not None else pos
        raise InputError(
            f"column {column!r} ({role}) must be finite and >= 0, but row(s) {_row_list(rows)} "
            f"hold {_row_list(arr[pos])}; fix or drop those rows"
        )
    return arr


def label_column(values: pd.Series, column: str, role: str, allow_missing: bool = False):
    """Check a label column (touchpoint, channel, stage) and return it as a pandas Series."""
    dt = values.dtype
    ok = (
        isinstance(dt, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dt)
        or pd.api.types.is_object_dtype(dt)
        or pd.api.types.is_integer_dtype(dt)
        or pd.api.types.is_bool_dtype(dt)
    )
    if not ok and not (len(values) and values.isna().all()):  # no label at all: any dtype
        raise ColumnTypeError(
            f"column {column!r} ({role}) must hold labels (strings, categories or integers), "
            f"got dtype {dt}; convert it with df[{column!r}].astype(str)"
        )
    if not allow_missing:
        check_no_missing(values, column, role)
    return values


def check_separator_free(names: Iterable[str], sep: str, what: str) -> None:
    """Refuse names that contain the path separator (they could not be read back)."""
    bad = [n for n in names if sep in n]
    if bad:
        raise InputError(
            f"{what} name(s) {_row_list(bad)} contain the path separator {sep!r}; "
            f"rename them or choose another separator with sep='...'"
        )


def label_list(labels, what: str) -> list | None:
    """``labels`` (None, or a list-like of labels such as ``["purchase"]``) as a list.

    Raises
    ------
    ParameterError
        A bare str (it would be read letter by letter), a number, a mapping, or an item that
        is not one label (a list, a dict).
    """
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)):
        raise ParameterError(f"{what} must be a list of names, got the string {labels!r} (it "
                             f"would be read letter by letter); pass [{labels!r}]")
    if isinstance(labels, Mapping) or not pd.api.types.is_list_like(labels):
        raise ParameterError(f"{what} must be a list of names such as ['purchase'], got "
                             f"{type(labels).__name__} {reprlib.repr(labels)}")
    items = list(labels)
    bad = [x for x in items if not pd.api.types.is_scalar(x)]
    if bad:
        raise ParameterError(f"{what} must be a list of names, but it holds "
                             f"{reprlib.repr(bad[0])}, which is not one name; flatten it")
    return items


def check_parameter(ok: bool, message: str) -> None:
    """Raise :class:`ParameterError` with ``message`` unless ``ok``."""
    if not ok:
        raise ParameterError(message)


#: the end of a dropped-data warning in Python (the command line has no ``report_``)
REPORT_HINT = " See journeys.report_ for the counts."


def warn_dropped(summary: str, stacklevel: int = 3) -> None:
    """Warn once with a summary of what was dropped."""
    warnings.warn(summary + REPORT_HINT, DroppedDataWarning,
                  stacklevel=stacklevel)
