"""Shapley on 1M journeys over 20 touchpoints (mean length 4).

Targets (issue 4): value="count" <= 1 s; value="model" with exact sets up to 12 players <= 20 s
on 2 cores; Logistic fit <= 5 s, with 50 bags <= 30 s at n_jobs=2.

    .venv/bin/python benchmarks/bench_shapley.py [--journeys 1000000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _common import write

import attribution as at


def journeys(n=1_000_000, k=20, seed=0):
    rng = np.random.default_rng(seed)
    lengths = 1 + rng.poisson(3, size=n)
    p = 1 / np.arange(1, k + 1) ** 0.7
    codes = rng.choice(k, size=int(lengths.sum()), p=p / p.sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    lift = np.linspace(0.6, -0.1, k)
    names = [f"tp{i:02d}" for i in range(k)]
    j0 = at.Journeys(offsets, codes, np.zeros(n), np.ones(n), names=names)
    jj, code = j0.distinct()
    logit = -3 + np.bincount(jj, lift[code], minlength=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return at.Journeys(offsets, codes, y, 1 - y, y * 40, names=j0.names)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=1_000_000)
    args = ap.parse_args()
    j = journeys(args.journeys)
    rows = []
    models = [("Shapley count", at.Shapley()),
              ("Shapley model (exact up to 12)", at.Shapley(value="model")),
              ("Shapley model, incremental", at.Shapley(value="model", credit="incremental")),
              ("Shapley rate", at.Shapley(value="rate")),
              ("Logistic", at.Logistic()),
              ("Logistic, 50 bags, n_jobs=2", at.Logistic(n_estimators=50, max_samples=0.5,
                                                          max_features=0.7, n_jobs=2,
                                                          random_state=0)),
              ("ShaoLiProbabilistic", at.ShaoLiProbabilistic())]
    for label, model in models:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", at.AttributionWarning)
            t0 = time.perf_counter()
            model.fit(j)
            dt = time.perf_counter() - t0
        diag = model.result_.diagnostics
        rows.append(dict(model=label, seconds=round(dt, 3),
                         unique_sets=diag.get("unique sets", diag.get("patterns", "")),
                         sampled_sets=diag.get("sampled sets", "")))
        print(rows[-1], flush=True)
    write("bench_shapley", pd.DataFrame(rows),
          f"{args.journeys} journeys, 20 touchpoints, mean length {j.lengths.mean():.2f}; fit "
          "time on a Journeys object (one run).")


if __name__ == "__main__":
    main()
