"""AdditiveHazard fit time on simulated journeys (channel and touchpoint level).

Fits ``AdditiveHazard()`` (defaults: observation to the end of the data, rates per day) on the
journeys of ``--journeys`` simulated people (noisy-OR tier, seed 0); the time excludes
simulating and sessionising. Run under the benchmark lock:

    flock /tmp/bench.lock .venv/bin/python benchmarks/bench_hazard.py [--journeys 100000]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from _common import simulated_journeys, write

import attribution as at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    j = simulated_journeys(args.journeys, 0, channel=True)
    print(j)
    rows = []
    for level in ("channel", "touchpoint"):
        jl = j.at_level(level)
        times, m = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            m = at.AdditiveHazard(level=level).fit(jl)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        m.transform(jl)
        score = time.perf_counter() - t0
        rows.append(dict(level=level, journeys=j.n_journeys, touches=j.n_touches,
                         entities=len(jl.names), fit_seconds=round(min(times), 3),
                         transform_seconds=round(score, 3), newton_iterations=m.n_iter_,
                         converged=m.converged_, loglik=round(m.loglik_, 3)))
    write("bench_hazard", pd.DataFrame(rows),
          f"AdditiveHazard() fit on {args.journeys:,} simulated journeys (noisy-OR tier, seed "
          f"0; from_events excluded), best of {args.repeat} runs; transform of all journeys "
          "once.")


if __name__ == "__main__":
    main()
