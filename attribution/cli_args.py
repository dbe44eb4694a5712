"""The command line of ``attribution`` (:mod:`attribution.cli` runs the commands): its parser,
library messages in terms of its flags, and signals.

A bad command line is a :class:`CLIError` on one line naming the flag and the fix, never
argparse's usage block: numbers are checked here (``--n-jobs 0``, ``--alpha 2``), before any
work. ``--quiet`` and ``--debug`` are accepted before or after the command. SIGINT and SIGTERM
raise :class:`Interrupted` (:func:`interruptible`) so that every ``with`` block cleans up.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import shlex
import signal
import threading

from attribution.journeys.validation import InputError

TIME_UNITS = ("s", "ms", "us", "ns", "step")


class CLIError(InputError):
    """A problem with the command line or the files it names."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a one-line :class:`CLIError` (exit code 2)."""

    def error(self, message):
        """Raise the message as a :class:`CLIError` with a pointer to the command's help."""
        raise CLIError(f"{message}; see `{self.prog} --help`")


#: Python argument names in library messages, as the flags that set them; the column roles
#: only as ``name=`` (a bare "time" is a word).
_FLAGS = {"time_unit": "--time-unit", "time_format": "--time-format", "tz": "--tz",
          "lookback": "--lookback", "max_touches": "--max-touches",
          "target_top20": "--target-top20", "journey": "--journey", "time": "--time",
          "touchpoint": "--touchpoint", "channel": "--channel", "conversion": "--conversion"}
_ROLES = ("journey", "time", "touchpoint", "channel", "conversion")
_KEYWORD = re.compile(r"(?<![\w.-])(" + "|".join(_FLAGS) + r")(=(?:'([^']*)'|([^\s,;)]+))?)?"
                      r"(?![\w-])")


def _flag(m: re.Match) -> str:
    value = m[3] if m[3] is not None else m[4]
    if m[2] is None and m[1] in _ROLES:
        return m[0]
    if value is None:
        return _FLAGS[m[1]]
    if m[1] == "target_top20" and value == "None":
        value = "flat"
    return f"{_FLAGS[m[1]]} {shlex.quote(value)}"


