"""from_paths + the five heuristics on a 1M-row path table, against ChannelAttribution.

Target (issue 2): at least 5x faster than ChannelAttribution.heuristic_models on the same table
in the same run. Run in the benchmark environment (``make bench-env``):

    .venv-bench/bin/python benchmarks/bench_heuristics.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _common import path_table, write

import attribution as at

MODELS = [at.FirstTouch(), at.LastTouch(), at.Linear(), at.PositionBased(),
          at.TimeDecay(by="position", half_life=2.0)]


def ours(df):
    j = at.Journeys.from_paths(df, value="total_conversion_value")
    return {m.name: m.fit(j).credit_ for m in MODELS}


def theirs(df):
    import ChannelAttribution as ca

    return ca.heuristic_models(df, "path", "total_conversions",
                               var_value="total_conversion_value", sep=">", flg_pro=False)


def best_of(fn, df, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(df)
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    df = path_table(args.rows)
    print(f"{len(df)} rows, {df['path'].nunique()} distinct paths, mean length "
          f"{df['path'].str.count('>').mean() + 1:.2f}")
    t_ours, credit = best_of(ours, df, args.repeat)
    rows = [dict(tool="touchpoint-attribution", task="from_paths + 5 heuristics",
                 seconds=round(t_ours, 3))]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_ca, ca_out = best_of(theirs, df, args.repeat)
        rows.append(dict(tool="ChannelAttribution", task="heuristic_models (3 heuristics)",
                         seconds=round(t_ca, 3)))
        ca_out = ca_out.set_index("channel_name")
        for m, col in (("first", "first_touch"), ("last", "last_touch"),
                       ("linear", "linear_touch")):
            diff = np.abs(credit[m][ca_out.index].to_numpy()
                          - ca_out[f"{col}_conversions"].to_numpy()).max()
            print(f"max |ours - ChannelAttribution| {m}: {diff:.3g}")
        rows.append(dict(tool="speed-up", task="ChannelAttribution / ours",
                         seconds=round(t_ca / t_ours, 2)))
    except ImportError:
        print("ChannelAttribution not installed: run `make bench-env` for the comparison")
    write("bench_heuristics", pd.DataFrame(rows),
          f"{args.rows} rows, 12 channels, mean length 4; best of {args.repeat} runs.")


if __name__ == "__main__":
    main()
