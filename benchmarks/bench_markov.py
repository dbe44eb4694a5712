"""MarkovChain against ChannelAttribution.markov_model on 1M-row path tables.

Two table shapes, 12 channels each:
- "benchmark": lengths 1 + Poisson(3), channels drawn independently with Zipf-like weights,
  Poisson conversions and nulls (``_common.path_table``);
- "markov journeys": first-order Markov journeys, geometric lengths (mean 4, truncated at 40),
  about 230k distinct paths in 1M rows, 1-3 people per row (``_common.markov_path_table``).

Targets (issue 3):
- end to end (a DataFrame of path strings in, credit out: from_paths + fit at order 1) at
  least 6x faster than markov_model at its defaults, on both shapes;
- order 3 at least 10x faster than markov_model(order=3, nsim_start=1e7);
- peak memory at most half of ChannelAttribution's;
- order="auto" up to 4 in under 10x the order-1 time.
Also: the per-channel difference of ChannelAttribution's Monte Carlo credit from our exact
credit, at its default simulations and at nsim_start=1e7 (it should shrink); and the dense
order-3 solve (removal effects of 9 channels, 731 states, every system solved by dense LU) with
BLAS capped at one thread (the default, ``_markov_chain.SOLVE_THREADS``) and uncapped, with a
sparse solve of the same chain for reference.

ChannelAttribution collapses repeats at order 1 only, so ours runs with
collapse_repeats=(order == 1). Every configuration runs in a fresh process: the table is made,
a warm-up fit on 1,000 rows loads the code, then the measured call runs (time: best of
--repeat; peak: resident memory above the table, first measured run; the solve runs time the
removal-effect solves alone).

    .venv-bench/bin/python benchmarks/bench_markov.py [--rows 1000000] [--skip-1e7]
        [--only "markov journeys"]  (rerun the runs whose name contains the text, merged into
                                     the saved results)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
from _common import RESULTS, PeakRSS, markdown, markov_path_table, path_table, write

MJ = " | markov journeys"  # suffix of the runs on the first-order Markov shape
DENSE3 = "order 3 dense solve (9 channels, 731 states), "
SHAPES = {
    "benchmark": path_table,
    "markov": markov_path_table,
    "markov9": lambda rows: markov_path_table(rows, n_channels=9),
}
# name: (tool, parameters, aggregate, shape)
CONFIGS = {
    "ours order 1 (aggregate=True)": ("ours", dict(order=1), True, "benchmark"),
    "ours order 1 (one journey per row)": ("ours", dict(order=1), False, "benchmark"),
    "ours order 3 (aggregate=True)": ("ours", dict(order=3, collapse_repeats=False), True,
                                      "benchmark"),
    "ours order 3 (one journey per row)": ("ours", dict(order=3, collapse_repeats=False), False,
                                           "benchmark"),
    "ours order='auto', max 4 (aggregate=True)": ("ours", dict(order="auto", max_order=4,
                                                              random_state=0), True, "benchmark"),
    "ChannelAttribution order 1, defaults (nsim 1e5)": ("ca", dict(order=1, nsim_start=1e5), 0,
                                                        "benchmark"),
    "ChannelAttribution order 3, defaults (nsim 1e5)": ("ca", dict(order=3, nsim_start=1e5), 0,
                                                        "benchmark"),
    "ChannelAttribution order 1, nsim 1e7": ("ca", dict(order=1, nsim_start=1e7), 0,
                                             "benchmark"),
    "ChannelAttribution order 3, nsim 1e7": ("ca", dict(order=3, nsim_start=1e7), 0,
                                             "benchmark"),
    "ours order 1 (aggregate=True)" + MJ: ("ours", dict(order=1), True, "markov"),
    "ours order 1 (one journey per row)" + MJ: ("ours", dict(order=1), False, "markov"),
    "ChannelAttribution order 1, defaults (nsim 1e5)" + MJ: ("ca", dict(order=1, nsim_start=1e5),
                                                             0, "markov"),
    DENSE3 + "BLAS capped at 1 thread": ("solve", dict(threads=1), 0, "markov9"),
    DENSE3 + "BLAS uncapped": ("solve", dict(threads=None), 0, "markov9"),
    DENSE3 + "sparse solver instead (reference)": ("solve", dict(threads=1, dense_max=0), 0,
                                                   "markov9"),
}


def run_ours(df, params, aggregate):
    import attribution as at

    j = at.Journeys.from_paths(df, value="total_conversion_value", aggregate=aggregate)
    m = at.MarkovChain(**params).fit(j)
    extra = {"order": m.order_}
    if m.order_scores_ is not None:
        extra["scores"] = m.order_scores_.round(6).to_dict("list")
    return m.credit_.to_dict(), extra


def run_ca(df, params, _):
    import ChannelAttribution as ca

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ca.markov_model(df, "path", "total_conversions", var_value="total_conversion_value",
                              var_null="total_null", verbose=False, flg_pro=False, **params)
    return out.set_index("channel_name")["total_conversions"].to_dict(), {}


def run_solve(df, params, _):
    """The removal-effect solves of order 3 (collapse_repeats=False) alone, timed inside."""
    import attribution as at
    from attribution.models import _markov_chain as mc

    mc.SOLVE_THREADS = params["threads"]
    mc.DENSE_MAX = params.get("dense_max", mc.DENSE_MAX)
    j = at.Journeys.from_paths(df, value="total_conversion_value", aggregate=True)
    paths = mc.state_paths(j, 3)
    chain = mc.build_chain(paths, j.conversions, j.nulls, j.value)
    t0 = time.perf_counter()
    _, re, _, residual = mc.removal_effects(paths, chain, len(j.names))
    seconds = time.perf_counter() - t0
    credit = dict(zip(j.names, j.conversions.sum() * re / re.sum(), strict=True))
    return credit, {"solve_seconds": seconds, "states": paths.n_states, "residual": residual}


RUNNERS = {"ours": run_ours, "ca": run_ca, "solve": run_solve}


def one(name, rows, repeat):
    tool, params, aggregate, shape = CONFIGS[name]
    fn = RUNNERS[tool]
    df = SHAPES[shape](rows)
    fn(df.head(1000), params, aggregate)  # warm-up: imports, code paths
    times, peak, out = [], None, None
    for i in range(repeat if tool != "ca" or params["nsim_start"] < 1e7 else 1):
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            out = fn(df, params, aggregate)
            times.append(out[1].pop("solve_seconds", time.perf_counter() - t0))
        peak = mem.extra if i == 0 else peak
    print(json.dumps(dict(name=name, seconds=min(times), peak=peak, credit=out[0], **out[1])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-1e7", action="store_true", help="skip the slow 1e7-simulation runs")
    ap.add_argument("--only", help="rerun only the configurations whose name contains this "
                    "text and merge them into the existing results")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        return one(args.one, args.rows, args.repeat)
    saved = RESULTS / "bench_markov.json"
    res = json.loads(saved.read_text()) if args.only and saved.exists() else {}
    for name in CONFIGS:
        if (args.skip_1e7 and "1e7" in name) or (args.only and args.only not in name):
            continue
        p = subprocess.run([sys.executable, __file__, "--one", name, "--rows", str(args.rows),
                            "--repeat", str(args.repeat)], capture_output=True, text=True)
        lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
        if p.returncode or not lines:
            print(f"{name}: failed\n{p.stderr[-2000:]}")
            continue
        res[name] = json.loads(lines[-1])
        print(name, round(res[name]["seconds"], 3), "s", res[name]["peak"] >> 20, "MB",
              flush=True)
    saved.write_text(json.dumps(res, indent=1))
    mb = 2**20
    runs = pd.DataFrame([dict(run=k, seconds=round(v["seconds"], 3),
                              peak_extra_MB=round(v["peak"] / mb)) for k, v in res.items()])
    g = {k: v for k, v in res.items()}

    def ratio(a, b, what):
        if a in g and b in g:
            return round(g[a][what] / max(g[b][what], 1e-9), 3)
        return "n/a"

    o1, o3 = "ours order 1 (aggregate=True)", "ours order 3 (aggregate=True)"
    o1r, o3r = "ours order 1 (one journey per row)", "ours order 3 (one journey per row)"
    ca1, ca3 = ("ChannelAttribution order 1, defaults (nsim 1e5)",
                "ChannelAttribution order 3, nsim 1e7")
    checks = pd.DataFrame([
        dict(check="order 1, benchmark shape: markov_model defaults time / ours (target >= 6)",
             aggregate=ratio(ca1, o1, "seconds"), rows=ratio(ca1, o1r, "seconds")),
        dict(check="order 1, markov journeys: markov_model defaults time / ours (target >= 6)",
             aggregate=ratio(ca1 + MJ, o1 + MJ, "seconds"),
             rows=ratio(ca1 + MJ, o1r + MJ, "seconds")),
        dict(check="order 3: markov_model nsim 1e7 time / ours (target >= 10)",
             aggregate=ratio(ca3, o3, "seconds"), rows=ratio(ca3, o3r, "seconds")),
        dict(check="order 1: peak memory ours / theirs (target <= 0.5)",
             aggregate=ratio(o1, ca1, "peak"), rows=ratio(o1r, ca1, "peak")),
        dict(check="order 1, markov journeys: peak memory ours / theirs (target <= 0.5)",
             aggregate=ratio(o1 + MJ, ca1 + MJ, "peak"), rows=ratio(o1r + MJ, ca1 + MJ, "peak")),
        dict(check="order 3: peak memory ours / theirs at nsim 1e7 (target <= 0.5)",
             aggregate=ratio(o3, ca3, "peak"), rows=ratio(o3r, ca3, "peak")),
        dict(check="order='auto' (max 4) time / order-1 time (target < 10)",
             aggregate=ratio("ours order='auto', max 4 (aggregate=True)", o1, "seconds"),
             rows=""),
        dict(check="order 3 dense solve: BLAS uncapped time / capped at 1 thread",
             aggregate=ratio(DENSE3 + "BLAS uncapped", DENSE3 + "BLAS capped at 1 thread",
                             "seconds"), rows=""),
    ])
    diffs = []
    for name, v in res.items():
        if not name.startswith("ChannelAttribution"):
            continue
        mine = o1 if "order 1" in name else o3
        if name.endswith(MJ):
            mine += MJ
        if mine not in g:
            continue
        exact = pd.Series(g[mine]["credit"])
        theirs = pd.Series(v["credit"])[exact.index]
        rel = (theirs - exact) / exact
        diffs.append(dict(run=name, **{k: f"{x:+.2%}" for k, x in rel.items()},
                          max_abs=f"{rel.abs().max():.2%}"))
    auto = g.get("ours order='auto', max 4 (aggregate=True)", {})
    notes = (f"{args.rows} rows, 12 channels, mean length 4, {repeat_text(args)}. Shapes: "
             "'benchmark' (lengths 1 + Poisson(3), channels drawn independently) unless the run "
             "says 'markov journeys' (first-order Markov journeys, geometric lengths of mean 4 "
             "truncated at 40, ~230k distinct paths, 1-3 people per row); see the script's "
             "docstring and benchmarks/_common.py.\n\n"
             f"## Checks (columns: ours built with aggregate=True / one journey per row)\n\n"
             f"{markdown(checks)}\n\n"
             "## ChannelAttribution's Monte Carlo credit minus our exact credit (relative)\n\n"
             f"{markdown(pd.DataFrame(diffs))}\n\n"
             f"## order='auto' scores (selected order {auto.get('order')})\n\n"
             f"{markdown(pd.DataFrame(auto.get('scores', {})))}\n\n## Runs")
    write("bench_markov", runs, notes)
    return np.nan


def repeat_text(args):
    return (f"ours best of {args.repeat} runs, ChannelAttribution best of {args.repeat} "
            "(once at nsim 1e7); each configuration in a fresh process")


if __name__ == "__main__":
    main()
