"""``AttributionResult``: the credit a fitted model gives each touchpoint or channel."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from attribution import metrics
from attribution.journeys.validation import AttributionError, ParameterError


@dataclass
class AttributionResult:
    """Credit per entity (touchpoint or channel) from one fitted model.

    Attributes
    ----------
    model : str
        The model's name and parameters.
    level : {"touchpoint", "channel"}
    names : array of str
        Entity names.
    conversions, value : arrays of float
        Conversion and value credit per entity.
    exposure : array of float
        Weighted touches of each entity (see :meth:`Journeys.exposure`).
    channel_of, channel_names : arrays
        The touchpoint -> channel map (identity at channel level).
    extra : dict
        Rows outside the entities, e.g. ``"(baseline)"`` or ``"(unattributed)"`` ->
        (conversions, value). They are part of the totals.
    total_conversions, total_value : float
        Conversions and value of the journeys the model was fitted on.
    diagnostics : dict
        Model-specific figures (removal effects' sum, iterations, ...).
    """

    model: str
    level: str
    names: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    exposure: np.ndarray
    channel_of: np.ndarray
    channel_names: np.ndarray
    total_conversions: float
    total_value: float
    extra: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)
    #: replicates of :func:`attribution.bootstrap` (None until it has run)
    bootstrap_: object = field(default=None, repr=False, compare=False)

    def to_frame(self, extra: bool = True) -> pd.DataFrame:
        """Tidy frame: ``entity``, (``channel``), ``conversions``, ``value``, ``share``,
        ``value_share``; one row per entity, then the extra rows such as ``(baseline)``.
        """
        df = pd.DataFrame({"entity": self.names.astype(str)})
        if self.level == "touchpoint":
            df["channel"] = self.channel_names[self.channel_of].astype(str)
        df["conversions"] = self.conversions
        df["value"] = self.value
        if extra and self.extra:
            rows = pd.DataFrame({"entity": list(self.extra),
                                 "conversions": [v[0] for v in self.extra.values()],
                                 "value": [v[1] for v in self.extra.values()]})
            if self.level == "touchpoint":
                rows["channel"] = rows["entity"]
            df = pd.concat([df, rows[df.columns]], ignore_index=True)
        tc, tv = df["conversions"].sum(), df["value"].sum()
        df["share"] = df["conversions"] / tc if tc else 0.0
        df["value_share"] = df["value"] / tv if tv else 0.0
        return df

    def at_level(self, level: str) -> AttributionResult:
        """Roll touchpoint credit up to channels (sums; extra rows carried over)."""
        if level == self.level:
            return self
        if level != "channel":
            raise ParameterError("a result can only be rolled up from touchpoint to channel")
        k = len(self.channel_names)
        reps = self.bootstrap_
        if reps is not None:  # replicates roll up like the point estimate
            reps = reps.rolled_up(self.names.astype(str), self.channel_of,
                                  self.channel_names.astype(str))
        return AttributionResult(
            model=self.model, level="channel", names=self.channel_names,
            conversions=np.bincount(self.channel_of, self.conversions, minlength=k),
            value=np.bincount(self.channel_of, self.value, minlength=k),
            exposure=np.bincount(self.channel_of, self.exposure, minlength=k),
            channel_of=np.arange(k), channel_names=self.channel_names,
            total_conversions=self.total_conversions, total_value=self.total_value,
            extra=dict(self.extra), diagnostics=dict(self.diagnostics), bootstrap_=reps)

    @classmethod
    def combine(cls, parts) -> AttributionResult:
        """Sum results fitted on disjoint sets of journeys, entity by entity (name), for
        models whose credit is a sum over journeys (heuristics).
        """
        from attribution.journeys.stats import union_labels

        parts = list(parts)
        names, maps = union_labels([p.names.astype(str) for p in parts])
        chans, ch_maps = union_labels([p.channel_names.astype(str) for p in parts])
        k = len(names)
        conv, val, expo = np.zeros(k), np.zeros(k), np.zeros(k)
        channel_of = np.zeros(k, dtype=np.int32)
        extra = {}
        for p, idx, ch in zip(parts, maps, ch_maps, strict=True):
            np.add.at(conv, idx, p.conversions)
            np.add.at(val, idx, p.value)
            np.add.at(expo, idx, p.exposure)
            channel_of[idx] = ch[p.channel_of]
            for key, (c, v) in p.extra.items():
                c0, v0 = extra.get(key, (0.0, 0.0))
                extra[key] = (c0 + c, v0 + v)
        first = parts[0]
        return cls(model=first.model, level=first.level, names=names,
                   conversions=conv, value=val, exposure=expo, channel_of=channel_of,
                   channel_names=chans,
                   total_conversions=sum(p.total_conversions for p in parts),
                   total_value=sum(p.total_value for p in parts), extra=extra)

    def conf_int(self, alpha: float = 0.05, method: str = "percentile") -> pd.DataFrame:
        """Bootstrap intervals next to the point estimate (:meth:`to_frame` plus ``*_lower``,
        ``*_upper`` and ``*_se`` for conversions, value and both shares); ``method`` is
        ``"percentile"`` or ``"bc"`` (bias-corrected, see
        :meth:`attribution.bootstrap.BootstrapReplicates.conf_int`).

        Needs replicates: run ``attribution.bootstrap(model, journeys)`` first.
        """
        if self.bootstrap_ is None:
            raise AttributionError(
                "this result has no bootstrap replicates; run attribution.bootstrap(model, "
                "journeys, n_boot=200) first, then result_.conf_int(alpha)")
        point = self.to_frame()
        ci = self.bootstrap_.conf_int(alpha, point=point, method=method)
        return point.merge(ci, on="entity", how="left", validate="one_to_one")

    def efficiency(self, spend, touches=None, *, cost: str = "cost", period: str = "period",
                   freq=None, alpha: float = 0.05):
        """Cost, credit, CPA (cost / conversions) and ROAS (value / cost) per entity, from a
        spend table (``channel`` or ``touchpoint``, ``cost``, optional ``period``); with a
        period column, pass ``touches=model.transform(journeys)``. Every entity and every
        spend row is listed with a ``status``; intervals when the result has bootstrap
        replicates. See :func:`attribution.efficiency.efficiency`.
        """
        from attribution.efficiency import efficiency

        return efficiency(self, spend, touches, cost=cost, period=period, freq=freq,
                          alpha=alpha)

    def by_period(self, freq, touches=None):
        """Credit per period of conversion (``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"``...) and
        entity of this result's level, from ``touches=model.transform(journeys)`` (the per-touch
        credit, which carries each conversion's time). The result itself keeps no per-journey
        data. See :func:`attribution.periods.by_period`.
        """
        from attribution.periods import by_period, check_touches

        if touches is None:
            raise ParameterError(
                "by_period needs the per-touch credit: result.by_period('W', "
                "touches=model.transform(journeys))")
        check_touches(self, touches)
        return by_period(touches, freq, level=self.level, entities=self.names)

    def rank_probabilities(self, p: float = 0.2, on: str = "conversions"):
        """Per entity, the bootstrap probability of being in the top ``p`` share of entities
        by credit (``p_top``); needs replicates (:func:`attribution.bootstrap`). See
        :mod:`attribution.inference.ranks`.
        """
        return self._replicates().rank_probabilities(self, p=p, on=on)

    def pairwise_order(self, entities=None, top: int | None = None, on: str = "conversions"):
        """Square frame of bootstrap probabilities ``P(a > b)`` (row a, column b) for
        ``entities`` or the ``top`` entities by credit; needs replicates. See
        :mod:`attribution.inference.ranks`.
        """
        return self._replicates().pairwise_order(self, entities=entities, top=top, on=on)

    def _replicates(self):
        if self.bootstrap_ is None:
            raise AttributionError(
                "this result has no bootstrap replicates; run attribution.bootstrap(model, "
                "journeys, n_boot=200) first")
        return self.bootstrap_

    def concentration(self, p: float = 0.2, q: float = 0.8, on: str = "conversions"):
        """Concentration of credit over entities with any exposure (see :mod:`metrics`)."""
        if on not in ("conversions", "value"):
            shown = repr(str(on)) if isinstance(on, str) else repr(on)  # not np.str_('...')
            raise ParameterError(f"on must be 'conversions' or 'value', got {shown}")
        credit = getattr(self, on)[self.exposure > 0]
        return metrics.concentration(credit, p=p, q=q)

    def summary(self) -> Summary:
        """A summary table (text and HTML) sorted by credit, with its concentration."""
        return Summary(self)

    def plot(self, ax=None, on: str = "share", top: int | None = None):
        """Horizontal bars of credit per entity; returns the matplotlib Axes."""
        from attribution.plotting import plot_credit

        return plot_credit(self, ax=ax, on=on, top=top)


class Summary:
    """Rendered summary of an :class:`AttributionResult` (``str()`` or HTML in notebooks)."""

    def __init__(self, result: AttributionResult):
        self.result = result
        self.table = result.to_frame().sort_values("conversions", ascending=False,
                                                   kind="stable").reset_index(drop=True)
        exposed = (result.exposure > 0).sum()
        self.concentration = result.concentration() if exposed else None

    def _header(self) -> list[str]:
        r = self.result
        lines = [f"Model: {r.model}", f"Level: {r.level}",
                 f"Conversions: {r.total_conversions:,.4g}   Value: {r.total_value:,.4g}"]
        lines += [f"{k}: {v}" for k, v in r.diagnostics.items() if np.isscalar(v)]
        if self.concentration is not None:
            lines.append(f"Concentration: {self.concentration}")
        return lines

    def __str__(self) -> str:
        fmt = self.table.copy()
        for col in ("share", "value_share"):
            fmt[col] = (100 * fmt[col]).map("{:.1f}%".format)
        return "\n".join(self._header() + ["", fmt.to_string(index=False,
                                                               float_format="{:,.3f}".format)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<div>{line}</div>" for line in self._header())
        return head + self.table.to_html(index=False, float_format="{:,.3f}".format)
