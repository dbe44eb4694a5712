import subprocess
import sys

import pandas as pd
import pytest

from attribution.cli import main
from tests.conftest import CA_PATHS


@pytest.fixture
def paths_csv(tmp_path):
    p = tmp_path / "paths.csv"
    CA_PATHS.to_csv(p, index=False)
    return p


def test_fit_path_table_to_stdout(paths_csv, capsys):
    assert main(["fit", str(paths_csv), "--model", "linear"]) == 0
    out = capsys.readouterr().out
    assert "entity" in out and "3.8333" in out


def test_fit_events_to_parquet_and_compare(tmp_path, sample_events):
    src = tmp_path / "events.parquet"
    sample_events.to_parquet(src)
    out = tmp_path / "credit.parquet"
    code = main(["fit", str(src), "-m", "first", "-m", "last", "--level", "channel",
                 "--value", "revenue", "-o", str(out)])
    assert code == 0
    df = pd.read_parquet(out)
    assert set(df["model"]) == {"first", "last"}
    assert df.groupby("model")["conversions"].sum().tolist() == pytest.approx([569, 569])
    assert not list(tmp_path.glob(".*.tmp"))


def test_fit_with_params_and_lookback(tmp_path, sample_events, capsys):
    src = tmp_path / "events.csv"
    sample_events.to_csv(src, index=False)
    code = main(["fit", str(src), "-m", "time_decay", "-p", "half_life=3D", "--lookback", "7D",
                 "-o", str(tmp_path / "c.csv")])
    assert code == 0
    assert "outside the lookback" in capsys.readouterr().err


@pytest.mark.parametrize("args, msg", [
    (["fit", "nope.csv"], "does not exist"),
    (["fit", "{paths}", "-m", "linearr"], "unknown model 'linearr'"),
    (["fit", "{paths}", "--path", "route"], "cannot tell whether"),
    (["fit", "{paths}", "-m", "time_decay"], "needs touch timestamps"),
    (["fit", "{paths}", "-m", "position", "-p", "first=2"], "first"),
    (["fit", "{paths}", "-p", "oops"], "key=value"),
    (["fit", "{paths}", "-m", "first", "-m", "last", "-p", "level=channel"], "single --model"),
    (["fit", "{paths}", "-m", "markov", "-p", "orderr=2"], "orderr"),
])
def test_bad_input_exit_2_one_line(args, msg, paths_csv, capsys):
    args = [a.replace("{paths}", str(paths_csv)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("attribution: error:") and msg in err[0]


def test_bad_input_file_content(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    p.write_text("path,total_conversions,total_null\na > b,x,1\n")
    assert main(["fit", str(p)]) == 2
    assert "must be numeric" in capsys.readouterr().err


def test_demo_and_models(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "time_decay" in out and "(total)" in out and "569.0" in out and "TRUTH" in out
    assert main(["models"]) == 0
    assert "PositionBased" in capsys.readouterr().out


def test_console_script_exit_code(paths_csv):
    r = subprocess.run([sys.executable, "-m", "attribution.cli", "fit", str(paths_csv), "-m",
                        "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_fit_with_bootstrap_intervals(tmp_path, sample_events):
    src = tmp_path / "events.parquet"
    sample_events.to_parquet(src)
    out = tmp_path / "ci.csv"
    assert main(["--quiet", "fit", str(src), "-m", "markov", "-m", "linear", "--level",
                 "channel", "--n-boot", "30", "--seed", "1", "-o", str(out)]) == 0
    df = pd.read_csv(out)
    assert set(df["model"]) == {"markov", "linear"}
    assert {"share_lower", "share_upper", "conversions_se"} <= set(df.columns)
    assert (df["share_lower"] <= df["share_upper"]).all()
    again = tmp_path / "ci2.csv"
    main(["--quiet", "fit", str(src), "-m", "markov", "--level", "channel", "--n-boot", "30",
          "--seed", "1", "-o", str(again)])
    first = df[df["model"] == "markov"].drop(columns="model").reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.read_csv(again), first)


def test_every_command_reads_and_writes_through_one_format_detection(tmp_path, sample_events,
                                                                      capsys):
    src = tmp_path / "EVENTS.CSV.GZ"  # case-insensitive, compressed
    sample_events.to_csv(src, index=False, compression="gzip")
    out = tmp_path / "credit.TSV"
    assert main(["--quiet", "fit", str(src), "-m", "first", "-o", str(out)]) == 0
    assert "\t" in out.read_text().splitlines()[0]
    assert main(["--quiet", "compare", str(src), "-m", "first", "-m", "last", "-o",
                 str(tmp_path / "cmp.pq")]) == 0
    assert set(pd.read_parquet(tmp_path / "cmp.pq").columns) == {"entity", "first", "last"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["EVENTS.CSV.GZ", "cmp.pq",
                                                         "credit.TSV"]


@pytest.mark.parametrize("command", [
    ["fit", "{src}", "-o", "{src}"],
    ["compare", "{src}", "-o", "{src}"],
    ["score", "{src}", "--journey", "user_id", "-o", "{src}"],
    ["fit", "{src}", "-o", "{dir}/out.xlsx"],
    ["score", "{src}", "-o", "{dir}"],
])
def test_bad_outputs_are_refused_before_any_work(command, tmp_path, sample_events, capsys):
    src = tmp_path / "events.csv"
    sample_events.to_csv(src, index=False)
    before = src.read_bytes()
    args = [a.replace("{src}", str(src)).replace("{dir}", str(tmp_path)) for a in command]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("attribution: error:")
    assert "overwritten" in err[0] or "format" in err[0] or "directory" in err[0]
    assert src.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["events.csv"]
