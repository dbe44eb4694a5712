"""simulate_journeys on 1M journeys, per tier (target, issue 5: <= 10 s), best of --repeat,
with the peak memory above the start (the largest over the repeats).

    .venv/bin/python benchmarks/bench_simulate.py [--journeys 1000000] [--repeat 2] \
        [--mean-length 4] [--tiers additive logit] [--name bench_simulate]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from _common import PeakRSS, write

from attribution.evaluation.simulate import TIERS, simulate_journeys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--mean-length", type=float, default=4.0)
    ap.add_argument("--tiers", nargs="+", default=list(TIERS), choices=TIERS)
    ap.add_argument("--name", default="bench_simulate", help="results file name")
    args = ap.parse_args()
    rows = []
    for tier in args.tiers:
        best, peak = float("inf"), 0
        for _ in range(args.repeat):
            events = truth = None
            with PeakRSS() as mem:
                t0 = time.perf_counter()
                events, truth = simulate_journeys(args.journeys, tier=tier, targeting=0.3,
                                                  mean_length=args.mean_length, random_state=0)
                best = min(best, time.perf_counter() - t0)
            peak = max(peak, mem.extra)
        rows.append(dict(tier=tier, seconds=round(best, 2), peak_gb=round(peak / 1e9, 2),
                         events=len(events), true_top20=round(truth.top20, 3)))
        print(rows[-1], flush=True)
    write(args.name, pd.DataFrame(rows),
          f"{args.journeys} journeys per tier, mean length {args.mean_length} (truth on the "
          f"first 200,000), best of {args.repeat}; peak_gb: resident memory above the start.")


if __name__ == "__main__":
    main()
