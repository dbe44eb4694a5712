"""Reading aggregated path tables ("a > b > c", conversions, nulls, value) into journeys.

Parsing is vectorised (pyarrow compute and numpy) and factorises the strings once:

1. the path column is dictionary-encoded: each distinct string is parsed once and every row
   keeps the index of its string (strings are numbered by first appearance);
2. the distinct strings are cut into tokens on their UTF-8 bytes: one scan of the buffer finds
   the separators; each token is a zero-copy slice starting with the separator before it
   (``"a "``, ``"> b"``). Only when the separator overlaps itself in the data (">>" in
   "a>>>b") are they cut by Arrow's split_pattern instead (leftmost first, as str.split);
3. the tokens are dictionary-encoded; their raw spellings are few, and each becomes its name
   once (leading separator cut, whitespace trimmed), so ``" a"`` and ``"a"`` are one name;
4. rows sharing a string share a path; distinct strings are distinct paths unless a name has
   two raw spellings in the same place of a path (then they are grouped by their codes).
Covariates: :mod:`~attribution.journeys.covariates`; polars, pyarrow input: :mod:`.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attribution.journeys import covariates as _cov
from attribution.journeys.frames import as_pandas
from attribution.journeys.path_groups import first_occurrences, renumber
from attribution.journeys.paths import group_identical_paths, ranges
from attribution.journeys.validation import (
    ColumnTypeError,
    InputError,
    _row_list,
    check_no_missing,
    numeric_column,
    require_columns,
    require_frame,
    warn_dropped,
)

SCAN_CHUNK = 1 << 24  # bytes of path strings compared with the separator at a time
# Arrow's default (mimalloc) pool keeps freed pages and needs ~90 MB of fresh pages to encode
# 1M path strings; the system allocator peaks near 45 MB and returns memory when freed.
_POOL = pa.system_memory_pool()
WEIGHTS = ("conversions", "nulls", "value")
VALUE = "total_conversion_value"  # value="auto" reads it where a table has it


def journeys_from_paths(cls, df, *, path, conversions, nulls, value, sep, channel_map,
                        aggregate, covariates=None, covariate_bins=_cov.DEFAULT_BINS):
    """Build ``cls`` (a :class:`~attribution.journeys.Journeys`) from a path table; see
    :meth:`Journeys.from_paths`. With covariates the rows are read one by one (covariates
    binned over the rows) and aggregated afterwards, by (path, covariates).
    """
    if isinstance(value, str) and value == "auto":  # ChannelAttribution's column, if there
        names = getattr(df, "column_names", None) or list(getattr(df, "columns", []))
        value = VALUE if VALUE in names else None
    roles = dict(path=path, conversions=conversions, nulls=nulls, value=value)
    df = as_pandas(df, "path table", roles, _cov.column_list(covariates))
    covariates = _cov.columns_of(df, covariates, roles)
    parsed = parse_path_table(df, path, conversions, nulls, value, sep,
                              aggregate and not covariates)
    report = [dict(step="from_paths", item="rows read", count=len(df))]
    if parsed["dropped"]["rows"]:
        k = parsed["dropped"]["rows"]
        report.append(dict(step="from_paths",
                           item="rows with an empty path (nulls only) dropped", count=k))
        warn_dropped(f"{k} row(s) with an empty path and no conversions were dropped.")
    names = parsed["names"]
    kw, level = {}, "channel"
    if channel_map is not None:
        kw, level = _channel_codes(names, channel_map), "touchpoint"
    if aggregate and not covariates:
        report.append(dict(step="from_paths", item="distinct paths (aggregate=True)",
                           count=len(parsed["offsets"]) - 1))
    if covariates:
        kw.update(covariate_bins=covariate_bins, covariates=_cov.rows_of(df, covariates,
                                                                         parsed["rows"]))
    out = cls(parsed["offsets"], parsed["codes"], parsed["conversions"], parsed["nulls"],
              parsed["value"], names=names, ids=parsed["ids"], level=level, report=report,
              path_groups=parsed["groups"], **kw)
    return out.aggregate() if aggregate and covariates else out


def _channel_codes(names, channel_map) -> dict:
    """``channel_of`` and ``channel_names`` of the touchpoints ``names`` under a mapping."""
    mapping = pd.Series(channel_map)
    missing = [nm for nm in names if nm not in mapping.index]
    if missing:
        raise InputError(f"channel_map has no channel for touchpoint(s) {missing[:5]}; "
                         f"add them to the mapping")
    chans = mapping.loc[list(names)].astype(str).to_numpy()
    channel_names, channel_of = np.unique(chans, return_inverse=True)
    return dict(channel_of=channel_of, channel_names=channel_names)


@dataclass
class _Strings:
    """The distinct path strings, parsed: each string's path in CSR form over ``names``."""

    names: np.ndarray  # sorted vocabulary (object), without the blank name
    lengths: np.ndarray  # touches of each string's path (0: an empty path)
    offsets: np.ndarray  # (n_strings + 1,) CSR offsets into codes
    codes: np.ndarray  # int32 name code of every touch
    empty: np.ndarray  # bool: the string is blank, an empty path
    path: np.ndarray | None  # path index of each string, when two strings can share a path


