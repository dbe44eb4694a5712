"""The parser of the ``attribution`` command: every subcommand and option, each option with a
help line that shows its default (:class:`HelpFormatter`).

A subcommand is one entry of :data:`COMMANDS`: a function that adds its subparser (with the
shared option groups it needs, :class:`Parents`) and returns it; :func:`build_parser` adds the
commands that have a handler, in the handlers' order, and sets each handler as ``func``.
"""

from __future__ import annotations

import argparse
from typing import NamedTuple

from attribution.cli_args import (
    BY,
    COMPARE_MODELS,
    TIME_UNITS,
    Parser,
    alpha,
    at_least,
    mean_length,
    n_boot,
    n_jobs,
    n_journeys,
    top20,
)

__all__ = ["COMMANDS", "HelpFormatter", "Parents", "build_parser", "shared_parents"]

#: columns of the event log `attribution simulate` writes (the defaults of the event flags)
SIMULATED = "user_id, timestamp, touchpoint, channel, stage, converted, revenue"
_SEED = "random state of the models that sample and of the bootstrap: a run repeats exactly"
_PARAM = ("model parameter key=value, e.g. -p half_life=3D (repeatable); with several models "
          "name the model: -p markov.order=2 -p logistic.C=0.5; lists as [a,b], pairs as "
          "[[a,b],[c,d]]; `attribution models` lists them (default: the model's defaults)")
_QUIET_DEBUG = " (accepted before or after the command)"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help lines end with ``(default: ...)`` for every option with a default (not None or
    False), unless the help text already says what the default is.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text or not action.option_strings or default is None
                or default is False or default is argparse.SUPPRESS):
            return text
        if isinstance(default, (list, tuple)):
            default = ", ".join(map(str, default))
        elif isinstance(default, int) and not isinstance(default, bool) and default >= 10_000:
            default = f"{default:,}"
        return f"{text} (default: {str(default).replace('%', '%%')})"


class Parents(NamedTuple):
    """Option groups shared by commands: common flags, path table and event log columns."""

    common: argparse.ArgumentParser
    paths: argparse.ArgumentParser
    events: argparse.ArgumentParser


def shared_parents() -> Parents:
    """The option groups shared by commands."""
    common = argparse.ArgumentParser(add_help=False)  # after the command: only when given
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error" + _QUIET_DEBUG)
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no warnings and no progress bars" + _QUIET_DEBUG)
    paths = argparse.ArgumentParser(add_help=False)
    g = paths.add_argument_group("path table columns (one row per path)")
    g.add_argument("--format", choices=["auto", "events", "paths"], default="auto",
                   help="how to read the input; auto: a path table if it has the --path "
                        "column, else an event log if it has the --journey column")
    g.add_argument("--path", default="path", help="column of the paths, e.g. 'email > web'")
    g.add_argument("--conversions", default="total_conversions",
                   help="column of the conversions of each path")
    g.add_argument("--nulls", default="total_null",
                   help="column of the journeys of each path that did not convert")
    g.add_argument("--path-value", default="auto",
                   help="column of the value of each path; auto: total_conversion_value if "
                        "the table has it, else value 0")
    g.add_argument("--sep", default=">", help="separator of the names in a path")
    events = argparse.ArgumentParser(add_help=False)
    _event_columns(events.add_argument_group("event log columns (one row per event)"))
    return Parents(common, paths, events)


