"""Set games shared by the models whose credit is a Shapley value over each journey's
distinct entities (Shapley, Logistic, ShaoLiProbabilistic): journey sets, credit modes, the
shares of each set's conversions, and per-touch weights from them.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from threadpoolctl import ThreadpoolController

from attribution.journeys.validation import AttributionWarning
from attribution.models import _checks
from attribution.models._allocate import pair_weights

DENOMINATOR_TOL = 1e-9
_PIECE = 1 << 16  # coalitions per call of a game's value function, whatever n_jobs


@functools.cache
def _blas():
    return ThreadpoolController().select(user_api="blas")


def one_blas_thread():
    """A context running BLAS on one thread: a matrix product's last bits depend on how
    many threads share it, so fits and games give the same bits whatever ``n_jobs`` and the
    machine's cores (threads started inside see the limit too).
    """
    return _blas().limit(limits=1)


def in_pieces(value_fn, n_jobs):
    """``value_fn`` evaluated on fixed pieces of its input (threads over the pieces with
    ``n_jobs``): each coalition's value is computed in the same piece at the same place for
    any ``n_jobs``, so the values are bit-identical (run under :func:`one_blas_thread`).
    """
    def v(masks):
        parts = [masks[s: s + _PIECE] for s in range(0, len(masks), _PIECE)]
        if n_jobs in (None, 1) or len(parts) < 2:
            out = [value_fn(p) for p in parts]
        else:
            from joblib import Parallel, delayed

            out = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(value_fn)(p) for p in parts)
        return np.concatenate(out) if out else np.zeros(0)

    return v


def journey_sets(j) -> np.ndarray:
    """Each journey's set of distinct entities as a uint64 bit mask."""
    jj, code = j.distinct()
    bits = np.left_shift(np.uint64(1), code.astype(np.uint64))
    starts = np.searchsorted(jj, np.arange(j.n_journeys))
    return np.bitwise_or.reduceat(bits, starts)


def unique_sorted(x: np.ndarray):
    """``np.unique(x, return_inverse=True)`` by sorting (fast for uint64 masks)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.ones(len(xs), dtype=bool)
    new[1:] = xs[1:] != xs[:-1]
    inv = np.empty(len(x), dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    return xs[new], inv


def check_credit_params(model):
    """Validate the credit, Shapley-kernel and parallelism settings shared by Shapley and
    Logistic.
    """
    if model.credit is not None:
        _checks.choice("credit", model.credit, ("total", "incremental"))
    _checks.integer("max_exact", model.max_exact, 1, 20)
    _checks.integer("n_permutations", model.n_permutations, 2)
    _checks.boolean("clip", model.clip)
    _checks.n_jobs(model.n_jobs)
    _checks.random_state(model.random_state)


def credit_mode(credit, has_baseline=True) -> str:
    """The credit mode a ``credit`` parameter means: None is ``"incremental"`` where the game
    has a baseline v(empty) and ``"total"`` where it has none.
    """
    if credit is None:
        return "incremental" if has_baseline else "total"
    return credit


def shares_from_phi(phi, se, v_set, v_empty, credit, clip, stacklevel=6):
    """Credit shares of each set's conversions from Shapley values (MODELS.md, Shapley).

    Returns ``(shares, baseline_share, unattributed, share_se)`` per set: total credit divides
    phi by v(T) - v(empty); incremental by v(T), with v(empty) / v(T) to the baseline. Sets
    whose denominator is <= 1e-9 (values are probabilities: smaller differences are numerical
    noise) are unattributed.
    """
    denom = v_set - v_empty if credit == "total" else v_set
    bad = denom <= DENOMINATOR_TOL  # below this a difference of probabilities is noise
    safe = np.where(bad, 1.0, denom)
    shares = np.where(bad[:, None], 0.0, phi / safe[:, None])
    base = np.where(bad | (credit == "total"), 0.0, v_empty / safe)
    if (shares < -1e-12).any():
        warnings.warn(f"{int((shares < -1e-12).any(axis=1).sum())} journey set(s) give "
                      "negative Shapley values; they stay negative (clip=True sets them to "
                      "0, breaking additivity)", AttributionWarning, stacklevel=stacklevel)
        if clip:
            pos, base = np.maximum(shares, 0.0), np.minimum(base, 1.0)  # shares + base = 1
            total = pos.sum(axis=1, keepdims=True)
            shares = np.where(total > 0, pos / np.where(total > 0, total, 1.0)
                              * (1 - base[:, None]), 0.0)
    return shares, base, bad, np.where(bad[:, None], 0.0, se / safe[:, None])


def set_credit(j, inv, sets_shares, sets_base, sets_bad, sets_se, stacklevel=5):
    """Entity credit, extra rows and standard errors from per-set shares."""
    n_sets = len(sets_shares)
    conv = np.bincount(inv, j.conversions, minlength=n_sets)
    val = np.bincount(inv, j.value, minlength=n_sets)
    extra = {}
    if sets_base.any():
        extra["(baseline)"] = (float(conv @ sets_base), float(val @ sets_base))
    if sets_bad.any():
        extra["(unattributed)"] = (float(conv[sets_bad].sum()), float(val[sets_bad].sum()))
        warnings.warn(f"{int(sets_bad.sum())} journey set(s) with {conv[sets_bad].sum():g} "
                      "conversions have a value <= 0 and go to (unattributed)",
                      AttributionWarning, stacklevel=stacklevel)
    se = np.sqrt((conv[:, None] ** 2 * sets_se**2).sum(axis=0))
    return conv @ sets_shares, val @ sets_shares, extra, se


def remainder_label(journey_bad):
    """``(unattributed)`` for journeys whose set's denominator is <= 0 (as ``fit`` counts
    them), else ``(baseline)``.
    """
    return np.where(journey_bad, "(unattributed)", "(baseline)")


def labels_of(model, j, compute):
    """The remainder labels of ``j``: those ``_touch_weights`` kept for the same journeys
    (the Shapley values are not computed twice), else ``compute()``.
    """
    kept = model.__dict__.pop("_transform_labels", None)
    bad = kept[1] if kept is not None and kept[0] is j else compute()
    return remainder_label(bad)


def touch_weights_from_shares(j, journey_shares):
    """Per-touch weights from each journey's entity shares (split over the entity's touches)."""
    jj, code = j.distinct()
    pair_share = journey_shares[jj, code]
    return (pair_weights(j, pair_share * j.conversions[jj], j.conversions),
            pair_weights(j, pair_share * j.value[jj], j.value))