def parse_path_table(df, path, conversions, nulls, value, sep, aggregate=False):
    """Read a path table into CSR arrays; see :meth:`Journeys.from_paths`.

    Returns a dict: ``names``, ``offsets``, ``codes``, ``conversions``, ``nulls``, ``value``,
    ``ids`` (row labels, None with ``aggregate``), ``groups`` (which rows share a path, or
    None) and ``dropped`` (rows and nulls of the dropped empty paths).
    """
    require_frame(df, "path table")
    columns = dict(zip(WEIGHTS, (conversions, nulls, value), strict=True))
    require_columns(df, {"path": path, **columns})
    col = _path_column(df[path], path, sep)
    inv, strings = _encode_rows(col, path)
    # per row, or summed per distinct string at once (no per-row copies kept)
    weights = {role: _weight(df, column, role, inv if aggregate else None, len(strings))
               for role, column in columns.items()}
    counts, raw_ids, spellings = _split_tokens(strings, sep := sep.strip())
    if counts.max(initial=0) == 1 and (seen := [s for s in ">|,;/" if pc.any(  # " a > b "
            pc.match_substring(strings, f" {s} ")).as_py()]):
        raise InputError(f"sep={sep!r} is in no path, which hold {seen[0]!r}: pass sep={seen[0]!r}")
    vocab, raw_code = _spelling_names(spellings, sep)
    tcode = raw_code[raw_ids]
    empty, holey = _blank_paths(counts, tcode, vocab)
    if holey.any():
        bad = np.flatnonzero(holey)
        raise InputError(
            f"column {path!r} has an empty touchpoint name between separators at row(s) "
            f"{_row_list(df.index[np.isin(inv, bad)])} (e.g. {strings[int(bad[0])].as_py()!r});"
            f" remove the doubled or trailing {sep!r}"
        )
    del strings
    if empty.any():
        conv = weights["conversions"]  # per string with aggregate, else per row
        if (empty & (conv > 0 if aggregate else np.bincount(inv, conv, len(empty)) > 0)).any():
            _refuse_converting_empty(df, path, conversions, empty, inv)
    same_path = _strings_are_paths(raw_ids, raw_code, counts)
    del raw_ids
    parsed = _code_paths(counts, tcode, vocab, empty)
    if not same_path:  # trimming merged raw spellings ("a" and " a"): group exactly
        parsed.path = group_identical_paths(parsed.offsets, parsed.codes)[0]
    if aggregate:
        return _distinct_path_journeys(parsed, weights, inv)
    return _row_journeys(parsed, weights, inv, df.index)


