"""Reading aggregated path tables ("a > b > c", conversions, nulls, value) into journeys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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

SPLIT_CHUNK = 1 << 16  # distinct path strings split at a time
# Arrow's default (mimalloc) pool keeps freed pages and needs ~90 MB of fresh pages to encode
# 1M path strings; the system allocator peaks near 45 MB and returns memory when freed.
_POOL = pa.system_memory_pool()


def journeys_from_paths(cls, df, *, path, conversions, nulls, value, sep, channel_map,
                        aggregate):
    """Build ``cls`` (a :class:`~attribution.journeys.Journeys`) from a path table; see
    :meth:`Journeys.from_paths`.
    """
    parsed = parse_path_table(df, path, conversions, nulls, value, sep, aggregate)
    report = [dict(step="from_paths", item="rows read", count=len(df))]
    if parsed["dropped"]["rows"]:
        k = parsed["dropped"]["rows"]
        report.append(dict(step="from_paths",
                           item="rows with an empty path (nulls only) dropped", count=k))
        warn_dropped(f"{k} row(s) with an empty path and no conversions were dropped.")
    names = parsed["names"]
    kw = {}
    level = "channel"
    if channel_map is not None:
        mapping = pd.Series(channel_map)
        missing = [nm for nm in names if nm not in mapping.index]
        if missing:
            raise InputError(f"channel_map has no channel for touchpoint(s) {missing[:5]}; "
                             f"add them to the mapping")
        chans = mapping.loc[list(names)].astype(str).to_numpy()
        channel_names, channel_of = np.unique(chans, return_inverse=True)
        kw = dict(channel_of=channel_of, channel_names=channel_names)
        level = "touchpoint"
    if aggregate:
        report.append(dict(step="from_paths", item="distinct paths (aggregate=True)",
                           count=len(parsed["offsets"]) - 1))
    return cls(parsed["offsets"], parsed["codes"], parsed["conversions"], parsed["nulls"],
               parsed["value"], names=names, ids=parsed["ids"], level=level, report=report,
               path_groups=parsed["groups"], **kw)


def _strings_are_paths(raw_ids, raw_to_name, uoff) -> bool:
    """True when distinct path strings are distinct paths.

    A string is its raw tokens joined by the separator, so two strings with the same trimmed
    tokens differ only if some name has two raw spellings in the same place (only, first,
    middle or last token): " a" and "a" as last token, say. Check that each place maps raw
    spellings to names one-to-one.
    """
    n_raw = len(raw_to_name)
    lengths = np.diff(uoff)
    first, last = uoff[:-1][lengths > 0], uoff[1:][lengths > 0] - 1
    place = np.full(len(raw_ids), 2, dtype=np.int32)  # middle
    place[last] = 3
    place[first] = 1
    place[first[lengths[lengths > 0] == 1]] = 0  # the only token
    place *= n_raw
    place += raw_ids
    seen = np.bincount(place, minlength=4 * n_raw).reshape(4, n_raw) > 0
    for row in seen:
        names = raw_to_name[row]
        if len(np.unique(names)) != len(names):
            return False
    return True


def _encode_rows(col: pd.Series, path: str):
    """Distinct path strings (Arrow, in order of first appearance) and each row's index."""
    try:
        arrow = pa.array(col.astype(str) if isinstance(col.dtype, pd.CategoricalDtype) else col,
                         from_pandas=True)
        if isinstance(arrow, pa.ChunkedArray):  # e.g. after pd.concat of arrow-backed strings
            arrow = arrow.combine_chunks()
        enc = pc.dictionary_encode(arrow, memory_pool=_POOL)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        is_str = col.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool)
        bad = col.index[~is_str][0]
        raise ColumnTypeError(
            f"column {path!r} (path) holds a non-string value {col[bad]!r} at row {bad!r}; "
            f"convert the column with .astype(str)"
        ) from exc
    return enc.indices.to_numpy(zero_copy_only=False), enc.dictionary


