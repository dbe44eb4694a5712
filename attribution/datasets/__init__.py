"""Bundled sample data."""

from __future__ import annotations

from importlib import resources

import pandas as pd


def load_sample(as_journeys: bool = False):
    """The bundled sample event log (3,000 people, 15 touchpoints over 7 channels).

    Columns: ``user_id``, ``timestamp``, ``touchpoint``, ``channel``, ``stage`` (pre, during,
    post purchase), ``converted`` (1 on conversion rows, which have no touchpoint) and
    ``revenue``. Made by ``scripts/make_sample.py``.

    Parameters
    ----------
    as_journeys : bool
        Return :class:`~attribution.Journeys` (30-day lookback) instead of the event frame.
    """
    path = resources.files(__name__).joinpath("sample_events.csv.gz")
    with resources.as_file(path) as p:
        df = pd.read_csv(p, parse_dates=["timestamp"])
    if not as_journeys:
        return df
    from ..journeys import Journeys

    return Journeys.from_events(df, **SAMPLE_COLUMNS, lookback="30D")


SAMPLE_COLUMNS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint",
                      channel="channel", stage="stage", conversion="converted", value="revenue")
