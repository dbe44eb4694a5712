"""Checks of model parameters: each bad value raises :class:`ParameterError` naming the
parameter, whatever its type (a string where a number belongs, NaN, a bool for an integer,
an array), never a raw numpy or Python error."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from attribution.journeys.covariates import RESERVED as RESERVED_NAMES
from attribution.journeys.validation import InputError, ParameterError


def shown(value, limit: int = 60) -> str:
    """``repr`` of a value for a message: numpy scalars as Python ones (no ``np.str_(...)``),
    long values cut."""
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def names_list(names, limit: int = 5) -> str:
    """Up to ``limit`` names quoted as plain strings, then how many more."""
    names = [str(n) for n in names]
    head = ", ".join(repr(n) for n in names[:limit])
    return head + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def integer(name: str, value, low: int | None = None, high: int | None = None) -> None:
    """An integer (not a bool) in ``[low, high]``."""
    ok = _is_int(value) and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        span = (f" in {low}..{high}" if high is not None else f" >= {low}") if low is not None \
            else ""
        raise ParameterError(f"{name} must be an integer{span}, got {shown(value)}")


def real(name: str, value, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> None:
    """A finite real number (not a bool) within the bounds (open where said)."""
    ok = isinstance(value, Real) and not isinstance(value, (bool, np.bool_))
    if ok:
        x = float(value)
        ok = np.isfinite(x)
        if ok and low is not None:
            ok = x > low if low_open else x >= low
        if ok and high is not None:
            ok = x < high if high_open else x <= high
    if not ok:
        parts = []
        if low is not None:
            parts.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            parts.append(f"{'<' if high_open else '<='} {high:g}")
        span = " and ".join(parts)
        raise ParameterError(f"{name} must be a finite number{' ' + span if span else ''}, "
                             f"got {shown(value)}")


def boolean(name: str, value) -> None:
    """True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be True or False, got {shown(value)}")


def choice(name: str, value, choices) -> None:
    """One of the strings ``choices``."""
    if not (isinstance(value, str) and value in choices):
        raise ParameterError(f"{name} must be one of {', '.join(map(repr, choices))}, got "
                             f"{shown(value)}")


def random_state(value) -> None:
    """None, an integer >= 0, or a numpy Generator or SeedSequence."""
    if value is None or isinstance(value, (np.random.Generator, np.random.SeedSequence)):
        return
    if not (_is_int(value) and value >= 0):
        raise ParameterError("random_state must be None, an integer >= 0 or a numpy Generator, "
                             f"got {shown(value)}")


def n_jobs(value) -> None:
    """None or a non-zero integer (joblib's convention: -1 for every core)."""
    if value is not None and not (_is_int(value) and value != 0):
        raise ParameterError(f"n_jobs must be None or a non-zero integer, got {shown(value)}")


def seed_of(value) -> int:
    """The integer seed a fit uses: ``random_state`` itself when it is one, else drawn from
    it (fresh entropy for None), so that ``transform`` can redraw the same numbers."""
    if _is_int(value):
        return int(value)
    return int(np.random.default_rng(value).integers(0, 2**63))


def no_reserved_names(journeys):
    """``journeys``, after checking that no touchpoint or channel is named like a row the
    models add (``(baseline)``, ``(unattributed)``): the two would be merged or confused."""
    for kind, names in (("touchpoint", journeys.names), ("channel", journeys.channel_names)):
        clash = sorted(set(map(str, names)) & set(RESERVED_NAMES))
        if clash:
            raise InputError(f"a {kind} is named {clash[0]!r}, the name of a row the models "
                             f"add; rename it in the data (e.g. '{clash[0][1:-1]}')")
    return journeys