def _split_tokens(arr, sep: str):
    """Split the distinct path strings on ``sep``, in chunks to bound memory.

    Returns the token count of each string, each token's raw-spelling id, and the trimmed
    raw spellings (few: "a", " a", "a " ...).
    """
    lens, encoded = [], []
    for start in range(0, len(arr), SPLIT_CHUNK):
        parts = pc.split_pattern(arr.slice(start, SPLIT_CHUNK), sep, memory_pool=_POOL)
        lens.append(pc.list_value_length(parts, memory_pool=_POOL).to_numpy(zero_copy_only=False))
        encoded.append(pc.dictionary_encode(pc.list_flatten(parts, memory_pool=_POOL),
                                           memory_pool=_POOL))
        del parts
    unified = pa.chunked_array(encoded).unify_dictionaries(memory_pool=_POOL)
    trimmed = pc.utf8_trim_whitespace(unified.chunk(0).dictionary)
    raw_ids = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in unified.chunks])
    return np.concatenate(lens).astype(np.int64), raw_ids, trimmed


def parse_path_table(df, path, conversions, nulls, value, sep, aggregate=False):
    """Read a path table into CSR arrays; see :meth:`Journeys.from_paths`."""
    require_frame(df, "path table")
    require_columns(df, {"path": path, "conversions": conversions, "nulls": nulls, "value": value})
    col = df[path]
    if not (pd.api.types.is_string_dtype(col.dtype) or pd.api.types.is_object_dtype(col.dtype)
            or isinstance(col.dtype, pd.CategoricalDtype)):
        raise ColumnTypeError(
            f"column {path!r} (path) must hold strings like 'a > b > c', got dtype {col.dtype}; "
            f"convert it with df[{path!r}].astype(str)"
        )
    check_no_missing(col, path, "path")
    if not isinstance(sep, str) or not sep.strip():
        raise InputError(f"sep must be a non-blank string such as '>', got {sep!r}")
    n = len(df)

    def read_weight(column, role, inv=None, n_uniques=0):
        """One validated weight column: per row, or summed per distinct path string."""
        if column is None:
            return np.zeros(n_uniques if inv is not None else n)
        w = numeric_column(df[column], column, role)
        return w if inv is None else np.bincount(inv, w, minlength=n_uniques)

    if not aggregate:
        conv = read_weight(conversions, "conversions")
        nul = read_weight(nulls, "nulls")
        val = read_weight(value, "value")

    # parse each distinct path string once
    inv, arr = _encode_rows(col, path)
    n_uniques = len(arr)
    if aggregate:  # sum the weights per distinct string at once: no per-row copies kept
        conv = read_weight(conversions, "conversions", inv, n_uniques)
        nul = read_weight(nulls, "nulls", inv, n_uniques)
        val = read_weight(value, "value", inv, n_uniques)
        rows_per_string = np.bincount(inv, minlength=n_uniques)
        inv_rows, inv = inv, None  # per-row codes are only needed again to name bad rows
    ulen, raw_ids, trimmed = _split_tokens(arr, sep.strip())
    blank = pc.equal(pc.utf8_length(trimmed), 0).to_numpy(zero_copy_only=False)[raw_ids]
    uoff = np.zeros(n_uniques + 1, dtype=np.int64)
    np.cumsum(ulen, out=uoff[1:])

    # a path that is entirely blank is an empty journey; a blank between separators is an error
    blank_per_path = np.add.reduceat(blank.astype(np.int64), uoff[:-1]) if blank.size else blank
    empty_path = (ulen == 1) & (blank_per_path == 1)
    holey = (blank_per_path > 0) & ~empty_path
    example = arr[int(np.flatnonzero(holey)[0])].as_py() if holey.any() else None
    del arr  # the distinct strings are not needed any more
    if aggregate:
        inv = inv_rows if (holey.any() or (empty_path & (conv > 0)).any()) else None
    if holey.any():
        rows = df.index[np.isin(inv, np.flatnonzero(holey))]
        raise InputError(
            f"column {path!r} has an empty touchpoint name between separators at row(s) "
            f"{_row_list(rows)} (e.g. {example!r}); remove the doubled or trailing {sep.strip()!r}"
        )
    converts = conv > 0 if aggregate else np.bincount(inv, conv > 0, minlength=n_uniques) > 0
    if (empty_path & converts).any():
        conv_rows = numeric_column(df[conversions], conversions, "conversions")
        rows = df.index[empty_path[inv] & (conv_rows > 0)]
        raise InputError(
            f"row(s) {_row_list(rows)} of column {path!r} have an empty path but carry "
            f"conversions; a conversion needs at least one touchpoint: fill the path or drop "
            f"the row(s)"
        )
    if aggregate:
        del inv_rows
    # distinct trimmed names ("a" and " a" are one name)
    tnames = np.asarray(trimmed.to_pylist(), dtype=object)
    vocab, raw_to_vocab = np.unique(tnames.astype(str), return_inverse=True)
    vocab = vocab.astype(object)
    raw_to_vocab = raw_to_vocab.astype(np.int32)
    strings_are_paths = _strings_are_paths(raw_ids, raw_to_vocab, uoff)
    order = np.argsort(vocab.astype(str), kind="stable")
    remap = np.empty(len(vocab), dtype=np.int32)
    remap[order] = np.arange(len(vocab), dtype=np.int32)
    ucodes = remap[raw_to_vocab][raw_ids]
    del raw_ids, blank
    if empty_path.any():  # drop the blank placeholder of empty paths
        keep_names = vocab[order] != ""
        shift = np.cumsum(~keep_names) if (~keep_names).any() else None
        vocab_sorted = vocab[order][keep_names]
        ulen = np.where(empty_path, 0, ulen)
        keep_touch = ~np.repeat(empty_path, np.diff(uoff))
        ucodes = ucodes[keep_touch]
        if shift is not None:
            ucodes = (ucodes - shift[ucodes]).astype(np.int32)
        uoff = np.zeros(n_uniques + 1, dtype=np.int64)
        np.cumsum(ulen, out=uoff[1:])
    else:
        vocab_sorted = vocab[order]

    if aggregate:  # rows with an empty path and no conversions are dropped
        dropped = {"rows": int(rows_per_string[empty_path].sum()),
                   "nulls": float(nul[empty_path].sum())}
    else:
        keep_rows = ~empty_path[inv]
        dropped = {"rows": int((~keep_rows).sum()), "nulls": float(nul[~keep_rows].sum())}
    # Rows sharing a path string share a path. Distinct strings are distinct paths unless
    # trimming merged raw spellings ("a" and " a"); then group the distinct strings exactly.
    if strings_are_paths:
        ugroup, n_groups = np.arange(n_uniques, dtype=np.int64), n_uniques
    else:
        ugroup, _ = group_identical_paths(uoff, ucodes) if len(ucodes) else (
            np.zeros(n_uniques, dtype=np.int64), None)
        n_groups = int(ugroup.max()) + 1 if n_uniques else 0
    out = dict(names=vocab_sorted, dropped=dropped)
    del trimmed
    if aggregate:
        # one journey per distinct path (weights already summed per distinct string, which
        # is ordered by first appearance): the row CSR is never built
        keep_u = ~empty_path
        if strings_are_paths and keep_u.all():  # the distinct strings are the journeys
            out.update(offsets=uoff, codes=ucodes.astype(np.int32, copy=False),
                       conversions=conv, nulls=nul, value=val, ids=None, groups=None)
            return out
        g = np.where(keep_u, ugroup, -1)
        used = np.zeros(n_groups, dtype=bool)
        used[g[keep_u]] = True
        relabel = np.cumsum(used) - 1
        n_out = int(used.sum())
        g = relabel[g[keep_u]]
        rep = np.full(n_out, n_uniques, dtype=np.int64)  # first distinct string of each path
        np.minimum.at(rep, g, np.flatnonzero(keep_u))
        lengths = ulen[rep]
        offsets = np.zeros(n_out + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ucodes = ucodes.astype(np.int32, copy=False)

        def total(w):
            return np.bincount(g, w[keep_u], minlength=n_out)

        out.update(offsets=offsets, codes=ucodes[ranges(uoff[rep], lengths)],
                   conversions=total(conv), nulls=total(nul), value=total(val), ids=None,
                   groups=None)
        return out
    rinv = inv[keep_rows]
    rlen = ulen[rinv]
    offsets = np.zeros(len(rinv) + 1, dtype=np.int64)
    np.cumsum(rlen, out=offsets[1:])
    codes = ucodes[ranges(uoff[rinv], rlen)].astype(np.int32)
    groups = None
    if keep_rows.all():  # remember which rows share a path: aggregate() is then free
        group = ugroup[inv]
        first = np.full(n_groups, len(inv), dtype=np.int64)
        np.minimum.at(first, group, np.arange(len(inv), dtype=np.int64))
        rank = np.argsort(first, kind="stable")  # number groups by first appearance
        relabel = np.empty(n_groups, dtype=np.int64)
        relabel[rank] = np.arange(n_groups)
        groups = (relabel[group], first[rank])
    out.update(offsets=offsets, codes=codes, conversions=conv[keep_rows],
               nulls=nul[keep_rows], value=val[keep_rows], ids=df.index.to_numpy()[keep_rows],
               groups=groups)
    return out
