"""Calibration of bootstrap intervals (issues 7 and 14): do 95% intervals of a model's credit
share cover the model's own estimand, its share on the population, in >= 93% of replications?

    .venv/bin/python benchmarks/bench_coverage.py [--population 1000000] [--sample 5000]
        [--replications 60] [--n-boot 200] [--n-jobs 2] [--interval percentile]
        [--detail rows.csv] [--models linear ...]

The rest of the registry (``first``, ``time_decay``, ``last_non_direct``,
``additive_hazard``, and ``shapley_model``: ``Shapley(value="model")``) with::

    .venv/bin/python benchmarks/bench_coverage.py --out bench_coverage_more \
        --models first time_decay last_non_direct additive_hazard shapley_model

The population is one simulated event log (noisy-OR tier); the estimand is the model fitted on
all of it, with its defaults (Logistic: link="auto", credit="incremental"). Each replication
fits the model on a random sample of journeys, bootstraps it, and checks, per entity and per
extra row such as ``(baseline)``, whether the 95% interval holds the population share. Shares
are of the total including the extra rows, on both sides (``result_.to_frame()`` and the
bootstrap's ``share``), so sample and population measure the same thing. Coverage is the
mean over rows and replications; ``coverage_entities`` leaves out the extra rows, and rows
with a population share below 0.5% are reported separately (a share with a handful of
conversions behind it in a sample of 5,000 can be 0 in every replicate). The rows of one
replication share its sample, so each ``*_se`` is the standard error of the mean of the
per-replication coverages, not a binomial one.
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
from attribution.inference.bootstrap import INTERVALS

MODELS = {"linear": {}, "last": {}, "position": {}, "markov": {},
          "shapley": {}, "logistic": dict(random_state=0), "shao_li": {}}
#: more models for --models (registry name, parameters): the rest of the registry
MORE = {"first": ("first", {}), "time_decay": ("time_decay", {}),
        "last_non_direct": ("last_non_direct", {}), "additive_hazard": ("additive_hazard", {}),
        "shapley_model": ("shapley", dict(value="model", random_state=0))}


def model_of(name):
    """A new model of the row ``name`` (MODELS or MORE)."""
    registry, params = MORE.get(name, (name, MODELS.get(name, {})))
    return at.get_model(registry, **params)


def one(name, pop, estimand, n, n_boot, seed, interval="percentile"):
    rng = np.random.default_rng(seed)
    sample = pop.select(np.sort(rng.choice(pop.n_journeys, n, replace=False)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = at.bootstrap(model_of(name), sample, n_boot=n_boot,
                          random_state=seed, interval=interval).set_index("entity")
    est = estimand.reindex(ci.index).dropna()
    ci = ci.loc[est.index]
    hit = (ci["share_lower"] <= est) & (est <= ci["share_upper"])
    return pd.DataFrame({"model": name, "seed": seed, "entity": est.index,
                         "covered": hit.to_numpy(),
                         "population_share": est.to_numpy(), "estimate": ci["share"].to_numpy(),
                         "lower": ci["share_lower"].to_numpy(),
                         "upper": ci["share_upper"].to_numpy(),
                         "width": (ci["share_upper"] - ci["share_lower"]).to_numpy()})


def coverage_and_se(df, mask) -> tuple[float, float]:
    """Coverage of the rows in ``mask`` and its standard error. Entities of one replication
    share its sample, so their hits are correlated: the SE is that of the mean of the
    per-replication coverages (standard deviation / sqrt(replications))."""
    if not mask.any():
        return float("nan"), float("nan")
    per_rep = df.loc[mask].groupby("seed")["covered"].mean()
    se = per_rep.std(ddof=1) / np.sqrt(len(per_rep)) if len(per_rep) > 1 else float("nan")
    return float(df.loc[mask, "covered"].mean()), float(se)


def summarise(df) -> dict:
    """Coverage (and SE) overall, on entities only (no ``(baseline)``-like rows), and on
    population shares at or above / below 0.5%."""
    big = df["population_share"] >= 0.005
    out = {}
    for key, mask in (("coverage", np.ones(len(df), bool)),
                      ("coverage_entities", ~df["entity"].str.startswith("(").to_numpy()),
                      ("coverage_share_ge_0_5pct", big.to_numpy()),
                      ("coverage_share_lt_0_5pct", ~big.to_numpy())):
        cov, se = coverage_and_se(df, mask)
        out[key], out[f"{key}_se"] = round(cov, 3), round(se, 3)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--population", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=5000)
    ap.add_argument("--replications", type=int, default=60)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=list(MODELS),
                    choices=[*MODELS, *MORE])
    ap.add_argument("--logistic-C", type=float, default=None,
                    help="L2 penalty of Logistic (default: the model's)")
    ap.add_argument("--out", default="bench_coverage", help="results file name")
    ap.add_argument("--interval", default="percentile", choices=list(INTERVALS))
    ap.add_argument("--detail", default=None,
                    help="also write every (replication, entity) row to this CSV")
    args = ap.parse_args()
    if args.logistic_C is not None:
        MODELS["logistic"] = dict(MODELS["logistic"], C=args.logistic_C)
    pop = simulated_journeys(args.population, seed=3)
    rows, frames = [], []
    for name in args.models:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = model_of(name).fit(pop).result_.to_frame()
        estimand = full.set_index("entity")["share"]
        seeds = np.random.SeedSequence(17).generate_state(args.replications)
        parts = Parallel(n_jobs=args.n_jobs)(
            delayed(one)(name, pop, estimand, args.sample, args.n_boot, int(s), args.interval)
            for s in seeds)
        df = pd.concat(parts, ignore_index=True)
        frames.append(df)
        rows.append(dict(model=name, replications=args.replications,
                         **summarise(df), mean_width=round(df["width"].mean(), 4),
                         seconds=round(time.perf_counter() - t0, 1)))
        print(rows[-1], flush=True)
    if args.detail:
        pd.concat(frames, ignore_index=True).to_csv(args.detail, index=False)
    write(args.out, pd.DataFrame(rows),
          f"95% {args.interval} intervals, {args.replications} samples of {args.sample:,} journeys "
          f"from a {args.population:,}-journey population, {args.n_boot} replicates each; "
          "target coverage >= 0.93; *_se: standard error over replications.")


if __name__ == "__main__":
    main()
