"""Tier 1, data: the :class:`Journeys` container and everything that builds or reshapes it.

- :mod:`~attribution.journeys.container`: :class:`Journeys`, integer-coded weighted journeys.
- :mod:`~attribution.journeys.arrays`: the arrays a Journeys holds, coerced and checked.
- :mod:`~attribution.journeys.events`: sessionising event logs (windows, conversions).
- :mod:`~attribution.journeys.event_rows`: what each row of an event log is.
- :mod:`~attribution.journeys.times`: time columns and durations (units, kinds).
- :mod:`~attribution.journeys.paths`: path-table parsing and CSR helpers.
- :mod:`~attribution.journeys.reshape`: some journeys, some touches, distinct paths, channels.
- :mod:`~attribution.journeys.transforms`: path transforms (collapse, first, trim, ...).
- :mod:`~attribution.journeys.export`: path strings and path tables written out.
- :mod:`~attribution.journeys.stats`: mergeable statistics (concat, merge, label unions).
- :mod:`~attribution.journeys.validation`: the errors and warnings, and input checks.
- :mod:`~attribution.journeys.describe`: summary statistics of journeys.

Nothing here imports a higher tier (docs/architecture.md).
"""

from attribution.journeys.container import Journeys
from attribution.journeys.stats import concat, merge

__all__ = ["Journeys", "concat", "merge"]
