"""The ``attribution`` command: fit models on event logs or path tables from CSV or Parquet.

Bad input exits with code 2 and one line on stderr (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
import warnings

import pandas as pd

from attribution.journeys.validation import AttributionError, DroppedDataWarning, InputError


class CLIError(InputError):
    """A problem with the command line or the files it names."""


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _params(pairs) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise CLIError(f"--param takes key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip().replace("-", "_")] = _value(v.strip())
    return out


def _emit(df: pd.DataFrame, out: str | None) -> None:
    """Write ``df`` to ``out`` (CSV or Parquet, :func:`attribution.scale.io.write_table`), or
    print it when ``out`` is None.
    """
    if out is not None:
        from attribution.scale import io

        io.write_table(df, out)
        return
    with pd.option_context("display.max_rows", 500, "display.width", 200):
        print(df.to_string(index=False, float_format=lambda x: f"{x:,.4f}"))


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
    """Build journeys from the input file as the flags say (events or paths)."""
    from attribution.journeys import Journeys
    from attribution.scale import io

    df = io.read_table(args.input)
    fmt = args.format
    if fmt == "auto":
        if args.path in df.columns:
            fmt = "paths"
        elif args.journey in df.columns:
            fmt = "events"
        else:
            raise CLIError(f"cannot tell whether {args.input!r} is a path table (needs column "
                           f"{args.path!r}) or an event log (needs column {args.journey!r}); it "
                           f"has {', '.join(map(str, df.columns))}. Name the columns with --path "
                           f"or --journey, or pass --format")
    if fmt == "paths":
        return Journeys.from_paths(df, path=args.path, conversions=args.conversions,
                                   nulls=args.nulls, value=args.path_value, sep=args.sep)
    if args.time in df.columns and not pd.api.types.is_datetime64_any_dtype(df[args.time]) \
            and not pd.api.types.is_integer_dtype(df[args.time]):
        try:
            df[args.time] = pd.to_datetime(df[args.time])
        except (ValueError, TypeError) as exc:
            raise CLIError(f"column {args.time!r} (time) could not be read as dates: "
                           f"{str(exc).splitlines()[0].split('. ')[0]}; write them as ISO "
                           "dates (2024-01-31 12:00:00)") from exc
    channel = args.channel if args.channel in df.columns or args.channel != "channel" else None
    return Journeys.from_events(df, journey=args.journey, time=args.time,
                                touchpoint=args.touchpoint, channel=channel,
                                conversion=args.conversion, value=args.value,
                                lookback=args.lookback, max_touches=args.max_touches)


def _fit(args) -> int:
    from attribution.evaluation.compare import compare
    from attribution.models import get_model

    models = args.model or ["linear"]
    params = _params(args.param)
    if params and len(models) > 1:
        raise CLIError("--param applies to a single --model; run `attribution fit` once per "
                       "model to set parameters")
    estimators = {m: get_model(m, **params) for m in models}
    _check_outputs(args, args.output)
    j = load_journeys(args)
    if args.n_boot:
        from attribution.inference.bootstrap import bootstrap

        frames = []
        for name, est in estimators.items():
            if args.level:
                est.set_params(level=args.level)
            ci = bootstrap(est, j, n_boot=args.n_boot, alpha=args.alpha, n_jobs=args.n_jobs,
                           random_state=args.seed, progress=not args.quiet)
            frames.append(ci.assign(model=name))
        frame = pd.concat(frames, ignore_index=True)
        frame = frame[["model", *[c for c in frame.columns if c != "model"]]]
    else:
        frame = compare(estimators, j, level=args.level)
    if len(models) == 1:
        frame = frame.drop(columns="model")
    _emit(frame, args.output)
    return 0


def _score(args) -> int:
    from attribution.models import get_model
    from attribution.scale import io
    from attribution.scale.batch import score_file

    if not args.output:
        raise CLIError("score needs --output (a .parquet or .csv file for the per-touch credit)")
    model = get_model(args.model, **_params(args.param))
    if args.level:
        model.set_params(level=args.level)
    _check_outputs(args, args.output)
    cols = io.columns_of(args.input)
    channel = args.channel if args.channel in cols or args.channel != "channel" else None
    events = dict(journey=args.journey, time=args.time, touchpoint=args.touchpoint,
                  channel=channel, conversion=args.conversion,
                  value=args.value, lookback=_lookback(args.lookback),
                  max_touches=args.max_touches)
    summary = score_file(model, args.input, args.output, chunk_rows=args.chunk_rows,
                         n_jobs=args.n_jobs, progress=not args.quiet, **events)
    print(summary)
    return 0


def _lookback(text):
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _compare(args) -> int:
    from attribution.evaluation.compare import compare
    from attribution.models import available_models

    models = args.model or available_models()
    _check_outputs(args, args.output, args.plot)
    j = load_journeys(args)
    if j.times is None and "time_decay" in models and not args.model:
        models = [m for m in models if m != "time_decay"]  # needs timestamps
    frame = compare(models, j, level=args.level)
    wide = frame.pivot(index="entity", columns="model", values="share")[models]
    if args.truth:
        from attribution.evaluation.simulate import Truth

        truth = Truth.read_json(args.truth)
        true = truth.channel_shapley if (args.level or j.level) == "channel" else truth.shapley
        wide["TRUTH"] = (true / true.sum()).reindex(wide.index).fillna(0.0)
    if args.output:
        _emit(wide.reset_index(), args.output)
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 50):
            print((100 * wide).round(1).to_string())
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from attribution.plotting import plot_compare

        ax = plot_compare(frame)
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"wrote {args.plot}")
    return 0


def _simulate(args) -> int:
    from attribution.evaluation.simulate import simulate_journeys

    _check_outputs(args, args.output)
    target = None if args.target_top20 in (None, "flat") else float(args.target_top20)
    events, truth = simulate_journeys(args.journeys, tier=args.tier, target_top20=target,
                                      mean_length=args.mean_length,
                                      random_state=args.seed)
    _emit(events, args.output)
    truth.to_json(args.truth)
    print(f"wrote {len(events):,} events ({int(events['converted'].sum()):,} conversions) to "
          f"{args.output} and the truth (true top-20% share {truth.top20:.3f}) to {args.truth}")
    return 0


def _demo(args) -> int:
    from attribution.datasets import load_sample
    from attribution.evaluation.compare import compare

    j, truth = load_sample(as_journeys=True)
    print(f"Sample: {j}\n")
    models = ["first", "last", "linear", "position", "time_decay"]
    frame = compare(models, j, level="channel")
    wide = frame.pivot(index="entity", columns="model", values="conversions")[models]
    wide.index.name = "channel"
    wide.loc["(total)"] = wide.sum()
    print("Conversions credited to each channel, by model:")
    print(wide.round(1).to_string())
    share = frame.pivot(index="entity", columns="model", values="share")[models]
    share.index.name = "channel"
    true = truth.channel_shapley / truth.channel_shapley.sum()
    share["TRUTH"] = true.reindex(share.index).fillna(0.0)
    print("\nShare of conversions, against the true share of incremental conversions "
          "(Shapley over causal lifts):")
    print((100 * share).round(1).astype(str).add("%").to_string())
    tv = 0.5 * (share[models].sub(share["TRUTH"], axis=0)).abs().sum()
    print("\nDistance from the truth (total variation, 0 = exact): "
          + ", ".join(f"{m} {tv[m]:.3f}" for m in models))
    return 0


def _models(args) -> int:
    from attribution.models import available_models, model_class

    for name in available_models():
        cls = model_class(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        print(f"{name:12s} {cls.__name__:16s} {doc}")
    return 0


def _bench(args) -> int:
    from attribution.evaluation import harness

    spec = dict(harness.QUICK_GRID if args.quick else harness.FULL_GRID)
    if args.journeys:
        spec["n_journeys"] = (args.journeys,)
    results = harness.run_grid(spec, n_jobs=args.n_jobs, progress=not args.quiet)
    paths = harness.report(results, args.out)
    print(harness.summarise(results).round(3).to_string())
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _shared_parents():
    """The option groups shared by commands: path table columns, event log columns."""
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
    e.add_argument("--lookback", default=None, help="e.g. 30D")
    e.add_argument("--max-touches", type=int, default=None)
    return paths, events


def _add_fit_and_score(sub, paths, events):
    fit = sub.add_parser("fit", parents=[paths, events],
                         help="credit table by touchpoint or channel")
    fit.add_argument("input", help="CSV or Parquet: an event log or a path table")
    fit.add_argument("--model", "-m", action="append",
                     help="model name (repeat to compare); see `attribution models`")
    fit.add_argument("--param", "-p", action="append", help="model parameter key=value")
    fit.add_argument("--level", choices=["touchpoint", "channel"], default=None)
    fit.add_argument("--output", "-o", help="write .csv or .parquet instead of a table on stdout")
    fit.add_argument("--n-boot", type=int, default=0,
                     help="bootstrap replicates: adds *_lower, *_upper and *_se columns")
    fit.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level")
    fit.add_argument("--seed", type=int, default=None, help="random state of the bootstrap")
    fit.add_argument("--n-jobs", type=int, default=None, help="bootstrap processes")
    fit.set_defaults(func=_fit)

    score = sub.add_parser("score", parents=[events],
                           help="credit of every touch of every converting journey, streamed")
    score.add_argument("input", help="event log: CSV, Parquet file or Parquet directory")
    score.add_argument("--model", "-m", default="markov")
    score.add_argument("--param", "-p", action="append", help="model parameter key=value")
    score.add_argument("--level", choices=["touchpoint", "channel"], default=None)
    score.add_argument("--output", "-o", help=".parquet or .csv[.gz] output (required)")
    score.add_argument("--chunk-rows", type=int, default=2_000_000,
                       help="rows read at a time and per partition (bounds memory)")
    score.add_argument("--n-jobs", type=int, default=None, help="parallel partitions")
    score.set_defaults(func=_score)


def _add_others(sub, paths, events):
    cmp_ = sub.add_parser("compare", parents=[paths, events], help="models side by side")
    cmp_.add_argument("input", help="CSV or Parquet: an event log or a path table")
    cmp_.add_argument("--model", "-m", action="append", help="model (repeat); default: all")
    cmp_.add_argument("--level", choices=["touchpoint", "channel"], default="channel")
    cmp_.add_argument("--truth", help="truth JSON from `attribution simulate` (adds TRUTH)")
    cmp_.add_argument("--output", "-o", help="write the share table as .csv or .parquet")
    cmp_.add_argument("--plot", help="write a comparison PNG")
    cmp_.set_defaults(func=_compare)

    sim = sub.add_parser("simulate", help="event log + ground truth from the simulator")
    sim.add_argument("--journeys", type=int, default=100_000)
    sim.add_argument("--tier", default="noisy_or",
                     choices=["additive", "noisy_or", "logit", "confounded", "upstream"])
    sim.add_argument("--target-top20", default="0.8", help="true top-20%% share, or 'flat'")
    sim.add_argument("--mean-length", type=float, default=4.0)
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--output", "-o", required=True, help="events .parquet or .csv")
    sim.add_argument("--truth", required=True, help="truth .json")
    sim.set_defaults(func=_simulate)

    demo = sub.add_parser("demo", help="fit five models on the bundled sample")
    demo.set_defaults(func=_demo)
    bench = sub.add_parser("bench", help="benchmark harness on simulated ground truth")
    bench.add_argument("what", choices=["concentration"])
    bench.add_argument("--quick", action="store_true", help="the small grid (CI runs it)")
    bench.add_argument("--out", default="benchmarks/results", help="output folder")
    bench.add_argument("--n-jobs", type=int, default=None)
    bench.add_argument("--journeys", type=int, default=None, help="journeys per scenario")
    bench.set_defaults(func=_bench)
    models = sub.add_parser("models", help="list the registered models")
    models.set_defaults(func=_models)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``attribution`` command."""
    ap = argparse.ArgumentParser(prog="attribution", description=__doc__.splitlines()[0])
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    ap.add_argument("--quiet", action="store_true", help="no warnings and no progress bars")
    sub = ap.add_subparsers(dest="command", required=True)
    paths, events = _shared_parents()
    _add_fit_and_score(sub, paths, events)
    _add_others(sub, paths, events)
    return ap


def main(argv=None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            if args.quiet:
                warnings.simplefilter("ignore", DroppedDataWarning)
            else:
                warnings.simplefilter("always", DroppedDataWarning)
                warnings.showwarning = _short_warning
            return args.func(args)
    except (AttributionError, OSError) as exc:
        if args.debug:
            raise
        print(f"attribution: error: {exc}", file=sys.stderr)
        return 2


def _short_warning(message, category, filename, lineno, file=None, line=None):
    print(f"attribution: warning: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
