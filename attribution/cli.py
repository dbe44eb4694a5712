"""The ``attribution`` command: fit models on event logs or path tables from CSV or Parquet.

Bad input exits with code 2 and one line on stderr (``--debug`` shows the traceback); the
line names the flag, column or file and the fix. SIGINT (Ctrl-C) and SIGTERM stop a command
cleanly: temporary files and worker processes are removed, no partial output is left, one
line on stderr and exit code 130 (SIGINT) or 143 (SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import warnings
from pathlib import Path

import pandas as pd

from attribution.cli_args import (
    COMPARE_MODELS,
    CLIError,
    as_flags,
    bench_spec,
    event_kwargs,
    event_options,
    interruptible,
    read_truth,
    truth_name,
    unique_models,
    unknown_layout,
    with_conversions,
    with_truth,
)
from attribution.cli_epochs import check_epoch, epoch_table, tell_experiments
from attribution.cli_models import estimators
from attribution.cli_parser import build_parser as _build_parser
from attribution.journeys.validation import REPORT_HINT, AttributionError, DroppedDataWarning

__all__ = ["CLIError", "build_parser", "load_journeys", "main"]


def _emit(args, df: pd.DataFrame, out: str | None, level: str = "entity",
          title: str | None = None) -> None:
    """Write ``df`` to ``out`` with its raw numbers (CSV or Parquet,
    :func:`attribution.scale.io.write_table`), or print it for a person when ``out`` is None
    (:func:`attribution.cli_format.credit_table`).
    """
    if out is not None:
        from attribution.scale import io

        io.write_table(df, out)
        args.written.append(out)
        return
    from attribution.cli_format import credit_table, plain_table

    print(credit_table(df, level) if title is None else plain_table(df, title))


def _check_outputs(args, table: str | None, *others) -> None:
    """Before any work: the format of the ``table`` output is known, and no output is the
    input.
    """
    from attribution.scale import io

    if table is not None:
        io.detect_format(table, "output")
    for out in (table, *others):
        io.check_output(out, getattr(args, "input", None))


def load_journeys(args):
    """Build journeys from the input file as the flags say (events or paths); an input
    without any conversion is refused (:func:`attribution.cli_args.with_conversions`).
    """
    return with_conversions(args, _journeys(args))


def _journeys(args):
    from attribution.journeys import Journeys

    df = _read_input(args)
    fmt = args.format
    if fmt == "auto":
        if args.path in df.columns:
            fmt = "paths"
        elif args.journey in df.columns:
            fmt = "events"
        else:
            raise CLIError(unknown_layout(args, df.columns))
    if fmt == "paths":
        given = [f for f, v in event_options(args).items() if v is not None]
        if given:
            raise CLIError(f"{', '.join(given)} apply to event logs, but {args.input!r} is "
                           f"read as a path table (column {args.path!r}); drop "
                           f"{'them' if len(given) > 1 else 'it'}, or pass --format events")
        args.default_level = "channel"  # each name of a path table is its own channel
        return Journeys.from_paths(df, path=args.path, conversions=args.conversions,
                                   nulls=args.nulls, value=args.path_value, sep=args.sep)
    kwargs = event_kwargs(args, df.columns)
    args.default_level = "touchpoint" if kwargs["channel"] is None else "channel"
    return Journeys.from_events(df, **kwargs)


def _read_input(args) -> pd.DataFrame:
    """The input table; a CSV's label columns (journey, touchpoint, channel, stage) as text,
    as ``score`` reads them, so that numbers such as 5 are the labels "5" in every command.
    """
    from attribution.scale import io

    fmt = io.detect_format(args.input)
    if fmt.kind == "csv":
        names = io.columns_of(args.input)  # the file exists, its header is checked
        labels = {args.journey, args.touchpoint, args.channel or "channel", "stage"}
        try:
            return pd.read_csv(args.input, sep=fmt.delimiter, compression=fmt.compression,
                               dtype={c: str for c in names if c in labels})
        except Exception:  # noqa: BLE001 - read_table says what is wrong with the file
            pass
    return io.read_table(args.input)


def _fit(args) -> int:
    from attribution.cli_money import analyst_table, check_analyst, with_rank_probabilities
    from attribution.evaluation.compare import compare

    models = unique_models(args.model or ["linear"])
    models_run = estimators(models, args.param, args.seed)
    _check_outputs(args, args.output)
    check_analyst(args)  # --spend and --by: fails before any fit
    check_epoch(args)
    j = load_journeys(args)
    for est in models_run.values():
        if args.level:
            est.set_params(level=args.level)
    if args.by_epoch:
        frame = epoch_table(args, models_run, j)
        _emit(args, frame, args.output, title=frame.attrs["title"])
        return 0
    if args.n_boot:
        from attribution.inference.bootstrap import bootstrap

        frames = []
        for name, est in models_run.items():
            ci = bootstrap(est, j, n_boot=args.n_boot, alpha=args.alpha, n_jobs=args.n_jobs,
                           random_state=args.seed, progress=_progress(args),
                           experiments=args.experiments)
            frames.append(with_rank_probabilities(ci, est.result_).assign(model=name))
        frame = pd.concat(frames, ignore_index=True)
        frame = frame[["model", *[c for c in frame.columns if c != "model"]]]
        tell_experiments({n: getattr(e, "experiments_", None) for n, e in models_run.items()})
    elif not (args.spend or args.by):
        frame = compare(models_run, j, level=args.level, experiments=args.experiments)
        tell_experiments(frame.attrs.get("experiments", {}))
    extra = analyst_table(args, models_run, j)  # fits the models the bootstrap did not
    frame = frame if extra is None else extra
    if frame["model"].nunique() == 1:
        frame = frame.drop(columns="model")
    levels = {est.get_params().get("level") for est in models_run.values()}
    level = args.level or (levels.pop() if len(levels) == 1 else None) or j.level
    _emit(args, frame, args.output, level, None if extra is None else extra.attrs["title"])
    return 0


def _score(args) -> int:
    from attribution.scale import io
    from attribution.scale.batch import score_file

    if not args.output:
        raise CLIError("score needs --output (a .parquet or .csv file for the per-touch credit)")
    model = estimators([args.model], args.param, args.seed)[args.model]
    if args.level:
        model.set_params(level=args.level)
    _check_outputs(args, args.output)
    summary = score_file(model, args.input, args.output, chunk_rows=args.chunk_rows,
                         n_jobs=args.n_jobs, progress=_progress(args),
                         **event_kwargs(args, io.columns_of(args.input)))
    args.written.append(args.output)
    print(summary)
    return 0


def _progress(args) -> bool:
    """Progress bars on stderr: on a terminal, unless ``--quiet`` (a log file gets none, and an
    error stays one line).
    """
    isatty = getattr(sys.stderr, "isatty", None)
    return not args.quiet and bool(isatty and isatty())


def _compare(args) -> int:
    from attribution.evaluation.compare import compare
    from attribution.models import available_models

    models = unique_models(args.model or [m for m in COMPARE_MODELS if m in available_models()])
    models_run = estimators(models, args.param, args.seed)
    _check_outputs(args, args.output, args.plot)
    _check_plot(args)
    truth = read_truth(args.truth) if args.truth else None
    j = load_journeys(args)
    if j.times is None and "time_decay" in models and not args.model:
        models = [m for m in models if m != "time_decay"]  # needs timestamps
    level = args.level or args.default_level
    frame = compare({m: models_run[m] for m in models}, j, level=level,
                    experiments=args.experiments)
    models = list(dict.fromkeys(frame["model"]))  # without those that refused; + calibrated
    tell_experiments(frame.attrs.get("experiments", {}))
    wide = frame.pivot(index="entity", columns="model", values="share")[models]
    if truth is not None:
        wide = with_truth(wide, truth, level, args)
    with contextlib.ExitStack() as stack:  # the plot appears only if the table is written
        if args.plot:
            _draw(frame, stack.enter_context(_atomic(args.plot)), args.plot)
        if args.output:
            _emit(args, wide.reset_index(), args.output)
        else:
            from attribution.cli_format import share_table

            print(share_table(wide, float(j.conversions.sum()), level))
    if args.plot:
        args.written.append(args.plot)
        print(f"wrote {args.plot}")
    return 0


def _atomic(path):
    from attribution.scale import io

    return io.atomic_path(path)


def _check_plot(args) -> None:
    """Before any work: ``--plot`` names an image format matplotlib writes."""
    if args.plot is None:
        return
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    if Path(args.plot).suffix.lower().lstrip(".") not in kinds:
        raise CLIError(f"--plot {args.plot!r}: cannot tell the image format from its name; "
                       f"name it .png, .pdf or .svg (or .{', .'.join(sorted(kinds))})")
    if args.output and Path(args.output).resolve() == Path(args.plot).resolve():
        raise CLIError(f"--plot and --output both name {args.plot!r}; give them two files")


def _draw(frame, tmp, name) -> None:
    """The comparison figure of ``frame``, saved to ``tmp`` in the format of ``name``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from attribution.plotting import plot_compare

    ax = plot_compare(frame)
    ax.figure.savefig(tmp, format=Path(name).suffix.lower().lstrip("."), dpi=120,
                      bbox_inches="tight")
    plt.close(ax.figure)


