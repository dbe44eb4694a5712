"""Calibration with a simulated lift test (issue 16 targets), TV distance to the truth per seed.

    .venv/bin/python benchmarks/bench_calibration.py [--seeds 5] [--journeys 200000]

Worlds (target_top20 0.8, mean length 4, the harness's catalogue), 200k journeys each:

- ``confounded``: the harness's confounded tier (targeting 0.5, baseline 0.02), intent hidden;
- ``confounded_rare``: the harness's confounded tier where the lifts sit on rare touchpoints
  (frequency-effect correlation -0.5): the scenarios of its grid whose uncalibrated error is
  above 0.15, the premise of issue 16's calibration target;
- ``confounded_strong``: intent hidden, targeting 1.0 and baseline 0.1 (intent then drives
  many conversions: the uncalibrated model's error is large);
- ``additive``, ``noisy_or``, ``logit``: unconfounded tiers (calibration must not hurt).

In each, one lift test (10% holdout, ``truth.lift_test``) on the channel whose touchpoints
reach the most journeys; the default Logistic fitted without and with it
(``fit(journeys, experiments=...)``), both scored by the harness (``harness.score``: TV
distance of the shares of conversions, ``(baseline)`` included). Row ``top3``: lift tests on
the three touchpoints that reach the most journeys instead. ``seconds_*``: the fit of the
default model without and with the one lift test (link chosen by held-out log-loss in both).
"""

from __future__ import annotations

import argparse
import warnings

import pandas as pd
from _common import write

import attribution as at
from attribution.evaluation import harness
from attribution.evaluation.scenario import scenario_journeys
from attribution.evaluation.simulate import simulate_journeys

WORLDS = {"confounded": dict(tier="confounded", targeting=0.5),
          "confounded_rare": dict(tier="confounded", targeting=0.5, frequency_effect_corr=-0.5),
          "confounded_strong": dict(tier="confounded", targeting=1.0, baseline=0.1),
          "additive": dict(tier="additive"), "noisy_or": dict(tier="noisy_or"),
          "logit": dict(tier="logit")}


class Calibrated:
    """The default model fitted with ``experiments`` (harness.score calls ``fit(j)``)."""

    def __init__(self, experiments, seed):
        self.model, self.experiments = at.Logistic(random_state=seed), experiments

    def fit(self, j):
        self.model.fit(j, experiments=self.experiments)
        self.result_, self.credit_mode_ = self.model.result_, self.model.credit_mode_
        return self


def most_exposed(j, level):
    jj = j.at_level(level)
    reach = pd.Series(jj.exposure(), index=jj.names)
    return reach.sort_values(ascending=False).index.astype(str)


def run(world, seed, n):
    events, truth = simulate_journeys(n, catalogue=harness.scenario_catalogue(0.8),
                                      target_top20=0.8, random_state=seed,
                                      observe_intent=False, **WORLDS[world])
    j = scenario_journeys(events)
    true_credit = truth.shapley[truth.shapley.index.isin(j.names)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = harness.score("uncalibrated", at.Logistic(random_state=seed), j, truth,
                             true_credit)
        channel = most_exposed(j, "channel")[0]
        one = truth.lift_test(channel, 0.1, random_state=seed)
        cal = Calibrated(one, seed)
        scored = harness.score("calibrated", cal, j, truth, true_credit)
        top3 = pd.concat([truth.lift_test(t, 0.1, random_state=seed)
                          for t in most_exposed(j, "touchpoint")[:3]])
        cal3 = Calibrated(top3, seed)
        scored3 = harness.score("top3", cal3, j, truth, true_credit)
    e = cal.model.experiments_.iloc[0]
    return dict(world=world, seed=seed, journeys=n, link=cal.model.link_, experiment=channel,
                tv_uncalibrated=round(base["tv_distance"], 4),
                tv_calibrated=round(scored["tv_distance"], 4),
                tv_top3=round(scored3["tv_distance"], 4),
                lift=round(e["incremental"], 1), lift_se=round(e["se"], 1),
                lift_true=round(e["true_incremental"], 1), observational=round(
                    e["observational"], 1), calibrated=round(e["calibrated"], 1),
                weight=float(e["weight"]), seconds_uncalibrated=round(base["seconds"], 1),
                seconds_calibrated=round(scored["seconds"], 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--journeys", type=int, default=200_000)
    ap.add_argument("--worlds", nargs="+", default=list(WORLDS))
    ap.add_argument("--out", default="bench_calibration", help="results file name")
    args = ap.parse_args()
    rows = []
    for world in args.worlds:
        for seed in range(args.seeds if world.startswith("confounded") else
                          min(args.seeds, 3)):
            rows.append(run(world, seed, args.journeys))
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    write(args.out, df,
          "One simulated 10% lift test on the most-exposed channel (tv_calibrated), or on the "
          "three most-exposed touchpoints (tv_top3); TV distance of the default Logistic's "
          "shares to the truth.\n\nCommand: `.venv/bin/python benchmarks/bench_calibration.py "
          f"--seeds {args.seeds} --journeys {args.journeys} --worlds {' '.join(args.worlds)}"
          f" --out {args.out}`")


if __name__ == "__main__":
    main()
