"""Batch scoring at scale (issue 6 targets).

    .venv/bin/python benchmarks/bench_scoring.py [--journeys 2500000] [--dask-events 100000000]
        [--skip-dask] [--skip-score] [--workdir /tmp/attribution-bench-scoring]

1. ``attribution score`` with MarkovChain on ~10M events (2.5M simulated journeys, rows in
   time order as a warehouse export) from one Parquet file, against the baseline "pyarrow
   reads the file and pandas sorts it by journey and time" (target <= 4x), peak memory of
   the whole process tree (target <= 4 GB).
2. attribution.dask over ~100M simulated events written as partitioned Parquet (one file per
   block of people, so partitions are by journey already: ``shuffle=False``), on a local
   cluster of 2 worker processes: fit + score to Parquet; time and peak memory of the tree.

Each measured step runs in a fresh subprocess; memory is the peak of the summed RSS of the
subprocess and its children, sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from _common import write

PY = sys.executable


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(code: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh interpreter: (seconds, peak tree RSS GB, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(ps))
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    t.join()
    if proc.returncode:
        raise SystemExit(f"step failed ({proc.returncode}): {code[:200]}")
    return seconds, peak[0] / 1e9, out


def make_log(path: Path, journeys: int, seed: int, start_id: int = 0, sort_time=True):
    from attribution.evaluation.simulate import simulate_journeys

    events, _ = simulate_journeys(journeys, tier="noisy_or", random_state=seed,
                                  truth_journeys=10_000)
    events["journey_id"] += start_id
    if sort_time:
        events = events.sort_values("timestamp", kind="stable")
    events.to_parquet(path, row_group_size=1_000_000, index=False)
    return len(events)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journeys", type=int, default=2_500_000)
    ap.add_argument("--dask-events", type=int, default=100_000_000)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-score", action="store_true")
    ap.add_argument("--dask-shuffle", action="store_true",
                    help="shuffle by journey inside Dask instead of trusting the files")
    ap.add_argument("--workdir", default="/tmp/attribution-bench-scoring")
    args = ap.parse_args()
    wd = Path(args.workdir)
    wd.mkdir(parents=True, exist_ok=True)
    rows = []
    if not args.skip_score:
        src = wd / "events.parquet"
        if not src.exists():
            n = make_log(src, args.journeys, seed=0)
            print(f"made {n:,} events", flush=True)
        n_events = pd.read_parquet(src, columns=["converted"]).shape[0]
        base, base_mem, _ = measure(
            "import pyarrow.parquet as pq\n"
            f"df = pq.read_table({str(src)!r}).to_pandas()\n"
            "df = df.sort_values(['journey_id', 'timestamp'], kind='stable')\n")
        print(f"baseline read + sort: {base:.1f} s, {base_mem:.2f} GB", flush=True)
        out = wd / "scores.parquet"
        secs, mem, text = measure(
            "from attribution.cli import main\n"
            f"main(['--quiet', 'score', {str(src)!r}, '--journey', 'journey_id', '--value', "
            f"'value', '-m', 'markov', '-o', {str(out)!r}, '--n-jobs', '2'])\n")
        print(text.strip(), flush=True)
        rows.append(dict(step="score markov (CLI, 2 jobs)", events=n_events,
                         seconds=round(secs, 1), baseline_read_sort_s=round(base, 1),
                         ratio=round(secs / base, 2), peak_gb=round(mem, 2),
                         baseline_peak_gb=round(base_mem, 2)))
        print(rows[-1], flush=True)
    if not args.skip_dask:
        ddir = wd / "dask_events"
        per_file = 2_500_000  # events per file, about 625k people
        n_files = max(1, args.dask_events // per_file)
        ddir.mkdir(exist_ok=True)
        made = sorted(ddir.glob("part-*.parquet"))
        if len(made) < n_files:
            t0 = time.perf_counter()
            for i in range(len(made), n_files):
                make_log(ddir / f"part-{i:04d}.parquet", per_file // 4, seed=100 + i,
                         start_id=i * 10_000_000, sort_time=False)
            print(f"made {n_files} files in {time.perf_counter() - t0:.0f} s", flush=True)
        import pyarrow.dataset as ds

        n_events = ds.dataset(ddir, format="parquet").count_rows()
        code = (
            "import time, warnings\nwarnings.simplefilter('ignore')\n"
            "import dask.dataframe as dd\nfrom distributed import Client, LocalCluster\n"
            "import attribution as at\nfrom attribution.scale import dask as adask\n"
            "cols = dict(journey='journey_id', time='timestamp', touchpoint='touchpoint', "
            "channel='channel', conversion='converted', value='value')\n"
            "if __name__ == '__main__':\n"
            "    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, "
            "dashboard_address=None, memory_limit='10GB') as c, Client(c):\n"
            f"        ddf = dd.read_parquet({str(ddir)!r})\n"
            "        t = time.perf_counter()\n"
            f"        m = adask.fit(at.MarkovChain(), ddf, shuffle={args.dask_shuffle}, **cols)\n"
            "        fit_s = time.perf_counter() - t\n"
            f"        scores = adask.score(m, ddf, shuffle={args.dask_shuffle}, **cols)\n"
            f"        scores.to_parquet({str(wd / 'dask_scores')!r})\n"
            "        print('fit_s', fit_s, 'total_s', time.perf_counter() - t)\n")
        script = wd / "dask_job.py"
        script.write_text(code)
        secs, mem, text = measure(
            f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')")
        parts = text.split()
        rows.append(dict(step=f"dask fit + score markov (2 workers, shuffle={args.dask_shuffle})",
                         events=n_events, seconds=round(secs, 1),
                         baseline_read_sort_s=np.nan, ratio=np.nan, peak_gb=round(mem, 2),
                         baseline_peak_gb=np.nan,
                         fit_s=round(float(parts[parts.index("fit_s") + 1]), 1)))
        print(rows[-1], flush=True)
    if rows:
        write("bench_scoring", pd.DataFrame(rows),
              "Targets: score <= 4x read+sort, peak <= 4 GB; Dask over ~100M events completes.")


if __name__ == "__main__":
    main()
