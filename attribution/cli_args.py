"""The command line of ``attribution`` (:mod:`attribution.cli` runs the commands, its parser is
:mod:`attribution.cli_parser`): checked option types, library messages in terms of its flags,
and signals.

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
#: ``fit --by`` choices -> pandas period codes
BY = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
#: the models `attribution compare` runs by default: the heuristics, the Markov chain, Shapley
#: and Logistic (incremental credit, the rest to "(baseline)")
COMPARE_MODELS = ("first", "last", "linear", "position", "time_decay", "markov", "shapley",
                  "logistic")


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
          "sep": "--sep", "mean_length": "--mean-length", "n_journeys": "--journeys",
          "conversion_touchpoints": "--conversion-touchpoint"}
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


def _items(inner: str, whole: str) -> list[str]:
    """``inner`` split at its commas outside brackets and quotes; unbalanced brackets or
    quotes refused.
    """
    parts, depth, start, quote, prev = [], 0, 0, None, ","
    for i, ch in enumerate(inner):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"" and prev in "[,":  # a quote opens an item (not macy's)
            quote = ch
        elif ch in "[]":
            depth += 1 if ch == "[" else -1
            if depth < 0:
                break
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
        prev = ch if not ch.isspace() else prev
    if depth != 0 or quote:
        raise CLIError(f"--param value {whole!r} has unbalanced brackets or quotes; write a "
                       "list as [a,b] and a list of pairs as [[a,b],[c,d]]")
    return parts + [inner[start:]]


def _value(text: str, whole: str | None = None):
    """A ``--param`` value: a list ``[a,b]`` (nested: ``[[a,b],[c,d]]``), a quoted text kept
    as written (``'0016'``, ``"a, b"``), a number, true/false/none, or text.
    """
    whole = text if whole is None else whole
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        return text[1:-1]
    if text.startswith("[") and text.endswith("]"):  # [direct,organic], [1,2], [[a,b],[c,d]]
        inner = text[1:-1].strip()
        return [_value(x.strip(), whole) for x in _items(inner, whole)] if inner else []
    if text.startswith("["):
        raise CLIError(f"--param value {whole!r} has unbalanced brackets or quotes; write a "
                       "list as [a,b] and a list of pairs as [[a,b],[c,d]]")
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def parse_params(pairs) -> dict:
    """The ``--param key=value`` pairs as keyword arguments (numbers, booleans, None, text,
    lists as ``[a,b]``).
    """
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
            "--time-format": args.time_format, "--tz": args.tz,
            "--conversion-touchpoint": args.conversion_touchpoint}


def event_kwargs(args, columns) -> dict:
    """The arguments of :meth:`Journeys.from_events` the flags give for a file with
    ``columns`` (the times are read by the library: strings with one format, numbers with
    ``--time-unit``). Without a ``touchpoint`` column (and no ``--touchpoint``), a file with
    a channel column is channel-only data: the channels are the touchpoints.
    """
    channel = channel_column(args, columns)
    touchpoint = args.touchpoint
    if touchpoint == "touchpoint" and touchpoint not in columns and channel is not None:
        touchpoint = None  # the default column is absent: channel-only data
    return dict(journey=args.journey, time=args.time, touchpoint=touchpoint,
                channel=channel, conversion=conversion_column(args, columns),
                value=args.value or ("revenue" if "revenue" in columns else None),
                conversion_touchpoints=args.conversion_touchpoint, lookback=args.lookback,
                max_touches=args.max_touches, time_unit=args.time_unit,
                time_format=args.time_format, tz=args.tz)


def with_conversions(args, journeys):
    """``journeys``, refused when nothing converts: every credit would be 0, which reads as an
    answer. The message names the flags that say which rows convert.
    """
    if journeys.conversions.sum() > 0 or journeys.value.sum() != 0:
        return journeys
    how = (f"--conversion-touchpoint {' '.join(map(repr, args.conversion_touchpoint))} is "
           "not a touchpoint of the file" if getattr(args, "conversion_touchpoint", None)
           else "check the conversion column (--conversion, or --conversions for a path "
                "table) or name the conversion events with --conversion-touchpoint")
    names = ", ".join(map(str, list(journeys.names)[:12]))
    raise CLIError(f"no conversion in {args.input!r}: nothing to attribute; {how} (its "
                   f"touchpoints: {names})")


def conversion_column(args, columns) -> str | None:
    """``--conversion`` (which must be a column); None when it is the default "converted",
    the file has no such column and ``--conversion-touchpoint`` says which rows convert.
    """
    if args.conversion in columns:
        return args.conversion
    if args.conversion == "converted" and args.conversion_touchpoint:
        return None
    raise CLIError(f"--conversion {args.conversion!r} is not a column of {args.input!r}; it has "
                   f"{', '.join(map(str, columns))}. Name the conversion column with "
                   f"--conversion, or the touchpoints that are conversions with "
                   f"--conversion-touchpoint (e.g. purchase)")


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


def truth_name(output: str) -> str:
    """The default of ``simulate --truth``: ``ev.csv.gz`` -> ``ev.truth.json``, beside it."""
    name = Path(output).name
    for suffix in (".gz", ".bz2", ".xz", ".zst", ".zip"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return str(Path(output).with_name(Path(name).stem + ".truth.json"))


def with_truth(wide, truth, level: str, args):
    """The share table ``wide`` (entities x models) with the ``TRUTH`` column: the true
    incremental shares and the true ``(baseline)`` (:meth:`Truth.shares`). A truth that does
    not cover every entity of the input is another data set's, and refused.
    """
    true = truth.shares(level)
    from attribution.periods import REMAINDER

    entities = [e for e in wide.index if e not in REMAINDER]
    missing = [e for e in entities if e not in true.index]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise CLIError(f"--truth {args.truth!r} has no {level} {shown} of {args.input!r} "
                       f"({len(missing)} of {len(entities)}); pass the truth written with "
                       "this event log")
    rows = list(wide.index) + [e for e in ["(baseline)"] if e not in wide.index]
    wide = wide.reindex(rows)
    wide["TRUTH"] = true.reindex(wide.index).fillna(0.0)
    return wide


def bench_spec(args, harness) -> tuple[dict, list | None, dict | None]:
    """``attribution bench``'s grid (the quick or full one, narrowed by ``--tiers``,
    ``--journeys``, ``--seeds``), its models and the logit tier's journeys, checked before
    any work.
    """
    from attribution.models import get_model

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise CLIError(f"--out {args.out!r} is a file; name a folder for the report")
    spec = dict(harness.QUICK_GRID if args.quick else harness.FULL_GRID)
    if args.journeys:
        spec["n_journeys"] = (args.journeys,)
    if args.seeds:
        spec["seed"] = tuple(range(args.seeds))
    if args.tiers:
        tiers = tuple(t.strip() for t in args.tiers.split(",") if t.strip())
        bad = [t for t in tiers if t not in harness.TIERS]
        if bad or not tiers:
            raise CLIError(f"--tiers {args.tiers!r}: the tiers are {', '.join(harness.TIERS)}")
        spec["tier"] = tiers
    models = None
    if args.models:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        for name in models:
            get_model(name)  # an unknown name fails here, naming the models there are
    logit = {"logit": args.logit_journeys} if args.logit_journeys else None
    return spec, models, logit


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
