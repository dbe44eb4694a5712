"""Make the bundled sample (attribution/datasets/sample_events.csv.gz and sample_truth.json).

The sample is simulator output with its causal ground truth
(attribution.evaluation.simulate): 10,000
journeys over the default catalogue (18 touchpoints in 8 channels, one placebo banner and two
clones of the display ad), the noisy-OR outcome tier, lifts solved so that in truth 20% of the
touchpoint types drive 80% of the incremental conversions. Its columns (user_id, revenue, ...)
are the CLI's defaults. Run: python scripts/make_sample.py
"""

from pathlib import Path

from attribution.evaluation.simulate import simulate_journeys

SEED = 2026
HERE = Path(__file__).resolve().parent.parent / "attribution" / "datasets"


def main():
    events, truth = simulate_journeys(10_000, tier="noisy_or", target_top20=0.8,
                                      random_state=SEED)
    events.to_csv(HERE / "sample_events.csv.gz", index=False)
    truth.to_json(HERE / "sample_truth.json")
    print(f"{len(events)} events, {int(events['converted'].sum())} conversions, "
          f"true top-20% share {truth.top20:.3f}")


if __name__ == "__main__":
    main()
