"""Hostile files for batch scoring and the readers, found by a hostile tester: two columns of
one name, an empty Parquet folder, an output whose folder is a file, a CSV whose time strings
change format past the first block or run past 2262 (errors name the row of the input, as in
memory), a warning repeated once per partition, a Markov order whose states do not fit.
Every error is an AttributionError on one line naming the file, column, row or parameter.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.cli import main
from attribution.scale import io
from attribution.scale.batch import score_file
from tests.test_batch_invariance import COLS, make_events

pytestmark = pytest.mark.filterwarnings("ignore::attribution.DroppedDataWarning")


def one_line(exc_info, *parts):
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    for part in parts:
        assert part in msg, (part, msg)


@pytest.fixture
def events():
    return make_events(400, seed=3)


def test_two_columns_of_one_name_are_refused_by_every_reader(tmp_path):
    src = tmp_path / "dup.csv"
    src.write_text("user,ts,tp,tp,conv\n1,2024-01-01,a,b,0\n1,2024-01-02,,,1\n")
    for read in (io.read_table, io.TableStream, io.columns_of):
        with pytest.raises(at.InputError) as info:
            read(src)
        one_line(info, "dup.csv'", "two columns named 'tp'", "rename one")
    for command in (["fit", str(src)], ["score", str(src), "-o", str(tmp_path / "o.csv")]):
        assert main(command) == 2
    assert not (tmp_path / "o.csv").exists()


def test_an_empty_parquet_folder_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(at.InputError) as info:
        io.TableStream(tmp_path / "empty")
    one_line(info, "empty' holds no Parquet file")


def test_an_output_under_a_file_names_that_file(tmp_path, events):
    src = tmp_path / "ev.parquet"
    events.to_parquet(src)
    before = src.read_bytes()
    with pytest.raises(at.InputError) as info:
        score_file(at.Linear(), src, src.parent / "ev.parquet" / "out.csv", **COLS)
    one_line(info, "cannot write", "ev.parquet' is a file, not a folder")
    assert src.read_bytes() == before


def _csv_with_late_rows(events, tmp_path, rows, text):
    ev = events.assign(timestamp=events["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    ev.loc[rows, "timestamp"] = text
    src = tmp_path / "ev.csv"
    ev.to_csv(src, index=False)
    return ev, src


@pytest.mark.parametrize("text, part", [
    ("2024-01-04", "holds '2024-01-04'"),  # pyarrow read dates and datetimes alike: midnight
    ("2300-01-01 00:00:00", "outside 1677-09-21 to 2262-04-11"),
])
def test_time_strings_in_late_rows_fail_naming_the_input_row(events, tmp_path, text, part):
    """A bad time far past the first block and partition fails in score as in memory, naming
    the row of the input (not of its partition)."""
    last = len(events) - 2
    ev, src = _csv_with_late_rows(events, tmp_path, [last], text)
    with pytest.raises(at.InputError) as mem:
        at.Journeys.from_events(pd.read_csv(src), **COLS)
    with pytest.raises(at.InputError) as batch:
        score_file(at.Linear(), src, tmp_path / "o.csv", chunk_rows=50, **COLS)
    one_line(batch, part, str(last))
    assert str(batch.value) == str(mem.value)
    assert not (tmp_path / "o.csv").exists()


def test_a_warning_of_every_partition_is_shown_once(tmp_path):
    """Markov's (unallocated) warning is the same in every partition: one line, not one per
    partition."""
    rows = []
    for person in range(60):  # a > b converts; c alone converts: 1/3 is unallocated
        tps = ["a", "b"] if person % 2 else ["c"]
        for i, tp in enumerate([*tps, None]):
            rows.append(dict(user=person, timestamp=pd.Timestamp("2024-01-01")
                             + pd.Timedelta(hours=i), touchpoint=tp, converted=int(tp is None)))
    src = tmp_path / "ev.parquet"
    pd.DataFrame(rows).to_parquet(src)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = score_file(at.MarkovChain(), src, tmp_path / "o.csv", chunk_rows=20,
                             journey="user", time="timestamp", touchpoint="touchpoint",
                             conversion="converted")
    assert summary.partitions > 2
    unallocated = [w for w in caught if "unallocated" in str(w.message)]
    assert len(unallocated) == 1
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["credit"].sum() == pytest.approx(60)


def test_markov_order_whose_states_do_not_fit_names_the_largest_order():
    names = [f"t{i}" for i in range(21)]
    j = at.Journeys(np.array([0, 2, 3]), np.array([0, 1, 2]), [1, 0], [0, 1], names=names)
    with pytest.raises(at.ParameterError) as info:
        at.MarkovChain(order=50).fit(j)
    one_line(info, "order=50 over 21 entities", "order <= 13")
    at.MarkovChain(order=13, collapse_repeats=False).fit(j)  # the largest that fits, fits


def test_a_bare_half_life_before_the_data_is_known_does_not_claim_step_times():
    with pytest.raises(at.ParameterError) as info:
        at.TimeDecay(half_life=float("inf")).check_params()
    one_line(info, "half_life", "bare numbers count steps", "'7D'")
    assert "the times are steps" not in str(info.value)


def test_bad_values_are_shown_as_plain_python(events):
    """No np.float64(...) in a message: the rows and values read as the user wrote them."""
    ev = events.reset_index(drop=True)
    ev.loc[ev.index[ev["converted"] == 1][0], "converted"] = -1
    with pytest.raises(at.InputError) as info:
        at.Journeys.from_events(ev, **{**COLS, "value": None})
    one_line(info, "converted", "-1")
    assert "np." not in str(info.value)
