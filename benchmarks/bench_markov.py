"""MarkovChain against ChannelAttribution.markov_model on a 1M-row path table.

Targets (issue 3), 12 channels, mean length 4:
- from_paths + fit at order 1 at least 5x faster than markov_model at its defaults;
- order 3 at least 10x faster than markov_model(order=3, nsim_start=1e7);
- peak memory at most half of ChannelAttribution's;
- order="auto" up to 4 in under 10x the order-1 time.
Also: the per-channel difference of ChannelAttribution's Monte Carlo credit from our exact
credit, at its default simulations and at nsim_start=1e7 (it should shrink).
ChannelAttribution collapses repeats at order 1 only, so ours runs with
collapse_repeats=(order == 1) for the comparison.

    .venv-bench/bin/python benchmarks/bench_markov.py [--rows 1000000] [--skip-1e7]
"""

from __future__ import annotations

import argparse
import gc
import time
import warnings

import numpy as np
import pandas as pd
from _common import PeakRSS, path_table, write

import attribution as at


def ours(df, **params):
    j = at.Journeys.from_paths(df, value="total_conversion_value")
    return at.MarkovChain(**params).fit(j)


def theirs(df, order, nsim=1e5):
    import ChannelAttribution as ca

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ca.markov_model(df, "path", "total_conversions", var_value="total_conversion_value",
                              var_null="total_null", order=order, nsim_start=nsim, verbose=False,
                              flg_pro=False)
    return out.set_index("channel_name")["total_conversions"]


def measure(fn, *args, repeat=1, **kw):
    best, peak, out = np.inf, 0, None
    for _ in range(repeat):
        gc.collect()
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            out = fn(*args, **kw)
            best = min(best, time.perf_counter() - t0)
        peak = max(peak, mem.extra)
    return best, peak, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-1e7", action="store_true", help="skip the slow 1e7-simulation runs")
    args = ap.parse_args()
    df = path_table(args.rows)
    mb = 2**20
    rows, diffs = [], []

    def row(tool, task, seconds, peak):
        rows.append(dict(tool=tool, task=task, seconds=round(seconds, 3),
                         peak_extra_MB=round(peak / mb)))
        print(rows[-1], flush=True)

    t1, m1, fit1 = measure(ours, df, order=1, repeat=args.repeat)
    row("ours", "from_paths + MarkovChain(order=1)", t1, m1)
    t3, m3, fit3 = measure(ours, df, order=3, collapse_repeats=False, repeat=args.repeat)
    row("ours", "from_paths + MarkovChain(order=3)", t3, m3)
    ta, ma, fita = measure(ours, df, order="auto", max_order=4, random_state=0,
                           repeat=args.repeat)
    row("ours", f"from_paths + MarkovChain(order='auto', max_order=4) -> {fita.order_}", ta, ma)
    scores = fita.order_scores_
    try:
        c1, cm1, ca1 = measure(theirs, df, 1, repeat=args.repeat)
    except ImportError:
        print("ChannelAttribution is not installed: run `make bench-env`")
        write("bench_markov", pd.DataFrame(rows))
        return
    row("ChannelAttribution", "markov_model(order=1) defaults (nsim 1e5)", c1, cm1)
    runs = {(1, "1e5"): ca1}
    if not args.skip_1e7:
        c3, cm3, ca3 = measure(theirs, df, 3, nsim=1e7)
        row("ChannelAttribution", "markov_model(order=3, nsim_start=1e7)", c3, cm3)
        runs[(3, "1e7")] = ca3
        c1b, cm1b, ca1b = measure(theirs, df, 1, nsim=1e7)
        row("ChannelAttribution", "markov_model(order=1, nsim_start=1e7)", c1b, cm1b)
        runs[(1, "1e7")] = ca1b
    c3d, cm3d, ca3d = measure(theirs, df, 3)
    row("ChannelAttribution", "markov_model(order=3) defaults (nsim 1e5)", c3d, cm3d)
    runs[(3, "1e5")] = ca3d
    for (order, nsim), credit in sorted(runs.items()):
        exact = (fit1 if order == 1 else fit3).credit_
        rel = (credit[exact.index] - exact) / exact
        diffs.append(dict(order=order, nsim=nsim, **{k: f"{v:+.2%}" for k, v in rel.items()},
                          max_abs=f"{rel.abs().max():.2%}"))
    summary = [
        dict(check="order 1 speed-up vs markov_model defaults (target >= 5)",
             value=round(c1 / t1, 1)),
        dict(check="order-1 peak memory, ours / theirs (target <= 0.5)",
             value=round(m1 / max(cm1, 1), 3)),
        dict(check="order='auto' time / order-1 time (target < 10)", value=round(ta / t1, 1)),
    ]
    if not args.skip_1e7:
        summary.insert(1, dict(check="order 3 speed-up vs markov_model(order=3, nsim 1e7) "
                                     "(target >= 10)", value=round(c3 / t3, 1)))
        summary.append(dict(check="order-3 peak memory, ours / theirs at 1e7 (target <= 0.5)",
                            value=round(m3 / max(cm3, 1), 3)))
    notes = (f"{args.rows} rows, 12 channels, mean length 4. Ours best of {args.repeat}; "
             "ChannelAttribution once per setting (1e7) or best of repeats. Peak = RSS above "
             "the table already in memory.\n\n"
             f"## Checks\n\n{_md(pd.DataFrame(summary))}\n\n"
             "## ChannelAttribution credit minus exact credit, relative, per channel\n\n"
             f"{_md(pd.DataFrame(diffs))}\n\n## order='auto' scores\n\n{_md(scores.round(6))}\n\n"
             "## Runs")
    write("bench_markov", pd.DataFrame(rows), notes)


def _md(frame):
    from _common import markdown

    return markdown(frame)


if __name__ == "__main__":
    main()
