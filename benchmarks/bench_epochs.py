"""Attribution over time (issue 16 targets): change detection on drift worlds, false alarms
on stationary ones, and the time of monthly refits of a 1M-journey log.

    .venv/bin/python benchmarks/bench_epochs.py detect [--seeds 20] [--journeys 200000]
        [--n-boot 50]
    .venv/bin/python benchmarks/bench_epochs.py timing [--journeys 1000000] [--n-boot 100]

``detect``: for each seed, a year of journeys (span 365 days from 2024-01-01, additive tier,
default world of the seed) without drift and with the strongest driver's lift halved from
2024-07-01 (``drift={"date": "2024-07-01", "lifts": {driver: 0.5}}``); the default model
(Logistic, link chosen once) refitted per month with ``n_boot`` replicates, then
``detect_changes()`` at its defaults (alpha 0.05, partial epochs left out). A drift world
is found when a change is reported at a boundary within one month of July 2024; a
stationary world raises a false alarm when any change is reported.
``timing``: ``fit_by_epoch`` by month on one simulated year of ``journeys``, ``n_boot``
replicates per epoch, ``n_jobs=2``; the wall time of that call (not of the simulation).
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from _common import RESULTS, write

import attribution as at
from attribution.epochs import fit_by_epoch
from attribution.evaluation.simulate import make_world, simulate_journeys

DATE = "2024-07-01"
NEAR = {"2024-06", "2024-07", "2024-08"}


def year(n, seed, drift=False):
    """A simulated year of journeys (with the strongest driver halved mid-year if drift)."""
    spec = {"date": DATE, "lifts": {make_world(random_state=seed).drivers[0]: 0.5}} if drift \
        else None
    events, truth = simulate_journeys(n, random_state=seed, span_days=365, drift=spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = at.Journeys.from_events(events, journey="user_id", time="timestamp",
                                    touchpoint="touchpoint", channel="channel",
                                    conversion="converted", value="revenue")
    return j, spec


def detect(args):
    rows = []
    for seed in range(args.seeds):
        for drift in (False, True):
            j, spec = year(args.journeys, seed, drift)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fits = fit_by_epoch(at.get_model("logistic"), j, "M", n_boot=args.n_boot,
                                    n_jobs=2, random_state=seed)
            series = fits.series(min_journeys=0).assign(seed=seed, drift=drift)
            series.to_csv(RESULTS / "bench_epochs_series.csv", index=False,
                          mode="a" if (seed, drift) != (0, False) else "w",
                          header=(seed, drift) == (0, False))
            ch = fits.detect_changes()
            boundaries = sorted(set(ch["boundary"].astype(str)))
            rows.append(dict(seed=seed, world="drift" if drift else "stationary",
                             drifted=(next(iter(spec["lifts"])) if drift else ""),
                             changes=";".join(boundaries),
                             found_near=bool(NEAR & set(boundaries)) if drift else None,
                             false_alarm=(len(boundaries) > 0) if not drift else None,
                             moved=";".join(sorted(set(ch["entity"].astype(str))))))
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    found = df.loc[df["world"] == "drift", "found_near"].mean()
    alarms = df.loc[df["world"] == "stationary", "false_alarm"].mean()
    write("bench_epochs_detect", df,
          f"{args.seeds} seeds, {args.journeys} journeys a year, {args.n_boot} replicates per "
          f"month. Drift found within one month of {DATE}: {found:.0%} of seeds (target >= "
          f"90%). Stationary worlds with a change reported: {alarms:.0%} (target <= 5%).\n\n"
          "Command: `.venv/bin/python benchmarks/bench_epochs.py detect --seeds "
          f"{args.seeds} --journeys {args.journeys} --n-boot {args.n_boot}`")


def timing(args):
    j, _ = year(args.journeys, 0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = fit_by_epoch(at.get_model("logistic"), j, "M", n_boot=args.n_boot, n_jobs=2,
                            random_state=0)
    seconds = time.perf_counter() - t0
    df = pd.DataFrame([dict(journeys=j.n_journeys, epochs=len(fits.epochs),
                            n_boot=args.n_boot, seconds=round(seconds, 1))])
    write("bench_epochs_timing", df,
          "fit_by_epoch(Logistic(), journeys, 'M', n_boot, n_jobs=2) on one simulated year "
          "(target: 1M journeys, 12 months, 100 replicates <= 300 s).\n\nCommand: "
          f"`.venv/bin/python benchmarks/bench_epochs.py timing --journeys {args.journeys} "
          f"--n-boot {args.n_boot}`")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["detect", "timing"])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--journeys", type=int, default=None)
    ap.add_argument("--n-boot", type=int, default=None)
    args = ap.parse_args()
    if args.what == "detect":
        args.journeys, args.n_boot = args.journeys or 200_000, args.n_boot or 50
        detect(args)
    else:
        args.journeys, args.n_boot = args.journeys or 1_000_000, args.n_boot or 100
        timing(args)


if __name__ == "__main__":
    main()
