import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st

import attribution as at

# The path table used to check heuristics against ChannelAttribution (see test_heuristics.py).
CA_PATHS = pd.DataFrame({
    "path": ["a > b > c", "b", "a > a > c", "c > b", "d > a > b > b > c", "b > d", "c",
             "a > d > d > a"],
    "total_conversions": [3, 1, 2, 4, 5, 0, 2, 1],
    "total_conversion_value": [30.0, 5.0, 22.0, 41.0, 60.0, 0.0, 9.0, 7.5],
    "total_null": [10, 5, 3, 2, 8, 6, 1, 4],
})


@pytest.fixture
def ca_paths():
    return CA_PATHS.copy()


@pytest.fixture
def ca_journeys():
    return at.Journeys.from_paths(CA_PATHS, value="total_conversion_value")


@pytest.fixture(scope="session")
def sample_events():
    from attribution.datasets import load_sample

    return load_sample().events


@pytest.fixture(scope="session")
def sample_journeys():
    from attribution.datasets import load_sample

    return load_sample(as_journeys=True).events


def paths_of(j):
    """The journeys' paths as lists of names."""
    bounds = zip(j.offsets[:-1], j.offsets[1:], strict=True)
    return [list(j.names[j.codes[a:b]]) for a, b in bounds]


def make_journeys(paths, conversions, nulls=None, value=None, names=None, channel_of=None,
                  channel_names=None, times=None):
    """Journeys from lists of code lists (test helper)."""
    lengths = [len(p) for p in paths]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    codes = np.concatenate([np.asarray(p, dtype=np.int32) for p in paths])
    k = int(codes.max()) + 1
    names = names if names is not None else [f"c{i}" for i in range(k)]
    return at.Journeys(offsets, codes, conversions, nulls, value, names=names,
                       channel_of=channel_of, channel_names=channel_names, times=times)


@st.composite
def journeys_strategy(draw, max_journeys=8, max_len=6, n_codes=5, with_times=False,
                      touchpoints=False):
    n = draw(st.integers(1, max_journeys))
    paths = [draw(st.lists(st.integers(0, n_codes - 1), min_size=1, max_size=max_len))
             for _ in range(n)]
    weight = st.sampled_from([0.0, 1.0, 2.0, 0.5, 3.25])
    conv = [draw(weight) for _ in range(n)]
    if sum(conv) == 0:
        conv[0] = 1.0
    nulls = [draw(weight) for _ in range(n)]
    value = [c * draw(st.sampled_from([1.0, 10.0, 7.5])) for c in conv]
    used = sorted({c for p in paths for c in p})
    remap = {c: i for i, c in enumerate(used)}
    paths = [[remap[c] for c in p] for p in paths]
    kw = {}
    if touchpoints:
        kw = dict(channel_of=[i % 2 for i in range(len(used))], channel_names=["x", "y"])
    if with_times:
        kw["times"] = np.concatenate([np.sort(draw(st.lists(
            st.integers(0, 10**15), min_size=len(p), max_size=len(p)))) for p in paths])
    return make_journeys(paths, conv, nulls, value, names=[f"n{c}" for c in range(len(used))],
                         **kw)


def simulated_log_files(directory, n_journeys, seed, shuffle_seed, row_group, csv_name, cols):
    """A simulated event log with its journeys scattered, written as Parquet and CSV into
    ``directory``; returns ``(directory, events, journeys)``.
    """
    import warnings

    from attribution.evaluation.simulate import simulate_journeys

    events, _ = simulate_journeys(n_journeys, tier="noisy_or", random_state=seed)
    events = events.sample(frac=1, random_state=shuffle_seed).reset_index(drop=True)
    events.to_parquet(directory / "events.parquet", row_group_size=row_group)
    events.to_csv(directory / csv_name, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.DroppedDataWarning)
        j = at.Journeys.from_events(events, **cols)
    return directory, events, j
