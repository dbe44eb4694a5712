"""Where Logistic without pairs is furthest from the sampling floor on the logit tier: the
same scenarios fitted with the pairs the default's score test chooses, with every pairwise
interaction (``Logistic(interactions=True)``), and the true form (logit with the world's two
synergy pairs, ``truth_form_fitted``); ``pairs`` counts each fit's pairwise terms.

A side study of issue 14's logit-tier target: does the default lose to the floor for want of
the synergy terms? Scenarios: the full grid's logit tier at ``--journeys``, restricted to the
given target levels, mean lengths and frequency-effect correlations (seed 0)::

    python benchmarks/bench_logit_pairs.py --journeys 1000000 --levels 0.8 0.9 \\
        --lengths 2 4 --corrs -0.5
"""

from __future__ import annotations

import argparse
import itertools

import pandas as pd
from _common import write
from threadpoolctl import threadpool_limits

from attribution.evaluation import harness
from attribution.evaluation.reference import FITTED_FORM, fitted_form
from attribution.evaluation.scenario import scenario_journeys, simulate_scenario
from attribution.models import get_model


def rows(level, length, corr, n):
    """Harness rows of the four models on one logit-tier scenario."""
    events, truth = simulate_scenario("logit", level, length, corr, 0, n)
    journeys = scenario_journeys(events)
    del events
    true = truth.shapley[truth.shapley.index.isin(journeys.names)]
    models = {"logistic_main": get_model("logistic", interactions=False, random_state=0),
              "logistic": get_model("logistic", random_state=0),
              "logistic_all_pairs": get_model("logistic", interactions=True, random_state=0),
              FITTED_FORM: fitted_form(journeys, truth.world)}
    for name, model in models.items():
        row = harness.score(name, model, journeys, truth, true)
        yield dict(target_top20=level, mean_length=length, frequency_effect_corr=corr,
                   n_journeys=n, link=model.link_, pairs=len(model.interactions_),
                   **{k: row[k] for k in ("model", "tv_distance", "true_top20", "est_top20",
                                          "seconds")})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--journeys", type=int, default=1_000_000)
    p.add_argument("--levels", type=float, nargs="+", default=[0.8, 0.9])
    p.add_argument("--lengths", type=int, nargs="+", default=[2, 4])
    p.add_argument("--corrs", type=float, nargs="+", default=[-0.5])
    a = p.parse_args(argv)
    out = []
    with threadpool_limits(limits=1):
        for level, length, corr in itertools.product(a.levels, a.lengths, a.corrs):
            out.extend(rows(level, length, corr, a.journeys))
            print(pd.DataFrame(out[-4:]).round(4).to_string(index=False), flush=True)
    frame = pd.DataFrame(out)
    write("bench_logit_pairs", frame.round(4),
          "Logit tier, seed 0: Logistic without pairs (interactions=False), default Logistic "
          "(pairs screened by a score test), Logistic(interactions=True) and the true form "
          "fitted (logit with the two synergy pairs); TV distance to the Shapley truth.")


if __name__ == "__main__":
    main()