def _simulate(args) -> int:
    from attribution.evaluation.simulate import simulate_journeys

    args.truth = args.truth or truth_name(args.output)
    _check_outputs(args, args.output)
    if Path(args.truth).resolve() == Path(args.output).resolve() or Path(args.truth).is_dir():
        raise CLIError(f"--truth {args.truth!r} must be a .json file apart from --output")
    events, truth = simulate_journeys(args.journeys, tier=args.tier,
                                      target_top20=args.target_top20,
                                      mean_length=args.mean_length, random_state=args.seed,
                                      span_days=args.span_days)
    with _atomic(args.truth) as tmp:  # the truth appears only if the events are written
        truth.to_json(tmp)
        _emit(args, events, args.output)
    args.written.append(args.truth)
    print(f"wrote {len(events):,} events ({int(events['converted'].sum()):,} conversions) to "
          f"{args.output} and the truth (true top-20% share {truth.top20:.3f}) to {args.truth}")
    return 0


def _demo(args) -> int:
    from attribution.datasets.demo import run_demo
    from attribution.report import write_report

    run_demo(args.out, write_report=write_report)
    return 0


def _report(args) -> int:
    from attribution.cli_money import report_page

    models = estimators(unique_models(args.model), args.param, args.seed) if args.model \
        else None
    _check_outputs(args, None, args.output)
    truth = read_truth(args.truth) if args.truth else None
    j = load_journeys(args)
    page = report_page(args, j, models, truth, _progress(args))
    args.written.append(page)
    print(f"wrote {page}")
    return 0


