"""The CLI explains itself (issue 15): help lines with defaults, `attribution models`,
`python -m attribution`, per-model parameters, --quiet/--debug anywhere, human numbers on the
terminal, one set of column names from `simulate` to `fit`, --conversion-touchpoint."""

import argparse
import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import attribution as at
from attribution.cli import build_parser, main
from attribution.cli_args import COMPARE_MODELS
from attribution.cli_format import credit_table, share_table
from attribution.cli_models import estimators
from attribution.journeys.validation import AttributionError
from attribution.models import available_models, model_class
from tests.conftest import CA_PATHS

COMMANDS = ["fit", "score", "compare", "simulate", "demo", "bench", "models"]


def _subparsers():
    ap = build_parser()
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    return ap, sub.choices


def _entry(help_text: str, flag: str) -> str:
    """The help entry of ``flag``: its line and the deeper indented lines that follow it."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"  {re.escape(flag)}( |$)", line))
    out = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith(" " * 10):
            break
        out.append(line)
    return " ".join(" ".join(out).split())


def _shown(default) -> str:
    if isinstance(default, int) and default >= 10_000:
        return f"{default:,}"
    return str(default)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help_and_shows_its_default(command, capsys):
    _, subs = _subparsers()
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    for action in subs[command]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, (command, action.dest)
        if not action.option_strings:
            continue
        entry = _entry(text, action.option_strings[0])
        assert "default" in entry or action.default in (None, False, argparse.SUPPRESS) \
            or action.required, (command, entry)
        if action.default not in (None, False, argparse.SUPPRESS):
            assert f"(default: {_shown(action.default)})" in entry, (command, entry)
        if action.default is None and not action.required and action.nargs != 0:
            # no default value: the help says what happens without the option
            assert "default" in entry or "required" in entry, (command, entry)


def test_help_shows_compare_default_set_and_a_percent_sign(capsys):
    assert main(["compare", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert ", ".join(COMPARE_MODELS) in text and "(baseline)" in text
    assert main(["simulate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "top 20% of touchpoints, or 'flat' (default: 0.8)" in text


def test_models_lists_what_each_computes_and_its_parameters(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in available_models():
        cls = model_class(name)
        head = f"{name} ({cls.__name__}): "
        i = next(k for k, line in enumerate(lines) if line.startswith(head))
        assert len(lines[i].split(": ", 1)[1]) > 20, name  # what it computes
        block = []
        for line in lines[i + 1:]:
            if not line.startswith(" "):
                break
            block.append(line.strip())
        params = " ".join(block)
        assert params.startswith("parameters: "), name
        for key, value in cls().get_params(deep=False).items():
            assert f"{key}={value!r}" in params, (name, key)


def test_python_dash_m_attribution():
    r = subprocess.run([sys.executable, "-m", "attribution", "models"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "markov (MarkovChain)" in r.stdout
    r = subprocess.run([sys.executable, "-m", "attribution", "fit", "nope.csv"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("attribution: error:")


# ---------------------------------------------------------------- per-model parameters
@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """`attribution simulate` output, read back with the sample's column names."""
    d = tmp_path_factory.mktemp("sim")
    ev = d / "ev.csv"
    assert main(["--quiet", "simulate", "--journeys", "600", "--seed", "3", "-o", str(ev)]) == 0
    return ev


