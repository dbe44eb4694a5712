"""The sampling floor of a grid tier: the true outcome form fitted to the n journeys
(``truth_form_fitted``, :mod:`attribution.evaluation.reference`) on every scenario of the full
grid, side by side with the rows of an earlier grid run of the same tier and n (default
Logistic and the true outcome model), scenario by scenario.

The true outcome model (``truth_model_incremental``) knows the lifts: its distance to the
truth has no estimation error in it. The fitted form knows only the family (and the logit
tier's synergy pairs) and estimates the lifts by maximum likelihood from the same journeys,
so its distance is what n journeys allow. Each scenario's row goes to
``<out>/chunks/<scenario>.csv`` and is not run again (stop and start with the same command to
resume); the report is ``<out>/floor.md`` and ``<out>/floor.csv``.

The logit tier at 1M journeys against the committed grid run::

    python benchmarks/bench_sampling_floor.py --tier logit --journeys 1000000 \\
        --against benchmarks/results/grid_1m_logit/concentration.csv \\
        --out benchmarks/results/floor_1m_logit
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from attribution.evaluation import harness
from attribution.evaluation.reference import FITTED_FORM, fitted_form
from attribution.evaluation.scenario import scenario_journeys, simulate_scenario
from attribution.journeys.validation import ParameterError

KEYS = ["tier", "target_top20", "mean_length", "frequency_effect_corr", "seed"]


def floor_row(tier, level, length, corr, seed, n) -> dict | None:
    """The fitted form's harness row of one scenario (None where it cannot be simulated)."""
    scenario = dict(tier=tier, target_top20=level, mean_length=length,
                    frequency_effect_corr=corr, seed=seed, n_journeys=n)
    start = time.perf_counter()
    try:
        events, truth = simulate_scenario(tier, level, length, corr, seed, n)
    except ParameterError:
        return None
    journeys = scenario_journeys(events)
    del events
    true = truth.shapley[truth.shapley.index.isin(journeys.names)]
    model = fitted_form(journeys, truth.world).set_params(random_state=seed)
    row = harness.score(FITTED_FORM, model, journeys, truth, true)
    return dict(**scenario, **row, simulate_and_fit_seconds=time.perf_counter() - start)


def side_by_side(floor: pd.DataFrame, against: pd.DataFrame) -> pd.DataFrame:
    """TV distance and top-20% shares per scenario: the earlier run's Logistic and true
    model next to the fitted form."""
    cols = {"logistic": "logistic", "truth_model_incremental": "true_model",
            FITTED_FORM: "fitted_form"}
    rows = pd.concat([against[against["model"].isin(cols)], floor])
    rows = rows.assign(model=rows["model"].map(cols),
                       target_top20=rows["target_top20"].astype(str))
    wide = rows.pivot_table(index=KEYS[1:4], columns="model",
                            values=["tv_distance", "est_top20"], aggfunc="first")
    wide.columns = [f"{v}_{m}" for v, m in wide.columns]
    true_top = rows.groupby(KEYS[1:4])["true_top20"].first()
    order = [f"{v}_{m}" for v in ("tv_distance", "est_top20")
             for m in ("logistic", "fitted_form", "true_model")]
    return wide[[c for c in order if c in wide]].join(true_top).reset_index()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tier", required=True, choices=harness.TIERS)
    p.add_argument("--journeys", type=int, required=True)
    p.add_argument("--against", type=Path, required=True,
                   help="concentration.csv of a grid_tier.py run of the same tier and n")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    against = pd.read_csv(a.against)
    against = against[(against["tier"] == a.tier) & (against["n_journeys"] == a.journeys)]
    if against.empty:
        raise SystemExit(f"{a.against} has no {a.tier} rows at {a.journeys} journeys")
    chunks = a.out / "chunks"
    chunks.mkdir(parents=True, exist_ok=True)
    g = harness.FULL_GRID
    for level in g["target_top20"]:
        for length in g["mean_length"]:
            for corr in g["frequency_effect_corr"]:
                path = chunks / f"{a.tier}_{level}_L{length}_c{corr}.csv"
                if path.exists():
                    continue
                with threadpool_limits(limits=1):
                    row = floor_row(a.tier, level, length, corr, 0, a.journeys)
                pd.DataFrame([row] if row else []).to_csv(path, index=False)
                print(f"{path.stem}: {row and round(row['tv_distance'], 4)}", flush=True)
    floor = pd.concat([pd.read_csv(f) for f in sorted(chunks.glob("*.csv"))
                       if f.stat().st_size > 1], ignore_index=True)
    floor.to_csv(a.out / "floor.csv", index=False)
    both = pd.concat([against[against["model"] != FITTED_FORM], floor], ignore_index=True)
    tiers = harness.summarise_by_tier(both, ("logistic", FITTED_FORM,
                                             "truth_model_incremental"))
    table = side_by_side(floor, against).round(3)
    lines = [f"# Sampling floor, {a.tier} tier, {a.journeys} journeys", "",
             f"Rows fitted_form: the true outcome form fitted to the journeys ({FITTED_FORM}); "
             f"logistic and true_model: from {a.against}.", "", "## Per tier", "",
             harness.markdown_table(tiers.round(3)), "", "## Per scenario", "",
             harness.markdown_table(table)]
    (a.out / "floor.md").write_text("\n".join(lines) + "\n")
    print(tiers.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
