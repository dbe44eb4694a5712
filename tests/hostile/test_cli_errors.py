"""Hostile command lines: every case exits with code 2 and ONE line on stderr starting
``attribution: error:`` that names the culprit (flag, column or file), with no traceback and
no output file (nor a temporary ``.*.tmp``) left behind.

Items of the issue "No silent wrong answers": numbers checked before any work, argparse errors
on one line, time flags, files that cannot be read, ``--quiet``/``--debug`` anywhere.
"""

import gzip
import json

import pandas as pd
import pytest

from attribution.cli import main
from attribution.journeys.validation import ParameterError
from tests.conftest import CA_PATHS


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Input files (in their own folder: the outputs of a case go to its empty tmp_path)."""
    from attribution.datasets import load_sample
    from attribution.evaluation.simulate import simulate_journeys

    d = tmp_path_factory.mktemp("inputs")
    ev = load_sample().events
    ev = ev[ev["user_id"] < 1500].reset_index(drop=True)
    ev.to_csv(d / "ev.csv", index=False)
    ev.assign(timestamp=ev["timestamp"].astype("datetime64[s]").astype("int64")).to_csv(
        d / "epoch.csv", index=False)
    ambiguous = ev.assign(timestamp=pd.Timestamp("2024-01-01") + pd.to_timedelta(
        ev.index % 250, unit="h"))  # every day <= 12: reads day-first and month-first
    ambiguous.assign(timestamp=ambiguous["timestamp"].dt.strftime("%d/%m/%Y %H:%M")).to_csv(
        d / "ambiguous.csv", index=False)
    mixed = ev.astype({"timestamp": str})
    mixed.loc[7, "timestamp"] = "17/02/2024 05:36"  # one row in another format
    mixed.to_csv(d / "mixed.csv", index=False)
    CA_PATHS.to_csv(d / "paths.csv", index=False)
    sim, truth = simulate_journeys(1500, tier="noisy_or", random_state=3)
    sim.to_csv(d / "sim.csv", index=False)
    truth.to_json(d / "truth.json")
    other = truth.to_dict()
    for row in other["touchpoints"]:
        row["touchpoint"], row["channel"] = "x_" + row["touchpoint"], "x_" + row["channel"]
    (d / "other_truth.json").write_text(json.dumps(other))
    (d / "bad.json").write_text("hello, not JSON")
    (d / "wrong.json").write_text(json.dumps({"tier": "additive"}))
    (d / "a_dir").mkdir()
    (d / "a_file").write_text("not a folder")
    whole = gzip.compress((d / "ev.csv").read_bytes())
    (d / "trunc.csv.gz").write_bytes(whole[: len(whole) // 2])
    return {p.stem.replace(".csv", ""): str(p) for p in d.iterdir()} | {"dir": str(d)}


def one_error(code, err: str, culprit: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("attribution: error: "), lines[0]
    assert culprit in lines[0], (culprit, lines[0])
    assert "Traceback" not in err
    return lines[0]


def run_case(args, files, tmp_path, capsys):
    """main(args) with {name} replaced by an input file and {out} by a path in tmp_path."""
    args = [a.format(out=tmp_path / "out", **files) for a in args]
    code = main(args)
    cap = capsys.readouterr()
    return code, cap.err


FIT = [
    (["fit", "{ev}", "--n-boot", "5", "--n-jobs", "0", "-o", "{out}.csv"], "--n-jobs"),
    (["fit", "{ev}", "--n-boot", "5", "--n-jobs", "two"], "--n-jobs"),
    (["fit", "{ev}", "--n-boot", "-3", "-o", "{out}.csv"], "--n-boot"),
    (["fit", "{ev}", "--n-boot", "1", "-o", "{out}.csv"], "--n-boot"),
    (["fit", "{ev}", "--n-boot", "5", "--alpha", "2", "-o", "{out}.csv"], "--alpha"),
    (["fit", "{ev}", "--n-boot", "5", "--alpha", "0", "-o", "{out}.csv"], "--alpha"),
    (["fit", "{ev}", "--n-boot", "5", "--alpha", "nan"], "--alpha"),
    (["fit", "{ev}", "--n-boot", "5", "--seed", "-1", "-o", "{out}.csv"], "--seed"),
    (["fit", "{ev}", "--max-touches", "0", "-o", "{out}.csv"], "--max-touches"),
    (["fit", "{ev}", "--level", "person"], "--level"),
    (["fit", "{ev}", "--format", "xml"], "--format"),
    (["fit", "{ev}", "--bogus", "-o", "{out}.csv"], "--bogus"),
    (["fit"], "input"),
    (["fit", "{ev}", "-m", "linearr", "-o", "{out}.csv"], "linearr"),
    (["fit", "{ev}", "-m", "markov", "-p", "order=abc", "-o", "{out}.csv"], "order"),
    (["fit", "{ev}", "-m", "markov", "-p", "order=1.5"], "order"),
    (["fit", "{ev}", "-m", "position", "-p", "first=abc"], "first"),
    (["fit", "{ev}", "-m", "time_decay", "-p", "half_life=abc", "-o", "{out}.csv"],
     "half_life"),
    (["fit", "{ev}", "-m", "time_decay", "-p", "half_life=7"], "half_life"),
    (["fit", "{ev}", "-p", "oops"], "key=value"),
    (["fit", "{dir}/missing.csv", "-o", "{out}.csv"], "missing.csv"),
    (["fit", "{trunc}", "-o", "{out}.csv"], "trunc.csv.gz"),
    (["fit", "{ev}", "--time", "when", "-o", "{out}.csv"], "--time when"),
    (["fit", "{ev}", "--journey", "person", "-o", "{out}.csv"], "--journey"),
    (["fit", "{ev}", "-o", "{out}.xlsx"], "out.xlsx"),
    (["fit", "{ev}", "-m", "first", "-o", "{a_file}/out.csv"], "a_file"),
    (["fit", "{paths}", "--lookback", "30D", "-o", "{out}.csv"], "--lookback"),
    (["fit", "{paths}", "--time-unit", "s"], "--time-unit"),
    (["fit", "{paths}", "--value", "revenue"], "--value"),
]

TIMES = [
    (["fit", "{epoch}", "-o", "{out}.csv"], "--time-unit s"),
    (["fit", "{epoch}", "--lookback", "30D"], "--time-unit step"),
    (["fit", "{ev}", "--time-unit", "s", "-o", "{out}.csv"], "drop --time-unit"),
    (["fit", "{ev}", "--time-unit", "step"], "--time-unit step"),
    (["fit", "{ev}", "--time-unit", "hours"], "--time-unit"),
    (["fit", "{ev}", "--time-format", "%d/%m/%Y", "-o", "{out}.csv"], "--time-format"),
    (["fit", "{epoch}", "--time-unit", "s", "--time-format", "ISO8601"], "--time-format"),
    (["fit", "{ev}", "--tz", "Mars/Olympus", "-o", "{out}.csv"], "--tz Mars/Olympus"),
    (["fit", "{epoch}", "--time-unit", "step", "--tz", "UTC"], "--tz"),
    (["fit", "{ev}", "--lookback", "30", "-o", "{out}.csv"], "--lookback 30D"),
    (["fit", "{ev}", "--lookback", "soon"], "--lookback"),
    (["fit", "{ev}", "--lookback", "-1D"], "--lookback"),
    (["fit", "{epoch}", "--time-unit", "step", "--lookback", "3D"], "--lookback 3"),
    (["fit", "{epoch}", "--time-unit", "s", "--lookback", "30"], "--lookback 30D"),
    (["fit", "{ambiguous}", "-o", "{out}.csv"], "--time-format '%d/%m/%Y %H:%M'"),
    (["fit", "{mixed}", "-o", "{out}.csv"], "row 7"),
    (["compare", "{ev}", "--time-unit", "ms", "-o", "{out}.csv"], "--time-unit"),
    (["score", "{epoch}", "-o", "{out}.csv"], "--time-unit s"),
    (["score", "{ev}", "--lookback", "30", "-o", "{out}.csv"], "--lookback 30D"),
    (["score", "{epoch}", "--time-unit", "step", "--lookback", "3D", "-o", "{out}.csv"],
     "--lookback"),
    (["score", "{ev}", "--tz", "Mars/Olympus", "-o", "{out}.csv"], "--tz"),
    (["score", "{ev}", "--time-unit", "weeks", "-o", "{out}.csv"], "--time-unit"),
]

SCORE = [
    (["score", "{ev}"], "--output"),
    (["score", "{ev}", "--chunk-rows", "0", "-o", "{out}.csv"], "--chunk-rows"),
    (["score", "{ev}", "--chunk-rows", "-5", "-o", "{out}.csv"], "--chunk-rows"),
    (["score", "{ev}", "--chunk-rows", "1e5", "-o", "{out}.csv"], "--chunk-rows"),
    (["score", "{ev}", "--n-jobs", "0", "-o", "{out}.csv"], "--n-jobs"),
    (["score", "{ev}", "-m", "nope", "-o", "{out}.csv"], "nope"),
    (["score", "{ev}", "-p", "oops", "-o", "{out}.csv"], "key=value"),
    (["score", "{ev}", "-m", "markov", "-p", "order=zero", "-o", "{out}.csv"], "order"),
    (["score", "{trunc}", "-o", "{out}.csv"], "trunc.csv.gz"),
    (["score", "{ev}", "--journey", "person", "-o", "{out}.csv"], "person"),
    (["score", "{ev}", "-o", "{out}.xyz"], "out.xyz"),
    (["score", "{ev}", "--format", "paths", "-o", "{out}.csv"], "--format"),
    (["score", "{dir}/missing.parquet", "-o", "{out}.csv"], "missing.parquet"),
]

COMPARE = [
    (["compare", "{sim}", "--journey", "user_id", "--truth", "{bad}"], "bad.json"),
    (["compare", "{sim}", "--journey", "user_id", "--truth", "{dir}/nope.json", "-o",
      "{out}.csv"], "nope.json"),
    (["compare", "{sim}", "--journey", "user_id", "--truth", "{wrong}", "-o", "{out}.csv"],
     "wrong.json"),
    (["compare", "{sim}", "--journey", "user_id", "--truth", "{a_dir}"], "is a directory"),
    (["compare", "{sim}", "--journey", "user_id", "--truth", "{ev}", "-o", "{out}.csv"],
     "--truth"),
    (["compare", "{sim}", "--journey", "user_id", "-m", "linear", "--truth",
      "{other_truth}", "-o", "{out}.csv", "--plot", "{out}.png"], "has no channel"),
    (["compare", "{sim}", "--journey", "user_id", "--plot", "{out}.xyz"], "--plot"),
    (["compare", "{sim}", "--journey", "user_id", "--plot", "{out}"], "--plot"),
    (["compare", "{sim}", "--journey", "user_id", "-o", "{out}.csv", "--plot",
      "{out}.csv"], "--plot"),
    (["compare", "{sim}", "--journey", "user_id", "--level", "person"], "--level"),
    (["compare", "{sim}", "-m", "nope", "--journey", "user_id", "-o", "{out}.csv"], "nope"),
]

SIMULATE = [
    (["simulate", "--journeys", "0", "-o", "{out}.csv", "--truth", "{out}.json"], "--journeys"),
    (["simulate", "--journeys", "-1", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--journeys"),
    (["simulate", "--journeys", "many", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--journeys"),
    (["simulate", "--journeys", "50", "--mean-length", "0", "-o", "{out}.csv", "--truth",
      "{out}.json"], "--mean-length"),
    (["simulate", "--mean-length", "long", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--mean-length"),
    (["simulate", "--target-top20", "1.5", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--target-top20"),
    (["simulate", "--target-top20", "abc", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--target-top20"),
    (["simulate", "--target-top20", "0", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--target-top20"),
    (["simulate", "--journeys", "200", "--target-top20", "0.3", "-o", "{out}.csv", "--truth",
      "{out}.json"], "--target-top20 flat"),
    (["simulate", "--tier", "magic", "-o", "{out}.csv", "--truth", "{out}.json"], "--tier"),
    (["simulate", "--journeys", "50", "-o", "{out}.csv", "--truth", "{out}.csv"], "--truth"),
    (["simulate", "--journeys", "50", "-o", "{out}.xyz", "--truth", "{out}.json"], "out.xyz"),
    (["simulate", "--seed", "-1", "-o", "{out}.csv", "--truth", "{out}.json"], "--seed"),
]

OTHERS = [
    (["bench", "speed"], "speed"),
    (["bench", "concentration", "--journeys", "0", "--out", "{out}"], "--journeys"),
    (["bench", "concentration", "--n-jobs", "0", "--out", "{out}"], "--n-jobs"),
    (["bench", "concentration", "--quick", "--out", "{a_file}"], "--out"),
    (["nope"], "nope"),
    ([], "command"),
    (["--debug"], "command"),
    (["--quiet", "--verbose", "demo"], "--verbose"),
    (["models", "--bogus"], "--bogus"),
    (["demo", "extra"], "extra"),
]


@pytest.mark.parametrize("args, culprit", FIT + TIMES + SCORE + COMPARE + SIMULATE + OTHERS,
                         ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_exit_2_one_line_naming_the_culprit_and_no_output(args, culprit, files, tmp_path,
                                                         capsys):
    code, err = run_case(args, files, tmp_path, capsys)
    one_error(code, err, culprit)
    assert list(tmp_path.iterdir()) == []  # no output, no .tmp, no folder


def test_argparse_errors_name_the_command_help(files, tmp_path, capsys):
    line = one_error(*run_case(["fit", "{ev}", "--level", "x"], files, tmp_path, capsys),
                     "--level")
    assert "invalid choice: 'x'" in line and line.endswith("see `attribution fit --help`")
    line = one_error(*run_case(["fit", "{ev}", "--n-boot", "-3"], files, tmp_path, capsys),
                     "--n-boot")
    assert "got '-3'" in line and "usage:" not in line


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_anywhere_shows_the_traceback(where, files, tmp_path):
    args = ["fit", files["ev"], "--lookback", "30"]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    with pytest.raises(ParameterError, match="lookback='30' has no unit"):
        main(args)


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_anywhere_silences_warnings(where, files, tmp_path, capsys):
    args = ["fit", files["ev"], "--lookback", "1D", "-o", str(tmp_path / "c.csv")]
    assert main(args) == 0
    assert "outside the lookback" in capsys.readouterr().err
    args = ["--quiet", *args] if where == "before" else [*args, "--quiet"]
    assert main(args) == 0
    assert capsys.readouterr().err == ""


def test_help_returns_0(capsys):
    assert main(["fit", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--time-unit" in out and "--time-format" in out and "--tz" in out


def test_numeric_times_message_names_both_units(files, tmp_path, capsys):
    line = one_error(*run_case(["fit", "{epoch}"], files, tmp_path, capsys), "timestamp")
    assert "--time-unit s" in line and "--time-unit step" in line and "time_unit=" not in line


def test_negative_n_jobs_counts_back_from_the_cpus_as_in_joblib(files, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["--quiet", "score", files["ev"], "-m", "linear", "--n-jobs", "-5", "-o",
                 str(out)]) == 0
    assert pd.read_csv(out)["credit"].sum() > 0


# ------------------------------------------------- hostile tester, round 2 (fixes 1, 4, 5, 7, 8)
@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    """A simulated event log without its channel column, the same with semicolons and tabs,
    and a path table written with " > "."""
    from attribution.evaluation.simulate import simulate_journeys

    d = tmp_path_factory.mktemp("sim_inputs")
    ev, _ = simulate_journeys(300, random_state=1)
    ev.drop(columns="channel").to_csv(d / "nc.csv", index=False)
    ev.to_csv(d / "semi.csv", sep=";", index=False)
    ev.to_csv(d / "tabs.csv", sep="\t", index=False)
    CA_PATHS.to_csv(d / "paths.csv", index=False)
    return {p.stem: str(p) for p in d.iterdir()}


J = ["--journey", "user_id", "--value", "revenue"]
NEEDS_CHANNEL = "--level channel needs a channel column: name it with --channel"
ROUND_2 = [
    (["fit", "{nc}", *J, "--channel", "channel", "-o", "{out}.csv"], "--channel 'channel'"),
    (["fit", "{nc}", *J, "--channel", "chan", "-o", "{out}.csv"], "--channel 'chan'"),
    (["fit", "{nc}", *J, "--level", "channel", "-o", "{out}.csv"], NEEDS_CHANNEL),
    (["score", "{nc}", *J, "--channel", "channel", "-o", "{out}.csv"], "--channel 'channel'"),
    (["score", "{nc}", *J, "--level", "channel", "-o", "{out}.csv"], NEEDS_CHANNEL),
    (["compare", "{nc}", *J, "--level", "channel", "-o", "{out}.csv"], NEEDS_CHANNEL),
    (["simulate", "--mean-length", "1e9", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--mean-length"),
    (["simulate", "--mean-length", "1001", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--mean-length"),
    (["simulate", "--journeys", "200000000", "-o", "{out}.csv", "--truth", "{out}.json"],
     "--journeys"),
    (["fit", "{paths}", "--sep", "|", "-m", "linear", "-o", "{out}.csv"], "--sep '|'"),
    (["fit", "{semi}", *J, "-o", "{out}.csv"], "separated by semicolons"),
    (["fit", "{tabs}", *J, "-o", "{out}.csv"], "comma-separated (tab-separated when named .tsv)"),
    (["compare", "{nc}", *J, "-m", "last", "-m", "last", "-o", "{out}.csv"], "--model 'last'"),
    (["fit", "{nc}", *J, "-m", "last", "-m", "last", "-o", "{out}.csv"], "--model 'last'"),
]


@pytest.mark.parametrize("args, culprit", ROUND_2,
                         ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_round_2_exit_2_one_line_naming_the_culprit_and_no_output(args, culprit, sim_files,
                                                                 tmp_path, capsys):
    code, err = run_case(args, sim_files, tmp_path, capsys)
    one_error(code, err, culprit)
    assert list(tmp_path.iterdir()) == []


def test_round_2_messages_give_the_fix(sim_files, tmp_path, capsys):
    """The separator message names the one the paths use; a CSV with semicolons is told to be
    saved with commas."""
    code, err = run_case(["fit", "{paths}", "--sep", "|", "-m", "linear"], sim_files, tmp_path,
                         capsys)
    assert "pass --sep '>'" in one_error(code, err, "--sep")
    code, err = run_case(["fit", "{semi}", *J], sim_files, tmp_path, capsys)
    assert "save it with commas" in one_error(code, err, "semicolons")


def test_without_a_channel_column_compare_and_fit_work_at_touchpoint_level(sim_files, tmp_path,
                                                                           capsys):
    """No channel column: compare defaults to touchpoints (as its --help says), and fit's
    entities are touchpoints, named as such."""
    out = tmp_path / "cmp.csv"
    assert main(["compare", sim_files["nc"], *J, "-m", "last", "-m", "first", "-o",
                 str(out)]) == 0
    assert set(pd.read_csv(out)["entity"]) <= set(pd.read_csv(sim_files["nc"])["touchpoint"])
    assert main(["compare", "--help"]) == 0
    assert "else touchpoint" in " ".join(capsys.readouterr().out.split())


def test_simulate_journeys_bounds_its_arguments():
    from attribution.evaluation.simulate import simulate_journeys

    with pytest.raises(ParameterError, match=r"mean_length must be from 1 to 1000"):
        simulate_journeys(10, mean_length=1e9)
    with pytest.raises(ParameterError, match=r"n_journeys must be from 0 to 100_000_000"):
        simulate_journeys(10**9)
