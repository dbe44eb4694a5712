"""Logistic with link selection on 1M simulated journeys over 20 touchpoints.

Target (issue 14): ``Logistic()`` (link="auto": 5-fold held-out log-loss over logit, noisy-OR
and identity, refit with the winner; interactions="auto": the score-test screen of pairs and
a refit per pair chosen; Shapley credit) <= 60 s at n_jobs=2. Also times it without the
screen (interactions=False) and each fixed link. Results: ``bench_links.md`` (noisy-OR tier),
``bench_links_<tier>.md`` (others). Data: attribution.evaluation.simulate.simulate_journeys
(tier ``--tier``, 18 causal touchpoints + 1 clone + 1 placebo), fit on a Journeys object.

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_links.py [--journeys 1000000] \
        [--tier logit]
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from _common import write

import attribution as at
from attribution.evaluation.simulate import simulate_journeys


def journeys(n, tier, seed=0):
    events, _ = simulate_journeys(n, tier=tier, n_placebo=1, n_clones=1, truth_journeys=1000,
                                  random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.Journeys.from_events(events, journey="user_id", time="timestamp",
                                       touchpoint="touchpoint", conversion="converted",
                                       value="revenue")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=1_000_000)
    ap.add_argument("--tier", default="noisy_or")
    args = ap.parse_args()
    t0 = time.perf_counter()
    j = journeys(args.journeys, args.tier)
    print(f"simulated {j.n_journeys} journeys, {len(j.names)} touchpoints in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    rows = []
    runs = [("auto", False), ("auto", "auto"), ("logit", "auto"), ("noisy_or", "auto"),
            ("identity", "auto")]
    for link, interactions in runs:
        model = at.Logistic(link=link, interactions=interactions, n_jobs=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", at.AttributionWarning)
            t0 = time.perf_counter()
            model.fit(j)
            dt = time.perf_counter() - t0
        scores = model.link_scores_
        rows.append(dict(link=link, interactions=interactions, chosen=model.link_,
                         pairs=len(model.interactions_), seconds=round(dt, 2),
                         patterns=model.result_.diagnostics["patterns"],
                         log_loss=("" if scores is None else
                                   " / ".join(f"{r.link} {r.log_loss:.6f}"
                                              for r in scores.itertuples()))))
        print(rows[-1], flush=True)
    write("bench_links" if args.tier == "noisy_or" else f"bench_links_{args.tier}",
          pd.DataFrame(rows),
          f"Logistic(link=..., n_jobs=2) on {args.journeys} journeys simulated with tier "
          f"{args.tier!r}, {len(j.names)} touchpoints, mean length {j.lengths.mean():.2f}; fit "
          "time on a Journeys object (one run); pairs: terms chosen by the score test "
          "(interactions='auto', the default) or none (False: main effects only, the default "
          "before the screen); log_loss: held-out, per journey.")


if __name__ == "__main__":
    main()
