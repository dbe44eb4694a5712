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
from pathlib import Path

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
          "touchpoint": "--touchpoint", "channel": "--channel", "conversion": "--conversion",
          "sep": "--sep", "mean_length": "--mean-length", "n_journeys": "--journeys"}
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


def checked(cast, ok, what: str, name: str):
    """An argparse type: ``text`` read with ``cast`` (ints, or finite floats) and accepted when
    ``ok(x)``; else an error saying it must be ``what``.
    """
    def check(text: str):
        x = _number(text, cast, what)
        if not ok(x):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return x
    check.__name__ = name
    return check


def at_least(low: int, what: str = ""):
    """An argparse type: an integer >= ``low``."""
    return checked(int, lambda x: x >= low, f"an integer >= {low}{what}", f"integer >= {low}")


#: a number of processes as in joblib (-1: every CPU; 0 is an error)
n_jobs = checked(int, lambda x: x != 0, "a non-zero integer (1, 2, ...; -1 for every CPU, -2 "
                 "for all but one)", "n_jobs")
#: 0 (no bootstrap) or a number of replicates >= 2
n_boot = checked(int, lambda x: x == 0 or x >= 2, "0 (no intervals) or an integer >= 2 "
                 "(replicates, e.g. 200)", "n_boot")
#: a number strictly between 0 and 1
alpha = checked(float, lambda x: 0 < x < 1, "a number strictly between 0 and 1 (e.g. 0.05 for "
                "95% intervals)", "alpha")
#: a mean journey length in [1, 1000]
mean_length = checked(float, lambda x: 1 <= x <= 1000, "a number from 1 to 1000 (mean touches "
                      "per journey)", "mean_length")
#: a number of journeys from 1 to 100 million
n_journeys = checked(int, lambda x: 1 <= x <= 100_000_000, "an integer from 1 to 100000000 "
                     "(journeys to simulate)", "n_journeys")


def top20(text: str):
    """An argparse type: 'flat' (None) or a share in (0, 1]."""
    if text.strip().lower() == "flat":
        return None
    return _share(text)


