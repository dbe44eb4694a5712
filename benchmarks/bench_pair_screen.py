"""How often the default pair screen (``Logistic(interactions="auto")``) adds a pair where
there is no interaction (its family-wise level, 5% by construction), by penalty ``C`` and
world, and how often it finds a real one (power).

Worlds: six channels seen with probability 0.35 each, ``--journeys`` journeys, conversion
by main effects only - logit (log-odds -2 + 0.6, 0.48, ..., 0) or additive (p = 0.04 +
0.10a + 0.06b + 0.04c + 0.02d - 0.04f, some journeys never convert) - or logit with a
synergy of log-odds 0.8 between c and d (power, ``--power-journeys`` journeys)::

    python benchmarks/bench_pair_screen.py [--worlds 200] [--journeys 5000]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from _common import write

import attribution as at

NAMES = np.array(list("abcdef"))


def world(kind, seed, n):
    """Journeys of one world (module docstring)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 6)) < 0.35
    x[x.sum(axis=1) == 0, 0] = True
    if kind == "additive":
        p = 0.04 + x @ np.array([0.10, 0.06, 0.04, 0.02, 0.0, -0.04])
    else:
        eta = -2.0 + x @ np.linspace(0.6, 0.0, 6)
        eta = eta + (0.8 * (x[:, 2] & x[:, 3]) if kind == "synergy" else 0.0)
        p = 1 / (1 + np.exp(-eta))
    y = (rng.random(n) < p).astype(float)
    return at.Journeys.from_paths(pd.DataFrame({
        "path": [" > ".join(NAMES[row]) for row in x], "total_conversions": y,
        "total_null": 1.0 - y}))


def rate(kind, link, C, worlds, n, want=None):
    """Share of the worlds whose fit adds any pair (or, with ``want``, exactly it)."""
    hits = 0
    for seed in range(worlds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", at.AttributionWarning)
            m = at.Logistic(link=link, C=C).fit(world(kind, seed, n))
        pairs = m.interactions_[["first", "second"]].values.tolist()
        hits += (pairs == [want]) if want else bool(pairs)
    return dict(world=kind, link=link, C=C, journeys=n, worlds=worlds,
                measure="exactly c:d" if want else "any pair", share=hits / worlds)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worlds", type=int, default=200)
    p.add_argument("--journeys", type=int, default=5000)
    p.add_argument("--power-journeys", type=int, default=50_000)
    a = p.parse_args(argv)
    rows = [rate("logit", "logit", C, a.worlds, a.journeys) for C in (1.0, 0.1, 0.03, 0.01)]
    rows += [rate("logit", "auto", 1.0, a.worlds, a.journeys),
             rate("additive", "auto", 1.0, a.worlds, a.journeys * 4),
             rate("synergy", "auto", 1.0, a.worlds // 10, a.power_journeys, ["c", "d"])]
    for row in rows:
        print(row, flush=True)
    write("bench_pair_screen", pd.DataFrame(rows),
          "Share of fits of default Logistic (interactions='auto') that add a pair in worlds "
          "without interaction (target about 0.05), and that find exactly the real pair c:d "
          "(synergy 0.8 in log-odds); additive worlds at 4x the journeys.")


if __name__ == "__main__":
    main()