def _event_columns(e) -> None:
    e.add_argument("--journey", default="user_id",
                   help="column identifying the person (user, cookie, account)")
    e.add_argument("--time", default="timestamp", help="column of the event times")
    e.add_argument("--touchpoint", default="touchpoint",
                   help="column naming the interaction (empty on rows that only convert); "
                        "without it, channel-only data: the channels are the touchpoints")
    e.add_argument("--channel", default=None,
                   help="column of the channel hosting each touchpoint (default: the column "
                        "'channel' if there is one)")
    e.add_argument("--conversion", default="converted",
                   help="column flagging conversions (0/1 or a count); may be absent with "
                        "--conversion-touchpoint")
    e.add_argument("--conversion-touchpoint", action="append", default=None, metavar="NAME",
                   help="a touchpoint that means a conversion, e.g. purchase (repeat for "
                        "several): its rows convert and are not touches (default: none)")
    e.add_argument("--value", default=None,
                   help="column of the conversion value (default: the column 'revenue' if "
                        "there is one, else no value)")
    e.add_argument("--lookback", default=None,
                   help="only touches this long before the conversion, e.g. 30D or 12h; a "
                        "number of steps with --time-unit step (default: every touch)")
    e.add_argument("--max-touches", type=at_least(1), default=None,
                   help="only the last N touches of each journey (default: every touch)")
    e.add_argument("--time-unit", choices=TIME_UNITS, default=None,
                   help="what numeric times are: s, ms, us or ns since 1970-01-01 UTC, or "
                        "ordered steps (default: none; required for numeric times)")
    e.add_argument("--time-format", default=None,
                   help="format of date strings, e.g. '%%d/%%m/%%Y %%H:%%M' or ISO8601 "
                        "(default: guessed once from the first value)")
    e.add_argument("--tz", default=None,
                   help="time zone of the times, e.g. Europe/Paris: naive times are "
                        "wall-clock times there (default: the zone the times carry, if any)")


def _level(sub, default_text: str) -> None:
    sub.add_argument("--level", choices=["touchpoint", "channel"], default=None,
                     help=f"credit touchpoints or channels (default: {default_text})")


def _add(sub, name: str, parents, help_text: str):
    return sub.add_parser(name, parents=parents, help=help_text, description=help_text,
                          formatter_class=HelpFormatter)


def _add_fit(sub, p: Parents):
    fit = _add(sub, "fit", [p.common, p.paths, p.events],
               "credit table by touchpoint or channel")
    fit.add_argument("input", help="CSV or Parquet: an event log or a path table")
    fit.add_argument("--model", "-m", action="append",
                     help="model to fit (repeat for several); see `attribution models` "
                          "(default: linear)")
    fit.add_argument("--param", "-p", action="append", metavar="[MODEL.]KEY=VALUE", help=_PARAM)
    _level(fit, "touchpoint for an event log, the names of a path table")
    fit.add_argument("--output", "-o", help="write the table with raw numbers to a .csv, .tsv "
                     "or .parquet file (default: a table on the terminal)")
    fit.add_argument("--n-boot", type=n_boot, default=0,
                     help="bootstrap replicates for intervals (adds *_lower, *_upper and *_se "
                          "columns); 0: no intervals")
    fit.add_argument("--alpha", type=alpha, default=0.05, help="1 - confidence level")
    fit.add_argument("--seed", type=at_least(0), default=0, help=_SEED)
    fit.add_argument("--n-jobs", type=n_jobs, default=None,
                     help="bootstrap processes, -1: every CPU (default: one)")
    fit.add_argument("--spend", metavar="FILE", default=None,
                     help="spend table (CSV or Parquet: channel or touchpoint, cost, optional "
                          "period): the output becomes cost per attributed conversion (cpa) "
                          "and value per cost (roas), with intervals when --n-boot is set "
                          "(default: none)")
    fit.add_argument("--by", choices=list(BY), default=None,
                     help="credit per period of the conversion's time, the model fitted once "
                          "over the whole input (default: none, totals)")
    fit.add_argument("--by-epoch", choices=list(BY), default=None,
                     help="refit the model on each period's journeys (by conversion time) "
                          "and report the changes between periods; intervals and the change "
                          "test need --n-boot (default: none)")
    fit.add_argument("--experiments", metavar="FILE", default=None,
                     help="lift tests to calibrate to (CSV or Parquet: channel or touchpoint, "
                          "incremental, se, optional start and end); Logistic only "
                          "(default: none)")
    return fit


