"""simulate_journeys on 1M journeys, per tier (target, issue 5: <= 10 s), best of --repeat.

    .venv/bin/python benchmarks/bench_simulate.py [--journeys 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from _common import write

from attribution.evaluation.simulate import TIERS, simulate_journeys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    rows = []
    for tier in TIERS:
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            events, truth = simulate_journeys(args.journeys, tier=tier, targeting=0.3,
                                              random_state=0)
            best = min(best, time.perf_counter() - t0)
        rows.append(dict(tier=tier, seconds=round(best, 2), events=len(events),
                         true_top20=round(truth.top20, 3)))
        print(rows[-1], flush=True)
    write("bench_simulate", pd.DataFrame(rows),
          f"{args.journeys} journeys per tier (truth on the first 200,000), best of "
          f"{args.repeat}.")


if __name__ == "__main__":
    main()
