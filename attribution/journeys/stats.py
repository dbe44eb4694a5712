"""Mergeable statistics: journeys from several parts (chunks, partitions, days) as one.

The sufficient statistic of every model is the aggregated table of distinct paths with summed
conversions, nulls and value (:meth:`Journeys.aggregate`, docs/architecture.md). It is
mergeable: the
aggregate of the concatenated parts equals the aggregate of the whole, whatever the split, so
chunks and Dask partitions are aggregated where they are and merged here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from attribution.journeys import paths as _paths
from attribution.journeys.covariates import code_matrix, concat_frames
from attribution.journeys.validation import EmptyInputError, InputError


def union_labels(labels_per_part, sort: bool = False):
    """Union of the parts' labels in order of first appearance (sorted with ``sort``), and
    each part's code map. Linear in the labels of all parts (one hash table).
    """
    arrays = [np.asarray(labels, dtype=object) for labels in labels_per_part]
    union = pd.unique(np.concatenate(arrays)) if arrays else np.array([], dtype=object)
    if sort:
        union = np.sort(union)
    index = pd.Index(union, dtype=object)
    maps = [index.get_indexer(a).astype(np.int32) for a in arrays]
    return np.asarray(union, dtype=object), maps


def _all_sorted(labels_per_part) -> bool:
    """Whether every part's labels are in sorted order (as from_events codes them)."""
    try:
        return all(bool((np.asarray(a[1:]) > np.asarray(a[:-1])).all())
                   for a in labels_per_part)
    except TypeError:  # labels that do not compare
        return False


def concat(parts: Sequence, cls=None):
    """One :class:`~attribution.journeys.Journeys` holding the journeys of every part, in order.

    Vocabularies are united by name. A touchpoint must belong to the same channel in every part
    (else :class:`InputError` names it). Times, ids and stages are kept when every part has
    them; they keep the parts' common time zone, or UTC when the zones differ (naive times
    and times with a zone do not mix). The parts' reports are summed. Covariates: every part
    must have the same ones, a binned covariate the same edges (else :class:`InputError`);
    categories are united. ``cls`` is the class to build (default: the first part's).
    """
    parts = list(parts)
    if not parts:
        raise EmptyInputError("nothing to concatenate: pass at least one Journeys")
    cls = type(parts[0]) if cls is None else cls
    for i, p in enumerate(parts):
        if not isinstance(p, cls):
            raise InputError(f"part {i} is a {type(p).__name__}, not a {cls.__name__}")
    levels = {p.level for p in parts}
    if len(levels) > 1:
        raise InputError(f"the parts are coded at different levels {sorted(levels)}; bring them "
                         "to one level with .at_level('channel') first")
    names, maps = union_labels([p.names for p in parts], _all_sorted([p.names for p in parts]))
    channel_names, ch_maps = union_labels([p.channel_names for p in parts],
                                          _all_sorted([p.channel_names for p in parts]))
    channel_of = np.full(len(names), -1, dtype=np.int32)
    for p, m, cm in zip(parts, maps, ch_maps, strict=True):
        mapped = cm[p.channel_of]
        clash = (channel_of[m] >= 0) & (channel_of[m] != mapped)
        if clash.any():
            t = int(np.flatnonzero(clash)[0])
            raise InputError(
                f"touchpoint {p.names[t]!r} belongs to channel "
                f"{channel_names[channel_of[m[t]]]!r} in one part and "
                f"{p.channel_names[p.channel_of[t]]!r} in another; a touchpoint needs one channel")
        channel_of[m] = mapped
    stage_of = None
    if all(p.stage_of is not None for p in parts):
        stage_of = np.empty(len(names), dtype=object)
        for p, m in zip(parts, maps, strict=True):
            stage_of[m] = p.stage_of
    lengths = np.concatenate([p.lengths for p in parts])
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.concatenate([m[p.codes] for p, m in zip(parts, maps, strict=True)])

    def joined(attr):
        arrays = [getattr(p, attr) for p in parts]
        return None if any(a is None for a in arrays) else np.concatenate(arrays)

    kinds = {p.time_kind for p in parts if p.times is not None}
    if len(kinds) > 1:
        raise InputError("the parts mix datetime and integer touch times")
    times = joined("times")
    zones = {p.time_zone for p in parts}
    if times is not None and len(zones) > 1 and None in zones:
        raise InputError(f"the parts mix naive times and times in zone(s) "
                         f"{sorted(zones - {None})}; read every part with the same tz=")
    zone = None if times is None else zones.pop() if len(zones) == 1 else "UTC"
    covariates, edges = concat_frames(parts)
    return cls(offsets, codes, np.concatenate([p.conversions for p in parts]),
                    np.concatenate([p.nulls for p in parts]),
                    np.concatenate([p.value for p in parts]), names=names,
                    channel_of=channel_of, channel_names=channel_names, stage_of=stage_of,
                    times=times, end_times=joined("end_times"), ids=joined("ids"),
                    seq=joined("seq"), level=parts[0].level, report=_sum_reports(parts),
                    time_kind=kinds.pop() if kinds else parts[0].time_kind, time_zone=zone,
                    covariates=covariates, covariate_bins=edges)


def merge(parts: Sequence):
    """The merged statistic: distinct paths of all parts with summed weights
    (``concat(parts).aggregate()``), in an order of their content (length, hashes, then the
    covariates' codes), so that the same journeys split into parts in any way give the same
    arrays, bit for bit.
    """
    merged = concat(parts).aggregate()
    lengths, h1, h2 = _paths.path_hashes(merged.offsets, merged.codes)
    cov = code_matrix(merged.covariate_columns).T[::-1] if merged.covariate_columns else []
    order = np.lexsort((*cov, h2, h1, lengths))
    if (order == np.arange(len(order))).all():
        return merged
    n = len(order)
    return merged.select(order).replace(path_groups=(np.arange(n), np.arange(n)))


def _sum_reports(parts) -> list[dict]:
    rows = [r for p in parts for r in p.report_records if r.get("step") != "aggregate"]
    if not rows:
        return []
    df = pd.DataFrame(rows)
    keys = [c for c in df.columns if c != "count"]
    summed = df.groupby(keys, sort=False, dropna=False)["count"].sum().reset_index()
    return summed.to_dict(orient="records")