def _add_score(sub, p: Parents):
    score = _add(sub, "score", [p.common, p.events],
                 "credit of every touch of every converting journey, streamed")
    score.add_argument("input", help="event log: CSV, Parquet file or Parquet directory")
    score.add_argument("--model", "-m", default="markov",
                       help="model to fit and score with; see `attribution models`")
    score.add_argument("--param", "-p", action="append", metavar="KEY=VALUE", help=_PARAM)
    _level(score, "touchpoint")
    score.add_argument("--output", "-o", help="per-touch credit: .parquet or .csv[.gz] "
                       "(required; no default)")
    score.add_argument("--seed", type=at_least(0), default=0, help=_SEED)
    score.add_argument("--chunk-rows", type=at_least(1), default=2_000_000,
                       help="rows read at a time and per partition (bounds memory)")
    score.add_argument("--n-jobs", type=n_jobs, default=None,
                       help="parallel partitions, -1: every CPU (default: one)")
    return score


def _add_compare(sub, p: Parents):
    cmp_ = _add(sub, "compare", [p.common, p.paths, p.events],
                "models side by side: each model's share of the conversions")
    cmp_.add_argument("input", help="CSV or Parquet: an event log or a path table")
    cmp_.add_argument("--model", "-m", action="append",
                      help="model to compare (repeat); see `attribution models` (default: "
                           f"{', '.join(COMPARE_MODELS)}: the heuristics, the Markov chain, "
                           "Shapley, and Logistic, whose credit is incremental: the "
                           "conversions it expects without any touch go to (baseline))")
    cmp_.add_argument("--param", "-p", action="append", metavar="[MODEL.]KEY=VALUE",
                      help=_PARAM)
    _level(cmp_, "channel when the input has a channel column, else touchpoint")
    cmp_.add_argument("--seed", type=at_least(0), default=0, help=_SEED)
    cmp_.add_argument("--experiments", metavar="FILE", default=None,
                      help="lift tests (CSV or Parquet: channel or touchpoint, incremental, "
                           "se): models that can be calibrated are shown calibrated too "
                           "(default: none)")
    cmp_.add_argument("--truth", help="truth JSON from `attribution simulate`: adds a TRUTH "
                      "column (default: none)")
    cmp_.add_argument("--output", "-o", help="write the share table with raw shares (0-1) to "
                      "a .csv, .tsv or .parquet file (default: a table on the terminal)")
    cmp_.add_argument("--plot", help="write a comparison figure (.png, .pdf, .svg, ...) "
                      "(default: none)")
    return cmp_


def _add_simulate(sub, p: Parents):
    sim = _add(sub, "simulate", [p.common], "event log + ground truth from the simulator")
    sim.add_argument("--journeys", type=n_journeys, default=100_000,
                     help="journeys to simulate")
    sim.add_argument("--tier", default="noisy_or",
                     choices=["additive", "noisy_or", "logit", "confounded", "upstream"],
                     help="how touches cause conversions (docs/models.md, Ground truth)")
    sim.add_argument("--target-top20", type=top20, default=0.8,
                     help="true share of the top 20%% of touchpoints, or 'flat'")
    sim.add_argument("--mean-length", type=mean_length, default=4.0,
                     help="mean touches per journey")
    sim.add_argument("--span-days", type=at_least(1), default=60,
                     help="journeys start within this many days (a year: 365)")
    sim.add_argument("--seed", type=at_least(0), default=None,
                     help="random state (default: a new one each run)")
    sim.add_argument("--output", "-o", required=True,
                     help=f"event log to write, .csv or .parquet (required), columns {SIMULATED}: "
                          "the defaults of fit, compare and score")
    sim.add_argument("--truth", help="ground truth .json, for compare --truth (default: next "
                     "to --output, NAME.truth.json)")
    return sim


def _add_demo(sub, p: Parents):
    demo = _add(sub, "demo", [p.common], "heuristics, Markov, Shapley and Logistic on the "
                "bundled sample against its known truth, and the report page")
    demo.add_argument("--out", default="demo-output",
                      help="folder for channels.csv, accuracy.csv and report.html")
    return demo