def _path_column(col: pd.Series, path: str, sep) -> pd.Series:
    """The checked path column (strings, no missing values) of a path table."""
    if not (pd.api.types.is_string_dtype(col.dtype) or pd.api.types.is_object_dtype(col.dtype)
            or isinstance(col.dtype, pd.CategoricalDtype)):
        raise ColumnTypeError(
            f"column {path!r} (path) must hold strings like 'a > b > c', got dtype {col.dtype}; "
            f"convert it with df[{path!r}].astype(str)"
        )
    check_no_missing(col, path, "path")
    if not isinstance(sep, str) or not sep.strip():
        raise InputError(f"sep must be a non-blank string such as '>', got {sep!r}")
    return col


def _weight(df, column, role, inv, n_strings) -> np.ndarray:
    """One validated weight column: per row, or summed per distinct string (given ``inv``)."""
    if column is None:
        return np.zeros(n_strings if inv is not None else len(df))
    w = numeric_column(df[column], column, role)
    return w if inv is None else np.bincount(inv, w, minlength=n_strings)


def _encode_rows(col: pd.Series, path: str):
    """Distinct path strings (Arrow, in order of first appearance) and each row's index."""
    try:
        arrow = pa.array(col.astype(str) if isinstance(col.dtype, pd.CategoricalDtype) else col,
                         from_pandas=True)
        if isinstance(arrow, pa.ChunkedArray):  # e.g. after pd.concat of arrow-backed strings
            arrow = arrow.combine_chunks()
        enc = pc.dictionary_encode(arrow, memory_pool=_POOL)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError,
            OverflowError) as exc:
        raise _non_string(col, path) from exc
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        raise _non_string(col, path)  # e.g. an object column of numbers only
    return enc.indices.to_numpy(zero_copy_only=False), enc.dictionary


def _non_string(col: pd.Series, path: str) -> ColumnTypeError:
    """The error for a path column that holds something else than strings."""
    is_str = col.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool)
    pos = int(np.flatnonzero(~is_str)[0]) if not is_str.all() else 0
    bad, value = col.index[pos], col.iloc[pos]
    bad, value = (x.item() if isinstance(x, np.generic) else x for x in (bad, value))
    return ColumnTypeError(
        f"column {path!r} (path) holds a non-string value {value!r} at row {bad!r}; "
        f"convert the column with .astype(str)"
    )


def _split_tokens(strings: pa.Array, sep: str):
    """Cut the distinct strings at ``sep`` (a string with n separators has n + 1 tokens).
    Returns each string's token count, each token's raw-spelling id and the raw spellings
    (an Arrow dictionary).
    """
    offsets, data = _string_buffers(strings)
    starts = _separator_starts(data, offsets, sep.encode())
    if starts is None:  # overlapping separators ("a>>>b" with ">>"): Arrow's leftmost split
        parts = pc.split_pattern(strings, sep, memory_pool=_POOL)
        counts = pc.list_value_length(parts).to_numpy(zero_copy_only=False).astype(np.int64)
        tokens = pc.list_flatten(parts, memory_pool=_POOL)
    else:
        counts, tokens = _token_slices(strings, offsets, starts)
    enc = pc.dictionary_encode(tokens, memory_pool=_POOL)
    return counts, enc.indices.to_numpy(zero_copy_only=False), enc.dictionary


def _string_buffers(strings: pa.Array):
    """Each string's start in the data buffer (n + 1 offsets, int64) and the buffer's bytes."""
    kind = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    _, off_buf, data_buf = strings.buffers()
    offsets = np.frombuffer(off_buf, dtype=kind)[strings.offset:strings.offset + len(strings) + 1]
    data = np.zeros(0, np.uint8) if data_buf is None else np.frombuffer(data_buf, dtype=np.uint8)
    return offsets.astype(np.int64), data


