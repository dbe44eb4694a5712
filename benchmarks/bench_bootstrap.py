"""200 bootstrap replicates of MarkovChain on 1M journeys vs one fit (issue 7 target: <= 20x).

    .venv/bin/python benchmarks/bench_bootstrap.py [--journeys 1000000] [--n-boot 200]
        [--n-jobs 2] [--order 1]

Journeys come from the simulator (one journey per person, 21 touchpoint types); "one fit" is
``MarkovChain(order).fit(journeys)`` on the per-journey object, best of 3. The bootstrap fits
once, aggregates to distinct paths, and re-solves the chain per replicate (``n_jobs``
processes).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from _common import simulated_journeys, write

import attribution as at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=1_000_000)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--order", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    j = simulated_journeys(args.journeys, seed=0)
    print(j, flush=True)
    rows = []
    for order in args.order:
        fits = []
        for _ in range(3):
            fresh = j.select(slice(None))  # no cached arrays
            t0 = time.perf_counter()
            at.MarkovChain(order=order).fit(fresh)
            fits.append(time.perf_counter() - t0)
        one = min(fits)
        t0 = time.perf_counter()
        ci = at.bootstrap(at.MarkovChain(order=order), j, n_boot=args.n_boot,
                          n_jobs=args.n_jobs, random_state=0)
        boot = time.perf_counter() - t0
        width = (ci["share_upper"] - ci["share_lower"]).mean()
        rows.append(dict(order=order, journeys=j.n_journeys,
                         distinct_paths=j.aggregate().n_journeys, one_fit_s=round(one, 3),
                         n_boot=args.n_boot, n_jobs=args.n_jobs, bootstrap_s=round(boot, 2),
                         ratio=round(boot / one, 1), mean_share_ci_width=round(width, 5)))
        print(rows[-1], flush=True)
    write("bench_bootstrap", pd.DataFrame(rows),
          f"MarkovChain bootstrap on {args.journeys:,} simulated journeys; target ratio <= 20.")


if __name__ == "__main__":
    main()
