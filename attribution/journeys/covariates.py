"""Journey covariates: per-journey columns (intent score, segment, device) a Journeys carries.

Covariates describe the journey, not its touches: models use them to adjust for confounding
(:mod:`attribution.models._covariates`) and never give them credit. A Journeys stores each
covariate as integer codes into its categories, one per journey:

- a column of pandas ``category`` dtype keeps its categories (and their order);
- a numeric column (not bool) with more distinct values than ``covariate_bins`` is
  *continuous*: it is cut into ``covariate_bins`` quantile bins, left-closed intervals
  ``[a, b)`` with ``-inf`` and ``+inf`` at the ends, so that values outside the range seen
  still fall in a bin. The quantiles are weighted by each journey's conversions + nulls (its
  number of journeys; a path-table row counts as many journeys as it holds), computed once
  when the Journeys is built, recorded in :attr:`Journeys.covariate_edges` and reused by every
  later operation (select, aggregate, transform, concat): they are never recomputed on a part.
  Ties at a quantile merge bins (fewer bins, never an empty one);
- any other column (strings, bools, numbers with few values) is categorical, with its sorted
  distinct values as categories.

``covariate_bins`` is an integer >= 2 (default 5) or a mapping ``{column: edges}``, e.g. the
:attr:`~attribution.journeys.Journeys.covariate_edges` of journeys read earlier, so that new
data (a later day, a scoring batch) is cut at the same edges; columns not in the mapping get
the default number of bins. Journeys read in parts (batch scoring, Dask partitions) would
each compute their own quantiles: concatenating parts whose edges differ is refused, naming
the column; pass the same mapping to every part.

Missing values are an error naming the column and row (fill them first, e.g. with a
``"missing"`` category: the package does not guess whether missing means "unknown" or "none").
A covariate name may not be an entity or channel name, nor ``(baseline)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from attribution.journeys import reshape as _reshape
from attribution.journeys.validation import (
    InputError,
    ParameterError,
    _row_list,
    require_columns,
    require_frame,
)

DEFAULT_BINS = 5
RESERVED = ("(baseline)", "(unattributed)")


def column_list(covariates) -> list:
    """``covariates`` (a column name or a list of them) as a list of distinct names."""
    if covariates is None:
        return []
    cols = [covariates] if isinstance(covariates, str) else covariates
    if not isinstance(cols, (list, tuple, pd.Index, np.ndarray)) or not all(
            isinstance(c, (str, int, np.integer)) and not isinstance(c, bool) for c in cols):
        raise ParameterError(f"covariates must be a list of column names, got "
                             f"{type(covariates).__name__} {covariates!r:.60}")
    cols = list(cols)
    if len(set(cols)) != len(cols):
        raise ParameterError(f"covariates names a column twice: {cols}")
    return cols


def columns_of(df, covariates, roles: dict) -> list:
    """The covariate columns named by ``covariates`` (:func:`column_list`), checked: columns of
    ``df``, none of them the column of another role (journey, time, path ...).
    """
    cols = column_list(covariates)
    if not cols:
        return cols
    require_frame(df, "input")
    require_columns(df, {f"covariates[{i}]": c for i, c in enumerate(cols)})
    for role, col in roles.items():
        if col is not None and col in cols:
            raise ParameterError(f"column {col!r} is the {role} column; it cannot also be a "
                                 f"covariate (a covariate describes the whole journey)")
    return cols


# ---------------------------------------------------------------------- coding (constructor)
def coded(table, n: int, bins, weights: np.ndarray, entity_names) -> tuple[tuple, tuple]:
    """The covariates of ``n`` journeys as ``(columns, edges)``: ``columns`` a tuple of
    ``(name, codes, categories)`` (codes int32, one per journey), ``edges`` a tuple of
    ``(name, edges)`` for the binned columns. ``table`` is a DataFrame with one row per
    journey or None; ``bins`` an int or a mapping (module docstring); ``weights`` the
    journeys' conversions + nulls (weights of the quantiles).
    """
    if table is None:
        return (), ()
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"covariates must be a pandas DataFrame with one row per journey, "
                             f"got {type(table).__name__}")
    if len(table) != n:
        raise InputError(f"covariates must have one row per journey ({n}), got {len(table)}")
    fixed = _bins_mapping(bins)
    default = bins if isinstance(bins, (int, np.integer)) else DEFAULT_BINS
    taken = set(map(str, entity_names)) | set(RESERVED)
    cols, edges = [], []
    for name in table.columns:
        if str(name) in taken:
            raise InputError(f"covariate {name!r} has the name of an entity, a channel or "
                             f"{RESERVED[0]}; rename the column (covariates never get credit)")
        codes, cats, cut = _coded_column(table[name].reset_index(drop=True), name, default,
                                         fixed.get(name), weights)
        cols.append((name, codes, cats))
        if cut is not None:
            edges.append((name, cut))
    if len({str(c[0]) for c in cols}) != len(cols):
        raise InputError(f"covariate names must be distinct, got {list(table.columns)}")
    return tuple(cols), tuple(edges)


def _bins_mapping(bins) -> dict:
    """The fixed edges of ``covariate_bins`` (empty for an integer), checked."""
    if isinstance(bins, Mapping):
        out = {}
        for name, e in bins.items():
            arr = np.asarray(e, dtype=np.float64)
            if arr.ndim != 1 or len(arr) < 2 or not (np.diff(arr) > 0).all():
                raise ParameterError(f"covariate_bins[{name!r}] must be increasing bin edges "
                                     f"(at least two), got {e!r:.60}")
            out[name] = np.concatenate([[-np.inf] if arr[0] > -np.inf else [], arr,
                                        [np.inf] if arr[-1] < np.inf else []])
        return out
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ParameterError(f"covariate_bins must be an integer >= 2 (quantile bins of a "
                             f"continuous covariate) or a mapping column -> edges, got {bins!r}")
    return {}


def _coded_column(s: pd.Series, name, bins: int, edges, weights):
    """Codes, categories and (for a binned column) edges of one covariate column."""
    if s.isna().any():
        rows = np.flatnonzero(s.isna().to_numpy())
        raise InputError(f"covariate {name!r} is missing for journey(s) {_row_list(rows)}; "
                         f"fill it first (e.g. with a 'missing' category)")
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if edges is not None and not cats.equals(_intervals(edges)):
            raise InputError(f"covariate {name!r} is categorical but covariate_bins gives it "
                             f"edges; pass the raw numbers to bin them")
        return s.cat.codes.to_numpy().astype(np.int32), cats, edges
    numeric = s.dtype.kind in "iuf"
    if edges is None and numeric and s.nunique() > bins:
        edges = _quantile_edges(s.to_numpy(np.float64), weights, bins)
    if edges is not None:
        if not numeric:
            raise InputError(f"covariate {name!r} has bin edges but holds {s.dtype} values; "
                             f"bins need numbers")
        x = s.to_numpy(np.float64)
        if not np.isfinite(x).all():
            raise InputError(f"covariate {name!r} holds an infinite value at journey "
                             f"{int(np.flatnonzero(~np.isfinite(x))[0])}")
        codes = np.searchsorted(edges, x, side="right") - 1
        return codes.astype(np.int32), _intervals(edges), edges
    try:
        codes, cats = pd.factorize(s, sort=True)
    except TypeError as exc:
        raise InputError(f"covariate {name!r} mixes values of types that do not compare; "
                         f"make it one type (e.g. .astype(str))") from exc
    if len(cats) > 1 and pd.Index(cats.astype(str)).duplicated().any():
        raise InputError(f"covariate {name!r} holds labels of different types that print "
                         f"alike (1 and '1'); make it one type")
    return codes.astype(np.int32), pd.Index(cats), None


def _intervals(edges) -> pd.IntervalIndex:
    return pd.IntervalIndex.from_breaks(edges, closed="left")


def _quantile_edges(x: np.ndarray, w: np.ndarray, bins: int) -> np.ndarray:
    """Edges -inf, the weighted (lower) quantiles at 1/bins ... (bins-1)/bins, +inf; ties
    merged and an edge at the minimum dropped, so that no bin is empty.
    """
    if not np.isfinite(x).all():
        raise InputError("a continuous covariate holds an infinite value; cap or drop it")
    w = np.asarray(w, dtype=np.float64)
    if not w.sum() > 0:
        w = np.ones(len(x))
    order = np.argsort(x, kind="stable")
    xs, cw = x[order], np.cumsum(w[order])
    at = np.searchsorted(cw, cw[-1] * np.arange(1, bins) / bins, side="left")
    inner = np.unique(xs[np.minimum(at, len(xs) - 1)])
    inner = inner[inner > xs[0]]
    return np.concatenate([[-np.inf], inner, [np.inf]])


# ---------------------------------------------------------------------- reading
def frame(columns: tuple, idx=None) -> pd.DataFrame | None:
    """The covariates as a DataFrame of categoricals (rows ``idx``; all when None)."""
    if not columns:
        return None
    return pd.DataFrame({name: pd.Categorical.from_codes(codes if idx is None else codes[idx],
                                                         categories=cats)
                         for name, codes, cats in columns})


def code_matrix(columns: tuple) -> np.ndarray:
    """The codes of every covariate, shape (n_journeys, n_covariates), int64."""
    return np.stack([c[1].astype(np.int64) for c in columns], axis=1)


def refined(groups, columns: tuple):
    """Path groups split by the covariates: journeys share a group when they share the path
    *and* every covariate; groups numbered by first appearance, with their first journey.
    """
    if groups is None or not columns:
        return groups
    key = np.asarray(groups[0], dtype=np.int64)
    for _, codes, cats in columns:
        key = pd.factorize(key * max(len(cats), 1) + codes)[0].astype(np.int64)
    _, first = np.unique(key, return_index=True)
    return key, first.astype(np.int64)


# ---------------------------------------------------------------------- reshaping
def select(j, which):
    """:meth:`Journeys.select` for journeys with covariates: the rows taken with them."""
    idx = _reshape.positions(which, j.n_journeys)
    out = _reshape.select(j.replace(covariates=None), idx)
    return out.replace(covariates=frame(j.covariate_columns, idx),
                       covariate_bins=j.covariate_edges)


def aggregate(j):
    """:meth:`Journeys.aggregate` for journeys with covariates: one row per distinct
    (path, covariates), in order of first appearance.
    """
    from attribution.journeys.paths import group_identical_paths

    groups = j.path_groups or refined(group_identical_paths(j.offsets, j.codes),
                                      j.covariate_columns)
    bare = j.replace(covariates=None, path_groups=groups)
    out = _reshape.aggregate(bare)
    return out.replace(covariates=frame(j.covariate_columns, groups[1]),
                       covariate_bins=j.covariate_edges)


def concat_frames(parts) -> tuple[pd.DataFrame | None, dict]:
    """The covariates of parts concatenated, with their edges. Every part must have the same
    covariates; a binned one the same edges in each; categories are united (sorted).
    """
    names = [tuple(str(c[0]) for c in p.covariate_columns) for p in parts]
    if len(set(names)) > 1:
        raise InputError(f"the parts have different covariates: {sorted(set(names))}; read "
                         f"every part with the same covariates=[...]")
    if not names[0]:
        return None, {}
    edges = parts[0].covariate_edges
    for i, p in enumerate(parts[1:], 1):
        e = p.covariate_edges
        bad = [n for n in set(edges) | set(e) if n not in edges or n not in e
               or not np.array_equal(edges[n], e[n])]
        if bad:
            raise InputError(f"covariate {bad[0]!r} was binned with other edges in part {i} "
                             f"than in part 0 (quantiles of each part); read every part with "
                             f"covariate_bins=<part 0>.covariate_edges")
    out = {}
    for k, (name, _, cats) in enumerate(parts[0].covariate_columns):
        cols = [pd.Categorical.from_codes(p.covariate_columns[k][1],
                                          categories=p.covariate_columns[k][2]) for p in parts]
        same = all(c.categories.equals(cats) for c in cols)
        out[name] = (pd.Categorical.from_codes(np.concatenate([c.codes for c in cols]),
                                               categories=cats) if same
                     else pd.api.types.union_categoricals(cols, sort_categories=True))
    return pd.DataFrame(out), edges


# ---------------------------------------------------------------------- event logs, path tables
def event_covariates(df, covariates: list, order, anchor, touch_rows, counts, ids):
    """The covariates of journeys cut from an event log: one row per journey, read on the row
    closing it (its conversion, or an open journey's last row). The value must be the same on
    every touch the journey keeps, else :class:`InputError` names the column, the journey
    and both rows. ``order`` maps sorted rows to input positions (None: in order already);
    ``anchor`` and ``touch_rows`` are sorted rows of each journey's closing row and touches.
    """
    def orig(rows):
        return rows if order is None else order[rows]

    a_rows, t_rows = orig(anchor), orig(touch_rows)
    out = {}
    for col in covariates:
        s = df[col]
        code = pd.factorize(s)[0]  # -1: missing
        used = np.concatenate([a_rows, t_rows])
        miss = code[used] < 0
        if miss.any():
            raise InputError(f"covariate {col!r} is missing at row(s) "
                             f"{_row_list(df.index[np.unique(used[miss])])} of a journey; "
                             f"fill it first (e.g. with a 'missing' category)")
        differs = code[t_rows] != np.repeat(code[a_rows], counts)
        if differs.any():
            t = int(np.flatnonzero(differs)[0])
            jn = int(np.searchsorted(np.cumsum(counts), t, side="right"))
            ra, rt = df.index[a_rows[jn]], df.index[t_rows[t]]
            plain = [v.item() if isinstance(v, np.generic) else v
                     for v in (ids[jn], s.iloc[t_rows[t]], rt, s.iloc[a_rows[jn]], ra)]
            raise InputError(
                f"covariate {col!r} varies within the journey {plain[0]!r}: {plain[1]!r} at "
                f"row {plain[2]!r}, {plain[3]!r} at row {plain[4]!r} (the "
                f"row closing it); a covariate describes the whole journey: give every row of "
                f"a journey one value")
        out[col] = s.iloc[a_rows].reset_index(drop=True)
    return pd.DataFrame(out)


class CovariateAccess:
    """The covariate attributes of :class:`~attribution.journeys.Journeys` (a mixin)."""

    _cov: tuple = ()
    _cov_edges: tuple = ()

    @property
    def covariates(self) -> pd.DataFrame | None:
        """The journey covariates, one row per journey, each column a pandas Categorical (a
        binned column's categories are its intervals ``[a, b)``); None without covariates.
        A new frame at every access: changing it does not change the journeys.
        """
        return frame(self._cov)

    @property
    def covariate_names(self) -> list:
        """The covariate column names (empty without covariates)."""
        return [c[0] for c in self._cov]

    @property
    def covariate_columns(self) -> tuple:
        """Each covariate as ``(name, codes, categories)``: codes int32, one per journey."""
        return self._cov

    @property
    def covariate_edges(self) -> dict:
        """The bin edges of each binned (continuous) covariate, name -> array, first -inf and
        last +inf: pass them as ``covariate_bins=`` to cut new data at the same edges.
        """
        return {name: edges.copy() for name, edges in self._cov_edges}


def rows_of(df, covariates: list, rows) -> pd.DataFrame:
    """The covariate columns of a path table at the rows kept (all when ``rows`` is None)."""
    return df[covariates].iloc[slice(None) if rows is None else rows].reset_index(drop=True)