def _separator_starts(data: np.ndarray, offsets: np.ndarray, sep: bytes):
    """The byte position of every separator in the strings, sorted. None when two occurrences
    overlap ("a>>>b" with ">>"), which only a separator whose head is also its tail can do:
    then the leftmost non-overlapping ones count, as in str.split.
    """
    lo, hi = int(offsets[0]), int(offsets[-1])
    found = [np.flatnonzero(data[a:min(a + SCAN_CHUNK, hi)] == sep[0]) + a
             for a in range(lo, hi, SCAN_CHUNK)]  # chunks bound the temporary mask
    starts = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    if len(sep) == 1:
        return starts
    starts = starts[starts + len(sep) <= hi]
    for k in range(1, len(sep)):
        starts = starts[data[starts + k] == sep[k]]
    head = np.zeros(hi - lo + 1, dtype=bool)  # a match may not run into the next string
    head[offsets - lo] = True
    crossing = np.zeros(len(starts), dtype=bool)
    for k in range(1, len(sep)):
        crossing |= head[starts - lo + k]
    starts = starts[~crossing]
    return None if (np.diff(starts) < len(sep)).any() else starts


def _token_slices(strings: pa.Array, offsets: np.ndarray, starts: np.ndarray):
    """The tokens as zero-copy slices of the strings' buffer: a string's first token runs
    from its start, every other token from a separator, each up to the next token.

    Returns each string's token count and the tokens (an Arrow string array).
    """
    n = len(offsets) - 1
    counts = np.diff(np.searchsorted(starts, offsets)) + 1
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    is_first = np.zeros(int(first[-1]), dtype=bool)
    is_first[first[:-1]] = True
    large = pa.types.is_large_string(strings.type)
    bounds = np.empty(int(first[-1]) + 1, dtype=np.int64 if large else np.int32)
    bounds[:-1][is_first] = offsets[:-1]
    bounds[:-1][~is_first] = starts  # both sorted: separators fill the gaps in order
    bounds[-1] = offsets[-1]
    data_buf = strings.buffers()[2]
    tokens = pa.Array.from_buffers(pa.large_string() if large else pa.string(), len(bounds) - 1,
                                   [None, pa.py_buffer(bounds), data_buf])
    return counts, tokens


def _spelling_names(spellings: pa.Array, sep: str):
    """The sorted names and each raw spelling's name code: leading separator cut, whitespace
    trimmed (the blank name ``""``, if any, sorts first).
    """
    cut = pc.if_else(pc.starts_with(spellings, sep), pc.utf8_slice_codeunits(spellings, len(sep)),
                     spellings)
    names = pc.utf8_trim_whitespace(cut).to_numpy(zero_copy_only=False)
    vocab, code = np.unique(names.astype(object), return_inverse=True)
    return vocab, code.astype(np.int32).ravel()


def _blank_paths(counts: np.ndarray, tcode: np.ndarray, vocab: np.ndarray):
    """Which strings are blank (empty paths), which have a blank name inside (an error)."""
    n = len(counts)
    if not (len(vocab) and vocab[0] == ""):
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    first = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    blanks = np.add.reduceat((tcode == 0).astype(np.int64), first)
    empty = (counts == 1) & (blanks == 1)
    return empty, (blanks > 0) & ~empty


def _refuse_converting_empty(df, path, conversions, empty, inv):
    """Raise for the rows with an empty path that carry conversions."""
    conv_rows = numeric_column(df[conversions], conversions, "conversions")
    raise InputError(
        f"row(s) {_row_list(df.index[empty[inv] & (conv_rows > 0)])} of column {path!r} have "
        f"an empty path but carry conversions; a conversion needs at least one touchpoint: "
        f"fill the path or drop the row(s)"
    )


