"""Calibration of bootstrap intervals (issue 7): do 95% intervals of a model's credit share
cover the model's own estimand, its share on the population, in >= 90% of replications?

    .venv/bin/python benchmarks/bench_coverage.py [--population 1000000] [--sample 5000]
        [--replications 60] [--n-boot 200] [--n-jobs 2]

The population is one simulated event log (noisy-OR tier); the estimand is the model fitted on
all of it. Each replication fits the model on a random sample of journeys, bootstraps it, and
checks, per entity, whether the 95% percentile interval holds the population share. Coverage
is the mean over entities and replications; entities with a population share below 0.5% are
reported separately (intervals of near-zero shares are bounded by 0).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _common import simulated_journeys, write
from joblib import Parallel, delayed

import attribution as at

MODELS = {"linear": {}, "last": {}, "position": {}, "markov": {},
          "shapley": {}, "logistic": dict(random_state=0), "shao_li": {}}


def one(name, pop, estimand, n, n_boot, seed, interval="percentile"):
    rng = np.random.default_rng(seed)
    sample = pop.select(np.sort(rng.choice(pop.n_journeys, n, replace=False)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = at.bootstrap(at.get_model(name, **MODELS[name]), sample, n_boot=n_boot,
                          random_state=seed, interval=interval).set_index("entity")
    est = estimand.reindex(ci.index).dropna()
    ci = ci.loc[est.index]
    hit = (ci["share_lower"] <= est) & (est <= ci["share_upper"])
    return pd.DataFrame({"model": name, "entity": est.index, "covered": hit.to_numpy(),
                         "population_share": est.to_numpy(),
                         "width": (ci["share_upper"] - ci["share_lower"]).to_numpy()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--population", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=5000)
    ap.add_argument("--replications", type=int, default=60)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--logistic-C", type=float, default=None,
                    help="L2 penalty of Logistic (default: the model's)")
    ap.add_argument("--out", default="bench_coverage", help="results file name")
    ap.add_argument("--interval", default="percentile", choices=["percentile", "bc"])
    args = ap.parse_args()
    if args.logistic_C is not None:
        MODELS["logistic"] = dict(MODELS["logistic"], C=args.logistic_C)
    pop = simulated_journeys(args.population, seed=3)
    rows, frames = [], []
    for name in args.models:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = at.get_model(name, **MODELS[name]).fit(pop).result_.to_frame()
        estimand = full.set_index("entity")["share"]
        seeds = np.random.SeedSequence(17).generate_state(args.replications)
        parts = Parallel(n_jobs=args.n_jobs)(
            delayed(one)(name, pop, estimand, args.sample, args.n_boot, int(s), args.interval)
            for s in seeds)
        df = pd.concat(parts, ignore_index=True)
        frames.append(df)
        big = df["population_share"] >= 0.005
        rows.append(dict(model=name, replications=args.replications,
                         coverage=round(df["covered"].mean(), 3),
                         coverage_entities=round(
                             df.loc[~df["entity"].str.startswith("("), "covered"].mean(), 3),
                         coverage_share_ge_0_5pct=round(df.loc[big, "covered"].mean(), 3),
                         coverage_share_lt_0_5pct=round(df.loc[~big, "covered"].mean(), 3)
                         if (~big).any() else float("nan"),
                         mean_width=round(df["width"].mean(), 4),
                         seconds=round(time.perf_counter() - t0, 1)))
        print(rows[-1], flush=True)
    write(args.out, pd.DataFrame(rows),
          f"95% {args.interval} intervals, {args.replications} samples of {args.sample:,} journeys "
          f"from a {args.population:,}-journey population, {args.n_boot} replicates each; "
          "target coverage >= 0.90.")


if __name__ == "__main__":
    main()