def as_flags(message: str) -> str:
    """A library message with its argument names (``time_unit='s'``) as the flags that set them
    (``--time-unit s``).
    """
    return _KEYWORD.sub(_flag, message)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised in the main thread so that ``with`` blocks clean up (temporary
    files, worker processes) as they unwind.
    """


@contextlib.contextmanager
def interruptible():
    """SIGINT and SIGTERM raise :class:`Interrupted` once (a second signal does not stop the
    clean-up); the previous handlers come back at the end. Ignored signals stay ignored.
    """
    state = argparse.Namespace(signum=None, armed=True)

    def handler(signum, frame):
        if state.signum is None:
            state.signum = signum
            if state.armed:
                raise Interrupted(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, handler)
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)


def _number(text: str, cast, what: str):
    try:
        x = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if isinstance(x, float) and not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return x


def at_least(low: int, what: str = ""):
    """An argparse type: an integer >= ``low``."""
    def check(text: str) -> int:
        x = _number(text, int, f"an integer >= {low}{what}")
        if x < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}{what}, got {text!r}")
        return x
    check.__name__ = f"integer >= {low}"
    return check


def n_jobs(text: str) -> int:
    """An argparse type: a number of processes as in joblib (-1: every CPU; 0 is an error)."""
    what = "a non-zero integer (1, 2, ...; -1 for every CPU, -2 for all but one)"
    x = _number(text, int, what)
    if x == 0:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return x


def n_boot(text: str) -> int:
    """An argparse type: 0 (no bootstrap) or a number of replicates >= 2."""
    what = "0 (no intervals) or an integer >= 2 (replicates, e.g. 200)"
    x = _number(text, int, what)
    if x != 0 and x < 2:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return x


def alpha(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    what = "a number strictly between 0 and 1 (e.g. 0.05 for 95% intervals)"
    x = _number(text, float, what)
    if not 0 < x < 1:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return x


def mean_length(text: str) -> float:
    """An argparse type: a mean journey length >= 1."""
    x = _number(text, float, "a number >= 1 (mean touches per journey)")
    if x < 1:
        raise argparse.ArgumentTypeError(f"must be a number >= 1 (mean touches per journey), "
                                         f"got {text!r}")
    return x


def top20(text: str):
    """An argparse type: 'flat' (None) or a share in (0, 1]."""
    what = "a share in (0, 1] such as 0.8, or 'flat' for equal lifts"
    if text.strip().lower() == "flat":
        return None
    x = _number(text, float, what)
    if not 0 < x <= 1:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return x


def shared_parents():
    """The option groups shared by commands: common flags, path table and event log columns."""
    common = argparse.ArgumentParser(add_help=False)  # after the command: only when given
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks")
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no warnings and no progress bars")
    paths = argparse.ArgumentParser(add_help=False)
    g = paths.add_argument_group("path table columns")
    g.add_argument("--format", choices=["auto", "events", "paths"], default="auto")
    g.add_argument("--path", default="path")
    g.add_argument("--conversions", default="total_conversions")
    g.add_argument("--nulls", default="total_null")
    g.add_argument("--path-value", default=None, help="value column of a path table")
    g.add_argument("--sep", default=">")
    events = argparse.ArgumentParser(add_help=False)
    e = events.add_argument_group("event log columns")
    e.add_argument("--journey", default="user_id")
    e.add_argument("--time", default="timestamp")
    e.add_argument("--touchpoint", default="touchpoint")
    e.add_argument("--channel", default="channel")
    e.add_argument("--conversion", default="converted")
    e.add_argument("--value", default=None)
    e.add_argument("--lookback", default=None,
                   help="e.g. 30D or 12h; a number of steps with --time-unit step")
    e.add_argument("--max-touches", type=at_least(1), default=None)
    e.add_argument("--time-unit", choices=TIME_UNITS, default=None,
                   help="what numeric times are: s, ms, us or ns since 1970-01-01 UTC, or "
                        "ordered steps (required for numeric times)")
    e.add_argument("--time-format", default=None,
                   help="format of date strings, e.g. '%%d/%%m/%%Y %%H:%%M' or ISO8601 "
                        "(default: guessed once from the first value)")
    e.add_argument("--tz", default=None,
                   help="time zone of the times, e.g. Europe/Paris (naive times are "
                        "wall-clock times there)")
    return common, paths, events


def _add_fit_and_score(sub, common, paths, events, handlers):
    fit = sub.add_parser("fit", parents=[common, paths, events],
                         help="credit table by touchpoint or channel")
    fit.add_argument("input", help="CSV or Parquet: an event log or a path table")
    fit.add_argument("--model", "-m", action="append",
                     help="model name (repeat to compare); see `attribution models`")
    fit.add_argument("--param", "-p", action="append", help="model parameter key=value")
    fit.add_argument("--level", choices=["touchpoint", "channel"], default=None)
    fit.add_argument("--output", "-o", help="write .csv or .parquet instead of a table on stdout")
    fit.add_argument("--n-boot", type=n_boot, default=0,
                     help="bootstrap replicates: adds *_lower, *_upper and *_se columns")
    fit.add_argument("--alpha", type=alpha, default=0.05, help="1 - confidence level")
    fit.add_argument("--seed", type=at_least(0), default=None,
                     help="random state of the bootstrap")
    fit.add_argument("--n-jobs", type=n_jobs, default=None,
                     help="bootstrap processes (-1: every CPU)")
    fit.set_defaults(func=handlers["fit"])

    score = sub.add_parser("score", parents=[common, events],
                           help="credit of every touch of every converting journey, streamed")
    score.add_argument("input", help="event log: CSV, Parquet file or Parquet directory")
    score.add_argument("--model", "-m", default="markov")
    score.add_argument("--param", "-p", action="append", help="model parameter key=value")
    score.add_argument("--level", choices=["touchpoint", "channel"], default=None)
    score.add_argument("--output", "-o", help=".parquet or .csv[.gz] output (required)")
    score.add_argument("--chunk-rows", type=at_least(1), default=2_000_000,
                       help="rows read at a time and per partition (bounds memory)")
    score.add_argument("--n-jobs", type=n_jobs, default=None,
                       help="parallel partitions (-1: every CPU)")
    score.set_defaults(func=handlers["score"])


def _add_others(sub, common, paths, events, handlers):
    cmp_ = sub.add_parser("compare", parents=[common, paths, events], help="models side by side")
    cmp_.add_argument("input", help="CSV or Parquet: an event log or a path table")
    cmp_.add_argument("--model", "-m", action="append", help="model (repeat); default: all")
    cmp_.add_argument("--level", choices=["touchpoint", "channel"], default="channel")
    cmp_.add_argument("--truth", help="truth JSON from `attribution simulate` (adds TRUTH)")
    cmp_.add_argument("--output", "-o", help="write the share table as .csv or .parquet")
    cmp_.add_argument("--plot", help="write a comparison figure (.png, .pdf, .svg, ...)")
    cmp_.set_defaults(func=handlers["compare"])

    sim = sub.add_parser("simulate", parents=[common],
                         help="event log + ground truth from the simulator")
    sim.add_argument("--journeys", type=at_least(1), default=100_000)
    sim.add_argument("--tier", default="noisy_or",
                     choices=["additive", "noisy_or", "logit", "confounded", "upstream"])
    sim.add_argument("--target-top20", type=top20, default=0.8,
                     help="true top-20%% share, or 'flat'")
    sim.add_argument("--mean-length", type=mean_length, default=4.0)
    sim.add_argument("--seed", type=at_least(0), default=None)
    sim.add_argument("--output", "-o", required=True, help="events .parquet or .csv")
    sim.add_argument("--truth", required=True, help="truth .json")
    sim.set_defaults(func=handlers["simulate"])

    demo = sub.add_parser("demo", parents=[common], help="fit five models on the bundled sample")
    demo.set_defaults(func=handlers["demo"])
    bench = sub.add_parser("bench", parents=[common],
                           help="benchmark harness on simulated ground truth")
    bench.add_argument("what", choices=["concentration"])
    bench.add_argument("--quick", action="store_true", help="the small grid (CI runs it)")
    bench.add_argument("--out", default="benchmarks/results", help="output folder")
    bench.add_argument("--n-jobs", type=n_jobs, default=None)
    bench.add_argument("--journeys", type=at_least(1), default=None,
                       help="journeys per scenario")
    bench.set_defaults(func=handlers["bench"])
    models = sub.add_parser("models", parents=[common], help="list the registered models")
    models.set_defaults(func=handlers["models"])


def build_parser(handlers: dict, description: str) -> Parser:
    """The parser; ``handlers`` maps each command to the function that runs it."""
    ap = Parser(prog="attribution", description=description)
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    ap.add_argument("--quiet", action="store_true", help="no warnings and no progress bars")
    sub = ap.add_subparsers(dest="command", required=True)
    common, paths, events = shared_parents()
    _add_fit_and_score(sub, common, paths, events, handlers)
    _add_others(sub, common, paths, events, handlers)
    return ap