_share = checked(float, lambda x: 0 < x <= 1, "a share in (0, 1] such as 0.8, or 'flat' for "
                 "equal lifts", "top20")


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_params(pairs) -> dict:
    """The ``--param key=value`` pairs as keyword arguments (numbers, booleans, None, text)."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise CLIError(f"--param takes key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip().replace("-", "_")] = _value(v.strip())
    return out


def seeded(model, params: dict, seed: int):
    """``model`` with ``random_state=seed`` when it has one that ``--param`` did not set."""
    if "random_state" in model.get_params(deep=False) and "random_state" not in params:
        model.set_params(random_state=seed)
    return model


def unique_models(models: list) -> list:
    """``models``, refused when one is named twice."""
    twice = [m for i, m in enumerate(models) if m in models[:i]]
    if twice:
        raise CLIError(f"--model {twice[0]!r} is given twice; name each model once")
    return models


def event_options(args) -> dict:
    """The event log options that have no default, by flag."""
    return {"--value": args.value, "--lookback": args.lookback, "--channel": args.channel,
            "--max-touches": args.max_touches, "--time-unit": args.time_unit,
            "--time-format": args.time_format, "--tz": args.tz}


def event_kwargs(args, channel) -> dict:
    """The arguments of :meth:`Journeys.from_events` the flags give (the times are read by
    the library: strings with one format, numbers with ``--time-unit``).
    """
    return dict(journey=args.journey, time=args.time, touchpoint=args.touchpoint,
                channel=channel, conversion=args.conversion, value=args.value,
                lookback=args.lookback, max_touches=args.max_touches,
                time_unit=args.time_unit, time_format=args.time_format, tz=args.tz)


def channel_column(args, columns) -> str | None:
    """The channel column: ``--channel`` (which must be a column), else the column "channel"
    if there is one, else None; ``--level channel`` needs one.
    """
    if args.channel is not None and args.channel not in columns:
        raise CLIError(f"--channel {args.channel!r} is not a column of {args.input!r}; it has "
                       f"{', '.join(map(str, columns))}. Name the channel column with --channel, "
                       f"or drop --channel")
    channel = args.channel or ("channel" if "channel" in columns else None)
    if channel is None and args.level == "channel":
        raise CLIError(f"--level channel needs a channel column: name it with --channel "
                       f"({args.input!r} has no column 'channel'), or pass --level touchpoint")
    return channel


def unknown_layout(args, columns) -> str:
    """Why the input is neither a path table nor an event log, and the fix."""
    what = (f"cannot tell whether {args.input!r} is a path table (needs column {args.path!r}) "
            f"or an event log (needs column {args.journey!r}); it has "
            f"{', '.join(map(str, columns))}")
    seps = {";": "semicolons", "\t": "tabs", "|": "'|'"}
    found = [c for c in seps if len(columns) == 1 and c in str(columns[0])]
    if found:
        return (f"{what}: it seems to be separated by {seps[found[0]]}, but CSV inputs must be "
                f"comma-separated (tab-separated when named .tsv); save it with commas")
    return f"{what}. Name the columns with --path or --journey, or pass --format"


def read_truth(path):
    """The truth JSON of ``compare --truth``, read before any work."""
    from attribution.evaluation.simulate import Truth

    fix = "pass the truth JSON written by `attribution simulate --truth`"
    if not Path(path).is_file():
        what = "is a directory" if Path(path).is_dir() else "does not exist"
        raise CLIError(f"--truth {path!r} {what}; {fix}")
    try:
        return Truth.read_json(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        why = f"no {exc} entry" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        raise CLIError(f"--truth {path!r} is not a truth file ({why[:200]}); {fix}") from exc


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
    e.add_argument("--channel", default=None,
                   help="channel column (default: the column 'channel' if there is one)")
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


_SEED = "random state of sampled models and the bootstrap (default 0: a run repeats exactly)"


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
    fit.add_argument("--seed", type=at_least(0), default=0, help=_SEED)
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
    score.add_argument("--seed", type=at_least(0), default=0, help=_SEED)
    score.add_argument("--chunk-rows", type=at_least(1), default=2_000_000,
                       help="rows read at a time and per partition (bounds memory)")
    score.add_argument("--n-jobs", type=n_jobs, default=None,
                       help="parallel partitions (-1: every CPU)")
    score.set_defaults(func=handlers["score"])


def _add_others(sub, common, paths, events, handlers):
    cmp_ = sub.add_parser("compare", parents=[common, paths, events], help="models side by side")
    cmp_.add_argument("input", help="CSV or Parquet: an event log or a path table")
    cmp_.add_argument("--model", "-m", action="append", help="model (repeat); default: all")
    cmp_.add_argument("--level", choices=["touchpoint", "channel"], default=None,
                      help="default: channel when the input has a channel column, else "
                           "touchpoint")
    cmp_.add_argument("--seed", type=at_least(0), default=0, help=_SEED)
    cmp_.add_argument("--truth", help="truth JSON from `attribution simulate` (adds TRUTH)")
    cmp_.add_argument("--output", "-o", help="write the share table as .csv or .parquet")
    cmp_.add_argument("--plot", help="write a comparison figure (.png, .pdf, .svg, ...)")
    cmp_.set_defaults(func=handlers["compare"])

    sim = sub.add_parser("simulate", parents=[common],
                         help="event log + ground truth from the simulator")
    sim.add_argument("--journeys", type=n_journeys, default=100_000)
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
                       help="journeys per scenario (default: the grid's, 20000 full, 5000 quick)")
    bench.add_argument("--logit-journeys", type=at_least(1), default=None,
                       help="journeys per scenario of the logit tier (default: --journeys)")
    bench.add_argument("--seeds", type=at_least(1), default=None,
                       help="seeds per scenario (default: the grid's, 3 full, 1 quick)")
    bench.add_argument("--models", default=None,
                       help="comma-separated models to score (default: every registered one; "
                            "the true outcome model's reference rows are always added)")
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
