"""The full concentration grid, tier by tier, run in chunks (one tier, target level and mean
length at a time: three scenarios per seed) so that a long run keeps what it finished: each
chunk's rows go to ``<out>/chunks/*.csv`` and a chunk already there is not run again (stop it
and start it again with the same command to resume). At the end the report of everything in
``<out>/chunks`` is written (harness.report: CSV, markdown, the plot of estimated vs true
top-20% share per model) and the per-tier summary printed.

One tier, default Logistic (the issue's per-tier targets)::

    python benchmarks/grid_tier.py --tier noisy_or --journeys 200000 \\
        --out benchmarks/results/grid_200k_noisy_or

The whole grid, every model, 1M journeys on the logit tier (hours on two cores)::

    python benchmarks/grid_tier.py --tier all --models all --journeys 200000 \\
        --logit-journeys 1000000 --n-jobs 2 --out benchmarks/results/grid_full
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from attribution.evaluation import harness


def chunks_to_run(tiers, done):
    """(tier, level, length) of the chunks not in ``done`` (a set of chunk file stems); a
    chunk file of a whole level (``<tier>_<level>``, earlier runs) counts for its lengths.
    """
    for tier in tiers:
        for level in harness.FULL_GRID["target_top20"]:
            if f"{tier}_{level}" in done:
                continue
            for length in harness.FULL_GRID["mean_length"]:
                if f"{tier}_{level}_L{length}" not in done:
                    yield tier, level, length


def check_settings(out: Path, settings: dict) -> None:
    """A folder resumes only the run that started it: its settings are kept in
    ``<out>/settings.json`` (written by the first run), and a run with other settings is
    refused instead of reporting the old chunks as its own. A folder of earlier runs without
    the file is taken as it is.
    """
    path = out / "settings.json"
    if path.exists():
        kept = json.loads(path.read_text())
        if kept != settings:
            raise SystemExit(f"{out} holds a run with other settings ({kept}); this one is "
                             f"{settings}: give another --out, or delete the folder")
    elif not (out / "chunks").exists():
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tier", required=True, nargs="+", choices=(*harness.TIERS, "all"))
    p.add_argument("--journeys", type=int, default=200_000)
    p.add_argument("--logit-journeys", type=int, default=None,
                   help="journeys of the logit tier's scenarios (default: --journeys)")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--models", nargs="+", default=["logistic"],
                   help="registry names, or 'all' (the harness's default set)")
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    tiers = harness.TIERS if "all" in a.tier else tuple(a.tier)
    models = None if a.models == ["all"] else a.models
    per_tier = {"logit": a.logit_journeys} if a.logit_journeys else None
    chunks = a.out / "chunks"
    check_settings(a.out, dict(journeys=a.journeys, logit_journeys=a.logit_journeys,
                               seeds=a.seeds, models=sorted(a.models)))
    chunks.mkdir(parents=True, exist_ok=True)
    done = {f.stem for f in chunks.glob("*.csv")}
    for tier, level, length in list(chunks_to_run(tiers, done)):
        spec = dict(harness.FULL_GRID, tier=(tier,), seed=tuple(range(a.seeds)),
                    n_journeys=(a.journeys,), target_top20=(level,), mean_length=(length,))
        df = harness.run_grid(spec, models=models, n_jobs=a.n_jobs, progress=False,
                              tier_journeys=per_tier)
        df.to_csv(chunks / f"{tier}_{level}_L{length}.csv", index=False)
        print(f"{tier} target_top20={level} mean_length={length}: {len(df)} rows", flush=True)
    df = pd.concat([pd.read_csv(f) for f in sorted(chunks.glob("*.csv"))], ignore_index=True)
    held = list(dict.fromkeys(df["tier"]))  # every chunk in the folder, this run's and before
    title = f"Concentration benchmark, {', '.join(held)} tier{'s' if len(held) > 1 else ''}"
    harness.report(df, a.out, title=title)
    print(harness.markdown_table(harness.summarise_by_tier(df)))


if __name__ == "__main__":
    main()