def _models(args) -> int:
    from attribution.cli_models import describe_models

    print(describe_models())
    return 0


def _bench(args) -> int:
    from attribution.evaluation import harness

    spec, models, tier_journeys = bench_spec(args, harness)
    results = harness.run_grid(spec, models=models, n_jobs=args.n_jobs,
                               progress=_progress(args), tier_journeys=tier_journeys)
    paths = harness.report(results, args.out)
    print(harness.summarise(results).round(3).to_string())
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``attribution`` command; its errors raise :class:`CLIError`."""
    handlers = dict(fit=_fit, score=_score, compare=_compare, simulate=_simulate, demo=_demo,
                    report=_report, bench=_bench, models=_models)
    return _build_parser(handlers)


def main(argv=None) -> int:
    """Entry point; returns the exit code: 0, 2 for bad input (one line on stderr), 130 or 143
    when stopped by SIGINT or SIGTERM, 141 (silently) when stdout is a closed pipe.
    """
    try:
        args = build_parser().parse_args(argv)
    except CLIError as exc:
        return _fail(exc)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    args.written = []
    with interruptible() as caught:
        try:
            with warnings.catch_warnings():
                if args.quiet:  # no warnings at all (the package's, its libraries')
                    warnings.simplefilter("ignore")
                else:
                    warnings.simplefilter("always", DroppedDataWarning)
                    warnings.showwarning = _short_warning
                code = args.func(args)
                sys.stdout.flush()  # a closed pipe is found here, not at exit
        except BaseException as exc:
            caught.armed = False
            if isinstance(exc, BrokenPipeError):  # `| head`: the reader has what it wants
                return _broken_pipe()
            if caught.signum is None and isinstance(exc, KeyboardInterrupt):
                caught.signum = signal.SIGINT
            if caught.signum is not None:  # what unwound is the signal's doing
                if args.debug:
                    import traceback

                    traceback.print_exc()
                return _interrupted(caught.signum, args)
            if args.debug or not isinstance(exc, (AttributionError, OSError)):
                raise
            return _fail(exc)
        caught.armed = False
    return code if caught.signum is None else _interrupted(caught.signum, args)


def _broken_pipe() -> int:
    """Exit code 141 (SIGPIPE) without a message; stdout goes to devnull so that the flush
    at exit does not fail again (as the Python docs on SIGPIPE advise).
    """
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 128 + 13


def _interrupted(signum, args) -> int:
    written = ", ".join(map(repr, args.written))
    print(f"attribution: interrupted ({signal.Signals(signum).name}); "
          + (f"wrote {written} before" if written else "no output written"), file=sys.stderr)
    return 128 + int(signum)


def _fail(exc) -> int:
    """One line on stderr; the library's argument names become the flags that set them."""
    message = " ".join(str(exc).split())
    print(f"attribution: error: {as_flags(message)}", file=sys.stderr)
    return 2


def _short_warning(message, category, filename, lineno, file=None, line=None):
    print(f"attribution: warning: {str(message).removesuffix(REPORT_HINT)}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
