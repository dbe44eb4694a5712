"""Bundled sample data: simulator output with its causal ground truth."""

from __future__ import annotations

from importlib import resources
from typing import Any, NamedTuple

import pandas as pd


class Sample(NamedTuple):
    """What :func:`load_sample` returns: ``events, truth = load_sample()``."""

    events: Any  # pandas.DataFrame, or Journeys with as_journeys=True
    truth: Any  # attribution.evaluation.simulate.Truth


SAMPLE_COLUMNS = dict(journey="user_id", time="timestamp", touchpoint="touchpoint",
                      channel="channel", stage="stage", conversion="converted", value="revenue")


def load_sample(as_journeys: bool = False) -> Sample:
    """The bundled sample and its ground truth.

    10,000 simulated journeys (one per ``user_id``) over 21 touchpoint types in 8 channels,
    made by ``scripts/make_sample.py`` with
    :func:`attribution.evaluation.simulate.simulate_journeys`
    (noisy-OR tier; in truth 20% of the touchpoint types drive 80% of the incremental
    conversions; ``placebo_banner1`` has no effect; ``display_ad_clone1`` and ``_clone2``
    copy ``display_ad``).

    Columns of the events: ``user_id``, ``timestamp``, ``touchpoint``, ``channel``, ``stage``
    (pre, during, post purchase), ``converted`` (1 on conversion rows, which have no
    touchpoint) and ``revenue``.

    Parameters
    ----------
    as_journeys : bool
        Return :class:`~attribution.Journeys` (every touch of a person's journey) instead of
        the event frame.

    Returns
    -------
    Sample
        ``(events, truth)``; ``truth`` is an :class:`attribution.evaluation.simulate.Truth` (true
        Shapley and removal credit per touchpoint, ``channel_shapley``, ``top20``,
        ``lorenz()``, ``to_frame()``).
    """
    from attribution.evaluation.simulate import Truth

    root = resources.files(__name__)
    with resources.as_file(root.joinpath("sample_events.csv.gz")) as p:
        df = pd.read_csv(p, parse_dates=["timestamp"])
    with resources.as_file(root.joinpath("sample_truth.json")) as p:
        truth = Truth.read_json(p)
    if not as_journeys:
        return Sample(df, truth)
    from attribution.journeys import Journeys

    return Sample(Journeys.from_events(df, **SAMPLE_COLUMNS), truth)
