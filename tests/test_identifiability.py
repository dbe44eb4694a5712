"""Entities a value model cannot identify from the journeys are named in a warning: one seen
in every journey (its effect and the baseline are one number) and one seen only in
converting journeys (complete separation: its effect is what the penalty allows)."""

import warnings

import pandas as pd
import pytest

import attribution as at

BASE = [("a", 100, 900), ("b", 50, 950), ("a > b", 200, 800), ("c", 30, 970)]


def paths(rows):
    return at.Journeys.from_paths(pd.DataFrame(rows, columns=["path", "total_conversions",
                                                              "total_null"]))


MODELS = [lambda: at.Logistic(random_state=0),
          lambda: at.Shapley(value="model", random_state=0)]


@pytest.mark.filterwarnings("ignore:.*negative Shapley values")
@pytest.mark.parametrize("model", MODELS)
def test_an_entity_in_every_journey_is_named(model):
    j = paths([(f"w > {p}", c, n) for p, c, n in BASE])
    with pytest.warns(at.AttributionWarning, match="'w' is in every journey"):
        model().fit(j)


@pytest.mark.filterwarnings("ignore:.*negative Shapley values")
@pytest.mark.parametrize("model", MODELS)
def test_an_entity_only_in_converting_journeys_is_named(model):
    j = paths(BASE + [("s", 50, 0), ("s > a", 20, 0), ("t", 5, 0)])
    with pytest.warns(at.AttributionWarning, match="'s' \\(and 1 more\\) is seen only in "
                                                   "converting journeys"):
        model().fit(j)


@pytest.mark.parametrize("model", MODELS)
def test_identified_entities_are_not_warned(model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model().fit(paths(BASE))
