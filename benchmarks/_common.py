"""Shared helpers of the benchmark scripts: synthetic path tables, timing, peak memory."""

from __future__ import annotations

import os
import platform
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def path_table(n_rows=1_000_000, n_channels=12, mean_length=4.0, seed=0) -> pd.DataFrame:
    """A path table with repeated path strings: lengths 1 + Poisson(mean - 1), channels drawn
    with Zipf-like frequencies, integer conversions and nulls (ChannelAttribution truncates
    fractions)."""
    rng = np.random.default_rng(seed)
    names = np.array([f"ch{i:02d}" for i in range(n_channels)])
    p = 1.0 / np.arange(1, n_channels + 1) ** 0.8
    p /= p.sum()
    lengths = 1 + rng.poisson(mean_length - 1, size=n_rows)
    codes = rng.choice(n_channels, size=int(lengths.sum()), p=p)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)),
                                     pa.array(names[codes].tolist()))
    paths = pc.binary_join(lists, " > ").to_numpy(zero_copy_only=False)
    conv = rng.poisson(0.3 + 0.1 * lengths)
    nulls = rng.poisson(2.0, size=n_rows)
    value = np.round(conv * rng.gamma(2.0, 20.0, size=n_rows), 2)
    return pd.DataFrame({"path": paths, "total_conversions": conv, "total_null": nulls,
                         "total_conversion_value": value})


def markov_path_table(n_rows=1_000_000, n_channels=12, mean_length=4.0, max_length=40,
                      alpha=0.4, seed=0) -> pd.DataFrame:
    """A path table of first-order Markov journeys, one row per 1-3 people.

    Generator (numpy, seeded): the first channel is drawn from a Dirichlet(``alpha``) start
    distribution and each next channel from row ``prev`` of a random transition matrix whose
    rows are Dirichlet(``alpha``) draws; lengths are geometric with mean ``mean_length``,
    truncated at ``max_length``. Each row stands for 1-3 people (uniform); each converts with
    a probability set by the row's last channel (uniform on 0.02-0.30 per channel), so
    conversions + nulls = people. Path strings repeat across rows: at the defaults, 1M rows
    hold about 230k distinct paths (230,749 at seed 0).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    k = n_channels
    start_cdf = np.cumsum(rng.dirichlet(np.full(k, alpha)))
    trans_cdf = np.cumsum(rng.dirichlet(np.full(k, alpha), size=k), axis=1)
    lengths = np.minimum(rng.geometric(1.0 / mean_length, size=n_rows), max_length)
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.empty(int(offsets[-1]), dtype=np.int64)
    cur = np.minimum(np.searchsorted(start_cdf, rng.random(n_rows)), k - 1)
    codes[offsets[:-1]] = cur
    rows = np.arange(n_rows)
    for t in range(1, max_length):  # one step of every journey still running at a time
        alive = lengths[rows] > t
        rows, cur = rows[alive], cur[alive]
        if not len(rows):
            break
        u = rng.random(len(rows))
        cur = np.minimum((u[:, None] > trans_cdf[cur]).sum(axis=1), k - 1)
        codes[offsets[rows] + t] = cur
    names = np.array([f"ch{i:02d}" for i in range(k)])
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(names[codes]))
    paths = pc.binary_join(lists, " > ").to_numpy(zero_copy_only=False)
    people = rng.integers(1, 4, size=n_rows)
    p_conv = rng.uniform(0.02, 0.30, size=k)[codes[offsets[1:] - 1]]
    conv = rng.binomial(people, p_conv)
    value = np.round(conv * rng.gamma(2.0, 20.0, size=n_rows), 2)
    return pd.DataFrame({"path": paths, "total_conversions": conv, "total_null": people - conv,
                         "total_conversion_value": value})


def release_memory():
    """Return memory the allocators keep after frees (Arrow's pool, glibc's heap) to the OS,
    so that a measurement starts from live memory only and cannot reuse retained pages."""
    import gc

    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover
        pass
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # pragma: no cover - not glibc
        pass


class PeakRSS:
    """Peak resident memory of this process while the block runs, sampled every 5 ms.

    With ``release=True`` (default) retained allocator memory is returned to the OS first, so
    the baseline is the live memory and the block cannot reuse pages freed before it.
    """

    def __init__(self, release: bool = True):
        self.peak = 0
        self.release = release
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.005)

    def __enter__(self):
        if self.release:
            release_memory()
        self.start = self.rss()
        self.peak = self.start
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.rss())

    @property
    def extra(self) -> int:
        """Peak above the RSS at entry, in bytes."""
        return self.peak - self.start


@contextmanager
def timer(store: dict, key: str):
    t0 = time.perf_counter()
    yield
    store[key] = time.perf_counter() - t0


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub markdown table (the library's writer)."""
    from attribution.evaluation.harness import markdown_table

    return markdown_table(frame)


def write(name: str, frame: pd.DataFrame, notes: str = "") -> None:
    RESULTS.mkdir(exist_ok=True)
    frame.to_csv(RESULTS / f"{name}.csv", index=False)
    md = f"# {name}\n\n{notes}\n\nMachine: {machine()}\n\n{markdown(frame)}\n"
    (RESULTS / f"{name}.md").write_text(md)
    print(md)


def simulated_journeys(n: int, seed: int, tier: str = "noisy_or", channel: bool = False):
    """Journeys (touchpoint level, with times and value) of ``n`` simulated people; with
    ``channel`` also the channel of each touchpoint."""
    import warnings

    import attribution as at
    from attribution.evaluation.simulate import simulate_journeys

    events, _ = simulate_journeys(n, tier=tier, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.Journeys.from_events(events, journey="user_id", time="timestamp",
                                       touchpoint="touchpoint", conversion="converted",
                                       value="revenue", channel="channel" if channel else None)