def _strings_are_paths(raw_ids: np.ndarray, raw_code: np.ndarray, counts: np.ndarray) -> bool:
    """True when distinct path strings are distinct paths. A string is given by its raw
    tokens, so two strings with the same names differ only if some name has two raw spellings
    in the same place (only, first, middle or last token): " a" and "a" as last token, say.
    Check that each place maps raw spellings to names one-to-one (counted over the few
    distinct (place, spelling) pairs).
    """
    n_raw = len(raw_code)
    first = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    place = np.zeros(len(raw_ids), dtype=np.int8)  # 0 middle, 1 last, 2 first, 3 only
    place[first] = 2
    place[first + counts - 1] += 1
    key = raw_ids.astype(np.int32 if 4 * n_raw < 2**31 else np.int64)
    key += place.astype(key.dtype) * n_raw
    seen = np.bincount(key, minlength=4 * n_raw).reshape(4, n_raw) > 0
    return all(len(np.unique(raw_code[row])) == int(row.sum()) for row in seen)


def _code_paths(counts, tcode, vocab, empty) -> _Strings:
    """Each string's path as codes into the vocabulary (empty paths' blank name dropped)."""
    if empty.any():  # the blank name is code 0 and only empty paths still hold it
        tcode = tcode[tcode != 0] - 1
        vocab = vocab[1:]
        counts = np.where(empty, 0, counts)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return _Strings(names=vocab, lengths=counts, offsets=offsets,
                    codes=tcode.astype(np.int32, copy=False), empty=empty, path=None)


def _distinct_path_journeys(parsed: _Strings, weights: dict, inv: np.ndarray) -> dict:
    """One journey per distinct path (weights summed per string, strings ordered by first
    appearance): the row CSR is never built.
    """
    empty = parsed.empty
    out = dict(names=parsed.names, ids=None, groups=None,
               dropped={"rows": int(empty[inv].sum()) if empty.any() else 0,
                        "nulls": float(weights["nulls"][empty].sum())})
    if parsed.path is None and not empty.any():  # the distinct strings are the journeys
        out.update(offsets=parsed.offsets, codes=parsed.codes, **weights)
        return out
    keep = ~empty
    path = parsed.path if parsed.path is not None else np.arange(len(empty))
    g = renumber(path, keep)[keep]
    rep = np.flatnonzero(keep)[first_occurrences(g)]  # first string of each path
    lengths = parsed.lengths[rep]
    offsets = np.zeros(len(rep) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out.update(offsets=offsets, codes=parsed.codes[ranges(parsed.offsets[rep], lengths)],
               **{k: np.bincount(g, w[keep], minlength=len(rep)) for k, w in weights.items()})
    return out


def _row_journeys(parsed: _Strings, weights: dict, inv: np.ndarray, index: pd.Index) -> dict:
    """One journey per row (empty paths dropped; ``rows``: the rows kept); ``groups`` records
    which rows share a path, so aggregating them later needs no hashing.
    """
    empty = parsed.empty
    keep = None if not empty.any() else ~empty[inv]
    rinv = inv if keep is None else inv[keep]
    lengths = parsed.lengths[rinv]
    offsets = np.zeros(len(rinv) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = parsed.codes[ranges(parsed.offsets[:-1][rinv], lengths)]
    if parsed.path is None and keep is None:  # strings are numbered by first appearance
        group = rinv.astype(np.int64)
    else:
        path = parsed.path if parsed.path is not None else np.arange(len(empty))
        group = renumber(path, ~empty)[rinv]
    ids = index.to_numpy()

    def rows(a):
        return a if keep is None else a[keep]

    dropped = {"rows": 0 if keep is None else int((~keep).sum()),
               "nulls": 0.0 if keep is None else float(weights["nulls"][~keep].sum())}
    return dict(names=parsed.names, offsets=offsets, codes=codes, ids=rows(ids),
                rows=None if keep is None else np.flatnonzero(keep),
                groups=(group, first_occurrences(group)), dropped=dropped,
                **{k: rows(w) for k, w in weights.items()})
