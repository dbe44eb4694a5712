"""Make the bundled sample event log (attribution/datasets/sample_events.csv.gz).

A small causal story: people meet touchpoints of three stages (pre-, during-, post-purchase) over
about two months; each touchpoint has a lift on the log-odds of buying; after a purchase some
people get post-purchase touches and may buy again. Run: python scripts/make_sample.py
(the simulator of the benchmark issue replaces this with data that carries its ground truth).
"""

from pathlib import Path

import numpy as np
import pandas as pd

CATALOGUE = [  # touchpoint, channel, stage, lift on log-odds, how often it is met
    ("tv_ad", "tv", "pre", 0.9, 3.0),
    ("display_ad", "web", "pre", 0.05, 4.0),
    ("blog_article", "web", "pre", 0.2, 1.5),
    ("online_review", "web", "pre", 0.6, 1.5),
    ("social_post", "social", "pre", 0.0, 3.0),
    ("word_of_mouth", "social", "pre", 0.8, 0.8),
    ("product_page", "web", "during", 0.3, 3.0),
    ("app_browse", "app", "during", 0.15, 1.5),
    ("store_clerk", "store", "during", 1.0, 1.0),
    ("add_to_cart", "web", "during", 0.5, 1.2),
    ("customer_service", "call_centre", "post", 0.2, 0.6),
    ("follow_up_email", "email", "post", 0.1, 1.2),
    ("loyalty_programme", "email", "post", 0.4, 0.7),
    ("newsletter_click", "email", "pre", 0.25, 1.5),
    ("store_visit", "store", "during", 0.7, 0.9),
]


def main(n_people=3000, seed=7, out=None):
    rng = np.random.default_rng(seed)
    names = np.array([c[0] for c in CATALOGUE])
    channel = dict((c[0], c[1]) for c in CATALOGUE)
    stage = np.array([c[2] for c in CATALOGUE])
    lift = np.array([c[3] for c in CATALOGUE])
    freq = np.array([c[4] for c in CATALOGUE])
    pre_during = np.flatnonzero(stage != "post")
    post = np.flatnonzero(stage == "post")
    start = pd.Timestamp("2024-03-01")
    rows = []
    for person in range(n_people):
        t = start + pd.Timedelta(hours=float(rng.uniform(0, 24 * 30)))
        rounds = 0
        while rounds < 3:
            k = 1 + rng.poisson(2.6)
            p = freq[pre_during] / freq[pre_during].sum()
            tps = rng.choice(pre_during, size=k, p=p)
            tps = tps[np.argsort(stage[tps] == "during", kind="stable")]  # pre before during
            for tp in tps:
                t += pd.Timedelta(hours=float(rng.exponential(30)))
                rows.append((person, t, names[tp], channel[names[tp]], stage[tp], 0, 0.0))
            logit = -2.6 + lift[np.unique(tps)].sum() + (0.4 if rounds else 0.0)
            if rng.random() >= 1 / (1 + np.exp(-logit)):
                break
            t += pd.Timedelta(hours=float(rng.exponential(6)))
            value = round(float(rng.lognormal(4.0, 0.5)), 2)
            rows.append((person, t, None, None, None, 1, value))
            rounds += 1
            for tp in rng.choice(post, size=rng.poisson(1.0), p=freq[post] / freq[post].sum()):
                t += pd.Timedelta(hours=float(rng.exponential(48)))
                rows.append((person, t, names[tp], channel[names[tp]], stage[tp], 0, 0.0))
            if rng.random() < 0.5:
                break
    df = pd.DataFrame(rows, columns=["user_id", "timestamp", "touchpoint", "channel", "stage",
                                     "converted", "revenue"])
    df["timestamp"] = df["timestamp"].dt.floor("s")
    out = out or Path(__file__).resolve().parents[1] / "attribution/datasets/sample_events.csv.gz"
    df.to_csv(out, index=False)
    print(f"wrote {len(df)} events of {n_people} people to {out}")


if __name__ == "__main__":
    main()
