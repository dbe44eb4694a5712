"""``attribution fit --by-epoch`` (one fit per period, with the changes between them) and
``--experiments`` (calibration to lift tests).
"""

from __future__ import annotations

import sys

import pandas as pd

from attribution.cli_args import BY, CLIError


def check_epoch(args) -> None:
    """``--by-epoch`` goes alone (before any fit): not with ``--by``, ``--spend``."""
    if args.by_epoch and (args.by or args.spend):
        raise CLIError(f"--by-epoch refits per period; it cannot be combined with "
                       f"{'--by' if args.by else '--spend'}: drop one")
    if args.experiments and (args.by or args.spend):
        raise CLIError("--experiments calibrates the totals (and their --n-boot intervals) "
                       "or each epoch (--by-epoch); it cannot be combined with --by or --spend "
                       "yet: drop one")
    if args.experiments:
        from attribution.experiments import read_experiments
        from attribution.models import get_model

        fixed = [m for m in (args.model or ["linear"])
                 if not get_model(m.split(".")[0]).accepts_experiments]
        if fixed:
            raise CLIError(f"--experiments calibrates Logistic; {', '.join(fixed)} cannot be "
                           "calibrated (no value model that a lift test measures): drop them "
                           "or use attribution compare to see them beside it")

        args.experiments = read_experiments(args.experiments)  # read once: the fits take it


def epoch_table(args, models: dict, journeys) -> pd.DataFrame:
    """One block per model: epoch, entity, credit, share (with lower, upper and se when
    ``--n-boot`` is set); the changes found are told on stderr, one line each.
    """
    from attribution.epochs import fit_by_epoch

    if journeys.time_kind != "datetime":
        raise CLIError(f"--by-epoch {args.by_epoch} needs journeys with dates; these count "
                       "steps (--time-unit step): use fit_by_epoch(..., boundaries=[...]) "
                       "in Python, with boundaries in steps")
    frames = []
    for name, est in models.items():
        fits = fit_by_epoch(est, journeys, BY[args.by_epoch], n_boot=args.n_boot,
                            alpha=args.alpha, n_jobs=args.n_jobs, random_state=args.seed,
                            experiments=args.experiments)
        for note in fits.notes:
            print(f"note: {name}: {note}", file=sys.stderr)
        tell_experiments({f"{name}, epoch {e}": getattr(m, "experiments_", None)
                          for e, m in fits.models.items()})
        _tell_changes(name, fits, args)
        frames.append(fits.frame.assign(model=name))
    frame = pd.concat(frames, ignore_index=True)
    if args.n_boot == 0:
        frame = frame.drop(columns=["lower", "upper", "se", "credit_lower", "credit_upper"])
    frame = frame[["model", *[c for c in frame.columns if c != "model"]]]
    if len(models) == 1:
        frame = frame.drop(columns="model")
    frame.attrs["title"] = f"Credit refitted per {args.by_epoch} of conversion:"
    return frame


def _tell_changes(name, fits, args) -> None:
    if args.n_boot == 0:
        print(f"note: {name}: changes between epochs need intervals: add --n-boot 100",
              file=sys.stderr)
        return
    partial = fits.partial()
    if partial:
        print(f"note: {name}: epoch(s) {', '.join(map(str, partial))} hold under half the "
              "median epoch's journeys (a ragged end of the log): left out of the change "
              "test", file=sys.stderr)
    changes = fits.detect_changes(alpha=args.alpha)
    if not len(changes):
        print(f"note: {name}: no change between epochs (step test, alpha {args.alpha})",
              file=sys.stderr)
    for row in changes.itertuples():
        beyond = "outside" if row.beyond_interval else "inside"
        print(f"change: {name}: from {row.boundary}, {row.entity} {row.before:.4g} -> "
              f"{row.after:.4g} (z {row.z:.1f}; {beyond} the interval of the epoch before)",
              file=sys.stderr)


def tell_experiments(tables: dict) -> None:
    """One line per (model, lift test) on stderr: the experiment, the observational fit's
    removal effect and z-score against it, the calibrated one, and the likelihood weight.
    """
    for name, table in tables.items():
        if table is None:
            continue
        for row in table.itertuples():
            print(f"experiment: {name}: {row.entity} measured {row.incremental:,.4g} "
                  f"(se {row.se:,.3g}); observational {row.observational:,.4g} "
                  f"(z {row.z_observational:+.1f}) -> calibrated {row.calibrated:,.4g} "
                  f"(z {row.z_calibrated:+.1f}), journeys' weight {row.weight:.3g}",
                  file=sys.stderr)
