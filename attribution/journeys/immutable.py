"""The immutability of :class:`~attribution.journeys.Journeys`: attributes set once, arrays
read-only (also after pickling), derived values cached.
"""

from __future__ import annotations

from attribution.journeys.arrays import frozen as _frozen


class Immutable:
    """A base whose attributes cannot be set once ``_frozen`` is; ``_DEFAULTS`` fills the
    attributes that objects pickled by older versions lack.
    """

    _DEFAULTS: dict = {}

    def __setattr__(self, name, value):
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable: cannot set {name!r}; use "
                                 f".replace({name}=...) for a new object")
        object.__setattr__(self, name, value)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state):  # pickle and deepcopy copy the arrays: freeze them again
        for key, value in self._DEFAULTS.items():
            state.setdefault(key, value)
        for key, value in state.items():
            object.__setattr__(self, key, _frozen(value))

    def _cached(self, key, fn):
        """A derived value, computed once; its arrays are read-only like the journeys'."""
        if key not in self._cache:
            self._cache[key] = _frozen(fn())
        return self._cache[key]
