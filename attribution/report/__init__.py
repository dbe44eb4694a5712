"""One self-contained HTML report page: the data, the models compared, money, concentration.

>>> from attribution.datasets import load_sample
>>> from attribution.report import write_report
>>> j, truth = load_sample(as_journeys=True)                          # doctest: +SKIP
>>> write_report("report.html", j, truth=truth)                       # doctest: +SKIP

The page needs no network: charts are the package's own matplotlib plots embedded as SVG
``data:`` URIs, the style is inline, and nothing refers to another file or address. It is
rendered from the jinja2 template ``templates/report.html.j2`` shipped with the package
(needs matplotlib: the ``plot`` extra).
"""

from __future__ import annotations

from pathlib import Path

from attribution.report._fit import DEFAULT_MODELS

__all__ = ["DEFAULT_MODELS", "build_report", "cli_report", "write_report"]

TEMPLATE = "report.html.j2"


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("attribution.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def build_report(journeys, models=None, spend=None, truth=None, title: str = "Attribution report",
                 level: str | None = None, n_boot: int = 100, alpha: float = 0.05,
                 random_state=0, progress: bool = False, epochs=None) -> str:
    """The report page of ``journeys`` as one HTML string.

    Parameters
    ----------
    journeys : Journeys
    models : list of (str or estimator), or dict label -> (str or estimator), optional
        The models compared (cloned, not modified). Default :data:`DEFAULT_MODELS`: the four
        heuristics, Markov, Shapley and Logistic. A model that refuses the journeys is left
        out and named in the page's notes.
    spend : DataFrame or path of a CSV / Parquet file, optional
        Columns ``channel`` (or ``touchpoint``) and ``cost`` (an optional ``period`` is summed
        over): adds cost per attributed conversion and ROAS.
    truth : Truth or pandas.Series, optional
        Known true credit per entity (the simulator's, as in ``load_sample()``): shown beside
        the models and as the dashed Lorenz curve.
    title : str
    level : {None, "touchpoint", "channel"}
        Credit per touchpoint or channel (default: the journeys' level).
    n_boot : int
        Bootstrap replicates per model for the intervals (0: none; faster).
    alpha : float
        Intervals at level ``1 - alpha``.
    random_state : int
        Seed of the bootstrap.
    progress : bool
        A progress bar per bootstrapped model (on stderr).
    epochs : str, optional
        A period ("month", "quarter", "M"...): adds "Over time", the default model refitted
        on each period's journeys with ``n_boot`` replicates, and the changes between them.

    Returns
    -------
    str
    """
    from attribution.report._build import context

    ctx = context(journeys, models=models, spend=spend, truth=truth, title=title, level=level,
                  n_boot=n_boot, alpha=alpha, random_state=random_state, progress=progress,
                  epochs=epochs)
    return _environment().get_template(TEMPLATE).render(**ctx)


def write_report(path, journeys, **kwargs) -> Path:
    """Write :func:`build_report` (same keyword arguments) to ``path``; returns the path."""
    path = Path(path)
    html = build_report(journeys, **kwargs)
    path.write_text(html, encoding="utf-8")
    return path


def cli_report(journeys, models, spend, out, level=None, n_boot: int = 100,
               alpha: float = 0.05, random_state=0, title: str | None = None, truth=None,
               progress: bool = False, epochs=None) -> Path:
    """What ``attribution report INPUT -o OUT`` runs: the page written to ``out`` through a
    temporary file renamed at the end (no partial file is left on error).

    ``models`` is a list of names or a dict label -> estimator (None or empty:
    :data:`DEFAULT_MODELS`); ``spend`` a file name or None; ``truth`` a Truth or None.
    """
    from attribution.scale import io

    with io.atomic_path(str(out)) as tmp:  # an unwritable folder fails before any work
        html = build_report(journeys, models=models or None, spend=spend,
                            title=title or "Attribution report", level=level, n_boot=n_boot,
                            alpha=alpha, random_state=random_state, truth=truth,
                            progress=progress, epochs=epochs)
        Path(tmp).write_text(html, encoding="utf-8")
    return Path(out)