def _journeys(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.Journeys.from_events(pd.read_csv(path), journey="user_id", time="timestamp",
                                       touchpoint="touchpoint", channel="channel",
                                       conversion="converted", value="revenue", **kw)


def test_qualified_params_reach_their_model():
    models = estimators(["markov", "logistic", "first"], ["markov.order=2", "logistic.C=0.5"],
                        seed=7)
    assert models["markov"].get_params()["order"] == 2
    assert models["logistic"].get_params()["C"] == 0.5
    assert models["logistic"].get_params()["random_state"] == 7  # --seed where it samples
    assert models["markov"].get_params()["random_state"] == 7
    defaults = model_class("logistic")().get_params()
    assert {k: v for k, v in models["logistic"].get_params().items()
            if k not in ("C", "random_state")} == {k: v for k, v in defaults.items()
                                                   if k not in ("C", "random_state")}
    # an unqualified key that every model takes goes to each of them
    both = estimators(["first", "last"], ["level=channel"], seed=0)
    assert [m.get_params()["level"] for m in both.values()] == ["channel", "channel"]


@pytest.mark.parametrize("command", ["fit", "compare"])
def test_per_model_params_end_to_end_equal_the_api(command, sim, tmp_path):
    out = tmp_path / "out.csv"
    assert main(["--quiet", command, str(sim), "-m", "markov", "-m", "linear", "-p",
                 "markov.order=2", "-p", "linear.level=channel", "--level", "channel",
                 "-o", str(out)]) == 0
    got = pd.read_csv(out)
    j = _journeys(sim)
    want = at.get_model("markov", order=2, level="channel").fit(j).result_.to_frame()
    first_order = at.get_model("markov", level="channel").fit(j).result_.to_frame()
    assert not np.allclose(want["share"], first_order["share"])  # order 2 is visible
    if command == "fit":
        mk = got[got["model"] == "markov"].set_index("entity")
        np.testing.assert_allclose(mk.loc[want["entity"], "conversions"], want["conversions"],
                                   rtol=1e-9)
    else:
        np.testing.assert_allclose(got.set_index("entity").loc[want["entity"], "markov"],
                                   want["share"], rtol=1e-9)


PARAM_ERRORS = [
    (["-m", "markov", "-m", "first", "-p", "markovv.order=2"],
     ["unknown model 'markovv'", "markov, first"]),
    (["-m", "markov", "-m", "first", "-p", "logistic.C=2"],
     ["'logistic' does not run", "add -m logistic"]),
    (["-m", "markov", "-m", "first", "-p", "markov.orderr=2"],
     ["'orderr'", "order, penalty"]),
    (["-m", "markov", "-m", "first", "-p", "order=2"],
     ["'order' is a parameter of markov but not of first", "-p markov.order="]),
    (["-m", "markov", "-m", "first", "-p", "zzz=1"],
     ["no model that runs", "'zzz'", "first: level"]),
    (["-m", "markov", "-p", "orderr=2"], ["'orderr'", "max_order"]),
]


@pytest.mark.parametrize("command", ["fit", "compare"])
@pytest.mark.parametrize("args, parts", PARAM_ERRORS)
def test_param_errors_are_one_line_naming_the_culprit(command, args, parts, tmp_path, capsys):
    src = tmp_path / "paths.csv"
    CA_PATHS.to_csv(src, index=False)
    assert main([command, str(src), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("attribution: error:")
    for part in parts:
        assert part in err[0]


# ---------------------------------------------------------------- --quiet, --debug
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_and_debug_parse_before_or_after_the_command(command, where):
    ap, subs = _subparsers()
    need = {"fit": ["x.csv"], "score": ["x.csv"], "compare": ["x.csv"],
            "simulate": ["-o", "x.csv"], "bench": ["concentration"]}.get(command, [])
    flags = ["--quiet", "--debug"]
    argv = [*flags, command, *need] if where == "before" else [command, *flags, *need]
    args = ap.parse_args(argv)
    assert args.quiet and args.debug
    args = ap.parse_args([command, *need, "--debug"] if need else [command, "--debug"])
    assert args.debug and not args.quiet


@pytest.mark.parametrize("argv", [["--quiet", "fit", "{ev}", "--lookback", "1D"],
                                  ["fit", "--quiet", "{ev}", "--lookback", "1D"],
                                  ["fit", "{ev}", "--lookback", "1D", "--quiet"]])
def test_quiet_anywhere_silences_warnings(argv, sim, tmp_path, capsys):
    argv = [a.replace("{ev}", str(sim)) for a in argv] + ["-o", str(tmp_path / "c.csv")]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""
    loud = [a for a in argv if a != "--quiet"]
    assert main(loud) == 0
    assert "outside the lookback" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--debug", "fit", "nope.csv"], ["fit", "--debug", "nope.csv"],
                                  ["fit", "nope.csv", "--debug"]])
def test_debug_anywhere_raises_with_the_traceback(argv, capsys):
    with pytest.raises(AttributionError, match="nope.csv"):
        main(argv)
    assert main([a for a in argv if a != "--debug"]) == 2


# ---------------------------------------------------------------- human numbers
def test_credit_table_for_people():
    frame = pd.DataFrame({"entity": ["(baseline)", "c", "a", "b"],
                          "conversions": [900.0, -42.0, 39_908.0, 1_234.0],
                          "value": [0.0, 0.0, 1_000_000.25, 20.5]})
    frame["share"] = frame["conversions"] / frame["conversions"].sum()  # of 42,000
    text = credit_table(frame, "channel")
    lines = text.splitlines()
    assert lines[0] == "Credit of 42,000 conversions by channel, most first:"
    assert lines[1].split() == ["channel", "conversions", "value", "share"]
    assert [line.split()[0] for line in lines[2:6]] == ["a", "b", "c", "(baseline)"]
    assert lines[2].split() == ["a", "39,908", "1,000,000", "95.0%"]  # 39908 / 42000
    assert lines[4].split() == ["c", "-42", "0", "-0.1%"]
    assert "Negative credit (c -0.1%)" in text and "(baseline): the conversions" in text
    # a file keeps the raw numbers: the frame is untouched
    assert frame["conversions"].tolist() == [900.0, -42.0, 39_908.0, 1_234.0]


def test_credit_table_of_several_models_sorts_within_each_and_small_numbers_keep_decimals():
    frame = pd.DataFrame({"model": ["m1", "m1", "m2", "m2"], "entity": ["x", "y", "x", "y"],
                          "conversions": [1.0, 2.5, 3.0, 0.5], "share": [0.2857, 0.7143,
                                                                          0.8571, 0.1429]})
    lines = credit_table(frame, "touchpoint").splitlines()
    assert lines[0] == "Credit of 3.50 conversions by touchpoint, most first:"
    assert [line.split()[:3] for line in lines[2:6]] == [
        ["m1", "y", "2.50"], ["m1", "x", "1.00"], ["m2", "x", "3.00"], ["m2", "y", "0.50"]]
    assert "Negative" not in "\n".join(lines)


def test_share_table_sorts_by_the_mean_share_with_extra_rows_last():
    wide = pd.DataFrame({"last": [0.1, 0.6, 0.3, np.nan], "logistic": [0.3, 0.1, -0.05, 0.65],
                         "TRUTH": [0.5, 0.2, 0.3, 0.0]},
                        index=pd.Index(["a", "b", "c", "(baseline)"], name="entity"))
    text = share_table(wide, 12_345.0, "channel")
    lines = text.splitlines()
    assert lines[0].startswith("Share of the 12,345 conversions by channel (%)")
    assert lines[1].split() == ["channel", "last", "logistic", "TRUTH"]
    # means over the models: b 0.35, a 0.2, c 0.125; (baseline) last, whatever its share
    assert [line.split()[0] for line in lines[2:6]] == ["b", "a", "c", "(baseline)"]
    assert lines[4].split() == ["c", "30.0%", "-5.0%", "30.0%"]
    # no share shown where there is none (last); the truth's own baseline is shown
    assert lines[5].split() == ["(baseline)", "65.0%", "0.0%"]
    assert "Negative credit (logistic: c -5.0%)" in " ".join(text.split())


def test_terminal_tables_of_fit_and_compare(sim, capsys):
    assert main(["--quiet", "fit", str(sim), "-m", "last", "--level", "channel"]) == 0
    lines = capsys.readouterr().out.splitlines()
    n = int(pd.read_csv(sim)["converted"].sum())
    assert lines[0] == f"Credit of {n:,} conversions by channel, most first:"
    conv = [float(line.split()[1].replace(",", "")) for line in lines[2:] if line.strip()]
    assert conv == sorted(conv, reverse=True) and sum(conv) == pytest.approx(n, abs=1)
    assert main(["--quiet", "compare", str(sim), "-m", "last", "-m", "first"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Share of the {n:,} conversions by channel (%)") and "%" in out


# ---------------------------------------------------------------- one set of column names
def test_simulate_then_fit_and_compare_with_no_flags(sim, tmp_path):
    ev = pd.read_csv(sim)
    assert list(ev.columns) == ["user_id", "timestamp", "touchpoint", "channel", "stage",
                                "converted", "revenue"]
    assert (sim.parent / "ev.truth.json").is_file()  # the default --truth, beside the events
    out = tmp_path / "credit.csv"
    assert main(["--quiet", "fit", str(sim), "-o", str(out)]) == 0
    got = pd.read_csv(out)
    assert got["conversions"].sum() == pytest.approx(ev["converted"].sum())
    assert got["value"].sum() == pytest.approx(ev["revenue"].sum())  # revenue: the value
    assert main(["--quiet", "compare", str(sim), "--truth", str(sim.parent / "ev.truth.json"),
                 "-m", "linear", "-o", str(tmp_path / "cmp.csv")]) == 0
    cmp_ = pd.read_csv(tmp_path / "cmp.csv").set_index("entity")
    truth = json.loads((sim.parent / "ev.truth.json").read_text())
    # TRUTH: each touchpoint's incremental share of all expected conversions, and the baseline
    assert cmp_.loc["(baseline)", "TRUTH"] == pytest.approx(
        truth["baseline"] / truth["conversions"])
    assert cmp_["TRUTH"].sum() == pytest.approx(1.0)


def test_compare_runs_its_documented_default_set(sim, tmp_path):
    out = tmp_path / "cmp.csv"
    assert main(["--quiet", "compare", str(sim), "-o", str(out)]) == 0
    assert list(pd.read_csv(out).columns) == ["entity", *COMPARE_MODELS]


LOG = """\
user_id,timestamp,touchpoint,channel
1,2024-01-01,email,mail
1,2024-01-02,web,site
1,2024-01-03,purchase,site
2,2024-01-01,web,site
3,2024-01-01,email,mail
3,2024-01-02,signup,site
4,2024-01-05,web,site
4,2024-01-06,purchase,site
"""


def test_conversion_touchpoint_is_repeatable_and_equals_the_api(tmp_path, capsys):
    src = tmp_path / "log.csv"
    src.write_text(LOG)
    out = tmp_path / "c.csv"
    assert main(["fit", str(src), "-m", "linear", "--conversion-touchpoint", "purchase",
                 "--conversion-touchpoint", "signup", "-o", str(out)]) == 0
    got = pd.read_csv(out).set_index("entity")["conversions"]
    # user 1: email, web share 1; user 3: email 1; user 4: web 1 -> email 1.5, web 1.5
    assert got.to_dict() == {"email": pytest.approx(1.5), "web": pytest.approx(1.5)}
    j = at.Journeys.from_events(pd.read_csv(src), journey="user_id", time="timestamp",
                                touchpoint="touchpoint", channel="channel",
                                conversion_touchpoints=["purchase", "signup"])
    assert at.Linear().fit(j).credit_.to_dict() == pytest.approx(got.to_dict())
    assert main(["fit", str(src), "-m", "linear", "--conversion-touchpoint", "purchase",
                 "-o", str(out)]) == 0
    assert pd.read_csv(out)["conversions"].sum() == pytest.approx(2.0)  # signup is a touch now
    capsys.readouterr()
    assert main(["fit", str(src), "-m", "linear"]) == 2  # no conversion column, none named
    err = capsys.readouterr().err
    assert "--conversion 'converted' is not a column" in err and "--conversion-touchpoint" in err


def test_conversion_touchpoint_on_a_path_table_is_refused(tmp_path, capsys):
    src = tmp_path / "paths.csv"
    CA_PATHS.to_csv(src, index=False)
    assert main(["fit", str(src), "--conversion-touchpoint", "purchase"]) == 2
    assert "--conversion-touchpoint apply to event logs" in capsys.readouterr().err
