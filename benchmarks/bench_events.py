"""from_events on 10M events (about 2.5M journeys, 30-day lookback) against pandas' sort.

Target (issue 2): at most 3x the time pandas needs to sort the same frame by journey and time;
peak memory (RSS above the frame already in memory) at most 3x the frame's own size.

    .venv/bin/python benchmarks/bench_events.py [--events 10000000] [--order time|random]

The log is generated in time order (as event logs arrive) or shuffled (``--order random``).
"""

from __future__ import annotations

import argparse
import gc
import time
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
from _common import PeakRSS, write

import attribution as at

TOUCHPOINTS = [("tv_ad", "tv"), ("display_ad", "web"), ("blog_article", "web"),
               ("online_review", "web"), ("social_post", "social"), ("word_of_mouth", "social"),
               ("product_page", "web"), ("app_browse", "app"), ("store_clerk", "store"),
               ("add_to_cart", "web"), ("customer_service", "call_centre"),
               ("follow_up_email", "email"), ("loyalty_programme", "email"),
               ("newsletter_click", "email"), ("store_visit", "store"), ("search_ad", "web"),
               ("podcast_mention", "audio"), ("radio_spot", "audio"), ("catalogue", "print"),
               ("billboard", "outdoor")]


def event_log(n_events=10_000_000, seed=0, order="time") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_people = int(n_events / 4.4)  # about 2.5M journeys for 10M events
    user = rng.integers(0, n_people, size=n_events)
    t0 = pd.Timestamp("2024-01-01").value
    ts = t0 + rng.integers(0, 120 * 86_400, size=n_events) * 1_000_000_000
    converted = rng.random(n_events) < 0.05
    tp = rng.integers(0, len(TOUCHPOINTS), size=n_events)
    names = pa.array([t for t, _ in TOUCHPOINTS])
    chans = pa.array([c for _, c in TOUCHPOINTS])
    idx = pa.array(tp)
    tp_col = pd.Series(pd.arrays.ArrowStringArray(names.take(idx)), dtype="str")
    ch_col = pd.Series(pd.arrays.ArrowStringArray(chans.take(idx)), dtype="str")
    tp_col[converted] = None
    ch_col[converted] = None
    df = pd.DataFrame({"user_id": user, "timestamp": pd.to_datetime(ts, unit="ns"),
                       "touchpoint": tp_col, "channel": ch_col, "converted": converted,
                       "revenue": np.where(converted, np.round(rng.gamma(2, 30, n_events), 2),
                                           0.0)})
    if order == "time":
        df = df.sort_values("timestamp", kind="stable", ignore_index=True)
    return df


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--order", choices=["time", "random"], default="time")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    df = event_log(args.events, order=args.order)
    frame_bytes = int(df.memory_usage(deep=True).sum())
    gc.collect()
    t_sort = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        s = df.sort_values(["user_id", "timestamp"], kind="stable")
        t_sort.append(time.perf_counter() - t0)
        del s
        gc.collect()
    t_ours, peaks = [], []
    for _ in range(args.repeat):
        gc.collect()
        with PeakRSS() as mem, warnings.catch_warnings():
            warnings.simplefilter("ignore", at.DroppedDataWarning)
            t0 = time.perf_counter()
            j = at.Journeys.from_events(df, journey="user_id", time="timestamp",
                                        touchpoint="touchpoint", channel="channel",
                                        conversion="converted", value="revenue",
                                        lookback="30D")
            t_ours.append(time.perf_counter() - t0)
        peaks.append(mem.extra)
        n_j, n_conv, n_t = j.n_journeys, int((j.conversions > 0).sum()), j.n_touches
        del j
    print(f"{args.events} events, {n_j} journeys ({n_conv} converting), {n_t} touches kept")
    ts, to, pk = min(t_sort), min(t_ours), min(peaks)
    rows = [
        dict(measure="pandas sort_values([journey, time]) s", value=round(ts, 3)),
        dict(measure="Journeys.from_events s", value=round(to, 3)),
        dict(measure="time ratio (target <= 3)", value=round(to / ts, 2)),
        dict(measure="input frame MB", value=round(frame_bytes / 2**20)),
        dict(measure="from_events peak extra RSS MB", value=round(pk / 2**20)),
        dict(measure="memory ratio (target <= 3)", value=round(pk / frame_bytes, 2)),
    ]
    write(f"bench_events_{args.order}", pd.DataFrame(rows),
          f"{args.events} events in {args.order} order, {n_j} journeys, 30-day lookback; "
          f"best of {args.repeat}.")


if __name__ == "__main__":
    main()
