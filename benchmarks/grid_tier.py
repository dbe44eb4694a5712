"""One tier of the full concentration grid, run in chunks (one target level and mean length
at a time, three scenarios per seed) so that a long run keeps what it finished: each chunk's
rows go to ``<out>/chunks/*.csv`` and a chunk already there is not run again. At the end
the report of the whole tier is written (harness.report) and the per-tier summary printed.

    python benchmarks/grid_tier.py --tier noisy_or --journeys 200000 \
        --out benchmarks/results/grid_200k_noisy_or
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from attribution.evaluation import harness


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tier", required=True, choices=harness.TIERS)
    p.add_argument("--journeys", type=int, default=200_000)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--models", nargs="+", default=["logistic"])
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    chunks = a.out / "chunks"
    chunks.mkdir(parents=True, exist_ok=True)
    for level in harness.FULL_GRID["target_top20"]:
        if (chunks / f"{a.tier}_{level}.csv").exists():  # a whole level (earlier runs)
            continue
        for length in harness.FULL_GRID["mean_length"]:
            path = chunks / f"{a.tier}_{level}_L{length}.csv"
            if path.exists():
                continue
            spec = dict(harness.FULL_GRID, tier=(a.tier,), seed=tuple(range(a.seeds)),
                        n_journeys=(a.journeys,), target_top20=(level,), mean_length=(length,))
            df = harness.run_grid(spec, models=a.models, n_jobs=a.n_jobs, progress=False)
            df.to_csv(path, index=False)
            print(f"{a.tier} target_top20={level} mean_length={length}: {len(df)} rows",
                  flush=True)
    df = pd.concat([pd.read_csv(f) for f in sorted(chunks.glob("*.csv"))], ignore_index=True)
    harness.report(df, a.out, title=f"Concentration benchmark, {a.tier} tier")
    print(harness.markdown_table(harness.summarise_by_tier(df)))


if __name__ == "__main__":
    main()
