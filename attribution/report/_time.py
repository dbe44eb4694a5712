"""The report's "Over time" section: the default model refitted per epoch, its trend and
the changes between epochs (:func:`attribution.epochs.fit_by_epoch`).
"""

from __future__ import annotations

from attribution.epochs import fit_by_epoch
from attribution.journeys.validation import AttributionError
from attribution.models import get_model
from attribution.report import _charts


def over_time(journeys, freq, level, n_boot: int, alpha: float, random_state) -> dict:
    """Chart, change rows and notes of the epoch refits (``note`` when they cannot run)."""
    model = get_model("logistic", **({"level": level} if level else {}))
    try:
        fits = fit_by_epoch(model, journeys, freq, n_boot=n_boot, alpha=alpha,
                            random_state=random_state)
    except AttributionError as exc:
        return dict(note=f"no epoch refits: {exc}", chart=None, changes=[], notes=[])
    changes = fits.detect_changes(alpha=alpha) if n_boot else None
    rows = [] if changes is None else [
        dict(boundary=str(r.boundary), entity=str(r.entity), before=f"{100 * r.before:.1f}%",
             after=f"{100 * r.after:.1f}%", z=f"{r.z:.1f}",
             beyond="outside" if r.beyond_interval else "inside")
        for r in changes.itertuples()]
    notes = list(fits.notes)
    partial = fits.partial()
    if partial:
        notes.append(f"epoch(s) {', '.join(map(str, partial))} hold under half the median "
                     "epoch's journeys (a ragged end of the log): left out of the change test")
    if not n_boot:
        notes.append("no bootstrap (n_boot 0): no intervals, no change test")
    return dict(note="", chart=_charts.epochs_chart(fits), changes=rows, notes=notes,
                tested=changes is not None, epochs=len(fits.epochs),
                threshold=(f"{changes['threshold'].iloc[0]:.2f}"
                           if changes is not None and len(changes) else ""))
