"""Does ``link="auto"`` pick the generating family? (issue 14 target: >= 18 of 20 trials)

Trials: the simulator's tiers whose outcome is one of the links, five seeds each (20 trials):
additive and upstream (p = b + sum theta, the identity link; upstream's induced touches are
observed touches), noisy-OR, and logit (which adds synergy pairs the main-effects model does
not have). Each trial simulates the harness's 80/20 scenario (mean length 4) at ``--journeys``
and fits the default ``Logistic()``; the table gives each link's held-out log-loss and the
choice.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_link_auto.py [--journeys 200000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from _common import write

import attribution as at
from attribution.evaluation.scenario import scenario_journeys, simulate_scenario

FAMILY = {"additive": "identity", "upstream": "identity", "noisy_or": "noisy_or",
          "logit": "logit"}


def trial(tier, seed, n):
    journeys = scenario_journeys(simulate_scenario(tier, 0.8, 4, 0.0, seed, n)[0])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = at.Logistic(random_state=seed).fit(journeys)
    scores = model.link_scores_.set_index("link")["log_loss"]
    best, second = scores.nsmallest(2).to_numpy()
    return dict(tier=tier, seed=seed, generating=FAMILY[tier], chosen=model.link_,
                correct=model.link_ == FAMILY[tier],
                **{f"loss_{k}": round(float(v), 6) for k, v in scores.items()},
                margin_per_journey=round(float(second - best), 7),
                seconds=round(time.perf_counter() - t0, 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=200_000)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    rows = [trial(tier, seed, args.journeys) for tier in FAMILY for seed in range(args.seeds)]
    frame = pd.DataFrame(rows)
    hits = int(frame["correct"].sum())
    write("bench_link_auto", frame,
          f"link='auto' picked the generating family in {hits} of {len(frame)} trials "
          f"({args.journeys:,} journeys each; target >= 18 of 20). margin_per_journey: the "
          "runner-up's held-out log-loss minus the winner's.")


if __name__ == "__main__":
    main()