def _add_report(sub, p: Parents):
    rep = _add(sub, "report", [p.common, p.paths, p.events],
               "one self-contained HTML page: the data, the models compared with intervals, "
               "cost and ROAS, concentration, Markov transitions")
    rep.add_argument("input", help="CSV or Parquet: an event log or a path table")
    rep.add_argument("--output", "-o", required=True, help="the .html page to write (required)")
    rep.add_argument("--model", "-m", action="append",
                     help="model to show (repeat); see `attribution models` (default: first, "
                          "last, linear, position, markov, shapley, logistic)")
    rep.add_argument("--param", "-p", action="append", metavar="[MODEL.]KEY=VALUE",
                     help=_PARAM)
    rep.add_argument("--spend", metavar="FILE", default=None,
                     help="spend table (channel or touchpoint, cost, optional period): adds "
                          "cost per conversion and ROAS (default: none)")
    rep.add_argument("--truth", help="truth JSON from `attribution simulate`: overlays the "
                     "true shares (default: none)")
    _level(rep, "the input's: channel when it has a channel column")
    rep.add_argument("--n-boot", type=n_boot, default=100,
                     help="bootstrap replicates behind the intervals; 0: none")
    rep.add_argument("--alpha", type=alpha, default=0.05, help="1 - confidence level")
    rep.add_argument("--seed", type=at_least(0), default=0, help=_SEED)
    rep.add_argument("--title", default="Attribution report", help="the page's title")
    rep.add_argument("--by-epoch", choices=list(BY), default=None,
                     help="add 'Over time': the default model refitted per period (with "
                          "--n-boot replicates) and the changes between periods "
                          "(default: none)")
    return rep


def _add_models(sub, p: Parents):
    return _add(sub, "models", [p.common], "the models: what each computes, its parameters "
                "and their defaults")


def _add_bench(sub, p: Parents):
    bench = _add(sub, "bench", [p.common], "benchmark harness on simulated ground truth")
    bench.add_argument("what", choices=["concentration"], help="the benchmark to run")
    bench.add_argument("--quick", action="store_true",
                       help="the small grid, as CI runs it (default: the full grid)")
    bench.add_argument("--out", default="benchmarks/results", help="output folder")
    bench.add_argument("--n-jobs", type=n_jobs, default=None,
                       help="scenarios in parallel, -1: every CPU (default: one)")
    bench.add_argument("--journeys", type=at_least(1), default=None,
                       help="journeys per scenario (default: the grid's, 20000 full, 5000 quick)")
    bench.add_argument("--logit-journeys", type=at_least(1), default=None,
                       help="journeys per scenario of the logit tier (default: --journeys)")
    bench.add_argument("--tiers", default=None,
                       help="comma-separated outcome tiers to run, e.g. additive,noisy_or "
                            "(default: every tier of the grid)")
    bench.add_argument("--seeds", type=at_least(1), default=None,
                       help="seeds per scenario (default: the grid's, 3 full, 1 quick)")
    bench.add_argument("--models", default=None,
                       help="comma-separated models to score (default: every registered one; "
                            "the true outcome model's reference rows are always added)")
    return bench


#: command name -> the function adding its subparser (add one entry for a new command)
COMMANDS = dict(fit=_add_fit, score=_add_score, compare=_add_compare, simulate=_add_simulate,
                demo=_add_demo, report=_add_report, bench=_add_bench, models=_add_models)


DESCRIPTION = ("Multi-touch attribution: credit conversions to touchpoints and channels from an "
               "event log or a path table (CSV or Parquet).")
EPILOG = """\
`attribution COMMAND --help` explains each command and shows every default. --quiet and
--debug go anywhere on the line. Try:
  attribution simulate -o ev.csv && attribution compare ev.csv --truth ev.truth.json"""


def build_parser(handlers: dict, description: str = DESCRIPTION) -> Parser:
    """The parser; ``handlers`` maps each command of :data:`COMMANDS` to the function that
    runs it.
    """
    ap = Parser(prog="attribution", description=description, epilog=EPILOG,
                formatter_class=HelpFormatter)
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
    ap.add_argument("--quiet", action="store_true", help="no warnings and no progress bars")
    sub = ap.add_subparsers(dest="command", required=True, metavar="command")
    parents = shared_parents()
    for name, handler in handlers.items():
        COMMANDS[name](sub, parents).set_defaults(func=handler)
    return ap
