"""Benchmark harness: does each model recover the true concentration of credit?

A scenario simulates journeys with known causal credit
(:mod:`attribution.evaluation.simulate`), fits every
registered model on them and compares each model's credit with the truth (Shapley over types):
accuracy (:func:`attribution.metrics.accuracy`) and concentration (estimated vs true top-20%
share, and whether "20% of touchpoints drive 80% of impact" holds in truth and per model).

Models with a baseline (Logistic, Shapley over a value model) give incremental credit by
default and are scored as such against the truth, which is incremental (Shapley over causal
lifts); models without one (heuristics, Markov) are scored on their credit as it is. Each row
records ``credit_mode``. Every scenario also has three reference rows
(:mod:`attribution.evaluation.reference`): the true outcome model through the same Shapley
credit, incremental and total (``truth_model_incremental``, ``truth_model_total``: the floor
of the credit computation, no estimation error), and the true outcome form fitted to the n
journeys (``truth_form_fitted``: the sampling floor at that n).

The confounded tier emits each journey's latent intent (the confounder). Every model is fitted
on the journeys without it: the hidden-intent variant (what ``observe_intent=False`` gives),
where no observational model can remove the confounding. One more row,
``logistic+intent`` (:data:`ADJUSTED`), fits the default Logistic on the journeys read with
``covariates=["intent"]`` (binned into quantiles, regression adjustment: v(S) averages
p-hat(x_S, z) over the observed intent bins). :func:`confounded_note` says in plain words
whether every observational model fails there, and what adjusting for intent recovers.
"""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
import pandas as pd

from attribution import metrics
from attribution.evaluation.reference import FITTED_FORM, reference_models
from attribution.evaluation.scenario import (  # noqa: F401 (scenario_catalogue: public here too)
    scenario_catalogue,
    scenario_journeys,
    simulate_scenario,
)
from attribution.evaluation.simulate import TIERS, simulate_journeys
from attribution.journeys import Journeys
from attribution.journeys.validation import AttributionWarning, ParameterError
from attribution.models import available_models, get_model

# "20% of touchpoints drive 80% of impact" is called when the top-20% share is at least
# 0.8 - PARETO_TOL, for the truth and the estimates alike: the simulator meets its target
# share within 0.02, so a truth built for 80/20 may land at 0.799.
PARETO_TOL = 0.02
# second recovery rule: the estimated top-20% share within this of the true one
TOP20_TOL = 0.05
SKIPPED = "(skipped)"  # model of the row that reports a scenario that could not be simulated
#: confounded tier: the model fitted with the intent column as a covariate (its base model)
ADJUSTED = ("logistic+intent", "logistic")
#: confounded tier: a mean TV distance above this fails (the issue's target for adjustment)
CONFOUNDED_TV = 0.06
#: quantile bins of the intent covariate
INTENT_BINS = 10
QUICK_GRID = dict(tier=TIERS, target_top20=("flat", 0.8), mean_length=(4,),
                  frequency_effect_corr=(0.0,), seed=(0,), n_journeys=(5000,))
FULL_GRID = dict(tier=TIERS, target_top20=("flat", 0.5, 0.8, 0.9), mean_length=(2, 4, 8),
                 frequency_effect_corr=(-0.5, 0.0, 0.5), seed=(0, 1, 2), n_journeys=(20_000,))


def run_scenario(tier="additive", target_top20=0.8, mean_length=4, frequency_effect_corr=0.0,
                 seed=0, n_journeys=5000, models=None, reference=True) -> list[dict]:
    """Simulate one scenario and score every model against its truth; one row per model,
    then (``reference``) the two rows of the true outcome model.

    BLAS runs single-threaded inside, so a scenario computes the same bits in the main
    process and in a joblib worker (whose BLAS thread count differs).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run_scenario(tier, target_top20, mean_length, frequency_effect_corr, seed,
                             n_journeys, models, reference)


def _run_scenario(tier, target_top20, mean_length, frequency_effect_corr, seed, n_journeys,
                  models, reference):
    scenario = dict(tier=tier, target_top20=target_top20, mean_length=mean_length,
                    frequency_effect_corr=frequency_effect_corr, seed=seed,
                    n_journeys=n_journeys)
    try:
        events, truth = simulate_scenario(tier, target_top20, mean_length,
                                          frequency_effect_corr, seed, n_journeys)
    except ParameterError as exc:  # e.g. a target below what exposure alone concentrates
        return [dict(**scenario, model=SKIPPED, skipped=str(exc))]
    journeys = scenario_journeys(events)
    true_credit = truth.shapley[truth.shapley.index.isin(journeys.names)]
    named = {name: get_model(name) for name in models or available_models()}
    if reference:
        named.update(reference_models(journeys, truth.world))
    for model in named.values():  # every model seeded, the reference rows too
        if "random_state" in model.get_params():
            model.set_params(random_state=seed)
    rows = [dict(**scenario, **score(name, model, journeys, truth, true_credit))
            for name, model in named.items()]
    if "intent" in events and ADJUSTED[1] in named:  # the confounded tier, intent observed
        rows.append(dict(**scenario, **score(ADJUSTED[0], named[ADJUSTED[1]], scenario_journeys(
            events, covariates=["intent"], covariate_bins=INTENT_BINS), truth, true_credit)))
    return rows


def score(name, model, journeys, truth, true_credit) -> dict:
    """Fit ``model`` on ``journeys`` and score its credit against ``true_credit``: accuracy,
    top-20% shares, both recovery rules' inputs, credit mode and shares of conversions to
    entities and to ``(baseline)``.
    """
    true_top = metrics.top_share(true_credit.to_numpy(), 0.2)
    true_base = truth.baseline / truth.conversions if truth.conversions > 0 else 0.0
    placebo = [t for t in true_credit.index if t.startswith("placebo")]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AttributionWarning)
        model.fit(journeys)
    seconds = time.perf_counter() - start
    result = model.result_
    credit = pd.Series(result.conversions, index=result.names.astype(str))
    exposed = credit[result.exposure > 0]
    total = max(result.total_conversions, 1e-300)
    est_base = result.extra.get("(baseline)", (0.0, 0.0))[0] / total
    acc = metrics.accuracy(exposed, true_credit, placebo=placebo, baseline=est_base,
                           true_baseline=true_base)
    est_top = metrics.top_share(exposed.to_numpy(), 0.2)
    return dict(model=name, credit_mode=getattr(model, "credit_mode_", "total"),
                true_top20=true_top, est_top20=est_top,
                true_pareto=true_top >= 0.8 - PARETO_TOL, est_pareto=est_top >= 0.8 - PARETO_TOL,
                top20_close=abs(est_top - true_top) <= TOP20_TOL + 1e-12,
                entity_share=float(credit.sum()) / total, baseline_share=est_base, **acc,
                seconds=seconds)


def grid(spec: dict) -> list[dict]:
    """All combinations of a grid specification (dict of parameter -> values)."""
    keys = list(spec)
    return [dict(zip(keys, values, strict=True))
            for values in itertools.product(*(spec[k] for k in keys))]


def run_grid(spec=None, models=None, n_jobs=None, progress=True,
             tier_journeys=None) -> pd.DataFrame:
    """Run every scenario of ``spec`` (default :data:`QUICK_GRID`); a tidy frame.
    ``tier_journeys`` ({tier: n}) sets the journeys of a tier's scenarios (the logit tier
    needs more data: its floor at 200k is the other tiers' at 20k).

    Each scenario carries its own seed, so the numbers do not depend on ``n_jobs``.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    scenarios = grid(spec or QUICK_GRID)
    for s in scenarios:
        s["n_journeys"] = (tier_journeys or {}).get(s["tier"], s["n_journeys"])
    jobs = (delayed(run_scenario)(**s, models=models) for s in scenarios)
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    rows = []
    for out in tqdm(runner(jobs), total=len(scenarios), disable=not progress,
                    desc="scenarios"):
        rows.extend(out)
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per model: credit mode, mean TV distance and Spearman, mean estimated vs true top-20%
    share, how often it recovers 80/20 where true (``recovers_80_20``: estimated share >= 0.78
    where the truth's is; ``recovers_within_05``: |S_hat_20 - S_20| <= 0.05 there), how
    often it says flat in the scenarios simulated flat (``target_top20="flat"``), placebo
    share and time.
    """
    results = results[results["model"] != SKIPPED]
    true, est = results["true_top20"].astype(float), results["est_top20"].astype(float)
    pareto, says = true >= 0.8 - PARETO_TOL, est >= 0.8 - PARETO_TOL
    flat = results["target_top20"].astype(str) == "flat"
    r = results.assign(
        recovers=np.where(pareto, says, np.nan),
        close=np.where(pareto, (est - true).abs() <= TOP20_TOL + 1e-12, np.nan),
        says_flat=np.where(flat, ~says, np.nan))
    out = r.groupby("model").agg(
        credit_mode=("credit_mode", "first"),
        tv_distance=("tv_distance", "mean"), spearman=("spearman", "mean"),
        true_top20=("true_top20", "mean"), est_top20=("est_top20", "mean"),
        recovers_80_20=("recovers", "mean"), recovers_within_05=("close", "mean"),
        says_flat_when_flat=("says_flat", "mean"),
        placebo_share=("placebo_share", "mean"), seconds=("seconds", "mean"))
    return out.sort_values("tv_distance")


def summarise_by_tier(results: pd.DataFrame, models=("logistic", ADJUSTED[0], FITTED_FORM,
                                                     "truth_model_incremental")) -> pd.DataFrame:
    """The issue's targets per tier for ``models``: journeys per scenario, mean TV distance,
    80/20 recovered by both rules where it holds in truth, flat scenarios called flat, and
    the largest placebo share in absolute value.
    """
    r = results[results["model"].isin(models)]
    flat = r["target_top20"].astype(str) == "flat"
    real = ~flat & r["true_pareto"].astype(bool)
    says = r["est_pareto"].astype(bool)
    r = r.assign(both=np.where(real, says & r["top20_close"].astype(bool), np.nan),
                 recovers=np.where(real, says, np.nan), says_flat=np.where(flat, ~says, np.nan),
                 placebo=r["placebo_share"].abs())
    out = r.groupby(["tier", "model"]).agg(
        scenarios=("tv_distance", "size"), n_journeys=("n_journeys", "max"),
        tv_distance=("tv_distance", "mean"), tv_max=("tv_distance", "max"),
        concentrated=("recovers", "count"), recovers_80_20=("recovers", "mean"),
        recovers_both_rules=("both", "mean"), flat=("says_flat", "count"),
        says_flat_when_flat=("says_flat", "mean"), placebo_max=("placebo", "max"))
    return out.reset_index()


def report(results: pd.DataFrame, out_dir, title="Concentration benchmark") -> dict:
    """Write the tidy CSV, a markdown report and PNG plots of a grid run into ``out_dir``.

    Returns the paths written. The markdown states, per scenario, whether "20% of
    touchpoints drive 80% of impact" holds in truth and for each model.
    """
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "concentration.csv", "md": out / "concentration.md"}
    results.to_csv(paths["csv"], index=False)
    skipped = results[results["model"] == SKIPPED]
    results = results[results["model"] != SKIPPED]
    summary = summarise(results)
    keys = ["tier", "target_top20", "mean_length", "frequency_effect_corr", "seed"]
    lines = [f"# {title}", "",
             f"{results[keys].drop_duplicates().shape[0]} scenarios x "
             f"{results['model'].nunique()} models; journeys per scenario: "
             f"{', '.join(map(str, sorted(results['n_journeys'].unique())))}. The rule is called "
             f"when the top-20% share is at least {0.8 - PARETO_TOL:.2f} (truth and models); "
             f"recovers_within_05 counts |est - true top-20% share| <= {TOP20_TOL} where it "
             "holds in truth. Rows truth_model_*: the true outcome model through the same "
             "Shapley credit (no estimation error); truth_form_fitted: the true form fitted "
             "to the journeys (the sampling floor at that n).",
             "", "## Per model (means over scenarios)", "", markdown_table(summary.round(3), True),
             "", "## Per tier: default Logistic and the floors", "",
             markdown_table(summarise_by_tier(results).round(3)),
             *(["", "## Confounded tier", "", note] if (note := confounded_note(results))
               else []),
             "", "## Per scenario: does 20% of touchpoints drive 80% of impact?", ""]
    for key, grp in results.groupby(keys, sort=False):
        truth = grp["true_pareto"].iloc[0]
        yes = sorted(grp.loc[grp["est_pareto"], "model"])
        scen = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True))
        lines.append(f"- {scen}: in truth it {'holds' if truth else 'does not hold'} (top 20% "
                     f"hold {grp['true_top20'].iloc[0]:.2f}); models that say it holds: "
                     f"{', '.join(yes) if yes else 'none'}.")
    if len(skipped):
        lines += ["", f"## Scenarios not run ({len(skipped)})", ""]
        lines += [f"- {', '.join(f'{k}={row[k]}' for k in keys)}: {row['skipped']}"
                  for _, row in skipped.iterrows()]
    paths["md"].write_text("\n".join(lines) + "\n")
    try:
        paths.update(_plots(results, out))
    except ImportError:  # pragma: no cover - matplotlib is an optional extra
        pass
    return paths


def confounded_note(results: pd.DataFrame) -> str | None:
    """A plain sentence on the confounded tier (None without it): whether every
    observational model fitted without the intent column fails (mean TV distance above
    :data:`CONFOUNDED_TV`), and what the intent-adjusted Logistic reaches.
    """
    conf = results[(results["tier"] == "confounded") & (results["model"] != SKIPPED)]
    tv = conf.groupby("model")["tv_distance"].mean()
    learned = tv[~tv.index.str.startswith("truth_model") & (tv.index != ADJUSTED[0])]
    if learned.empty:
        return None
    best = learned.idxmin()
    verdict = (f"with intent hidden, every observational model fails (mean TV distance above "
               f"{CONFOUNDED_TV}; the best, {best}, has {learned[best]:.3f}): the confounder "
               f"cannot be adjusted for when it is not observed" if learned.min() > CONFOUNDED_TV
               else f"with intent hidden, {best} still reaches a mean TV distance of "
                    f"{learned[best]:.3f} (at most {CONFOUNDED_TV})")
    if ADJUSTED[0] in tv:
        adj = tv[ADJUSTED[0]]
        verdict += (f". Adjusted for the observed intent ({ADJUSTED[0]}, {INTENT_BINS} "
                    f"quantile bins), the mean TV distance is {adj:.3f}: "
                    + ("within" if adj <= CONFOUNDED_TV else "still above") + " the target")
    return "Confounded tier: " + verdict + "."


def markdown_table(frame: pd.DataFrame, index=False) -> str:
    """A GitHub markdown table of ``frame`` (no optional tabulate dependency)."""
    f = frame.reset_index() if index else frame
    head = "| " + " | ".join(map(str, f.columns)) + " |"
    rule = "|" + "|".join(" --- " for _ in f.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in f.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _plots(results: pd.DataFrame, out) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = {}
    fig, ax = plt.subplots(figsize=(8, 4))
    err = results.pivot_table(index="tier", columns="model", values="tv_distance",
                              aggfunc="mean")
    err.plot.bar(ax=ax, width=0.85)
    ax.set_ylabel("mean TV distance to truth")
    ax.set_title("Error by tier")
    ax.legend(fontsize="small", ncol=3)
    fig.tight_layout()
    paths["error_png"] = out / "error_by_tier.png"
    fig.savefig(paths["error_png"], dpi=110)
    plt.close(fig)
    paths["concentration_png"] = out / "concentration.png"
    _concentration_figure(results, paths["concentration_png"], plt)
    paths["lorenz_png"] = out / "lorenz.png"
    lorenz_figure(paths["lorenz_png"])
    return paths


def _concentration_figure(results, path, plt) -> None:
    """Estimated vs true top-20% share, one panel per model, a point per (tier, target)
    (mean over the other grid axes), coloured by tier; the diagonal and the 80/20 lines.
    """
    pts = results.groupby(["model", "tier", "target_top20"])[["true_top20", "est_top20"]].mean()
    models = list(pts.index.unique("model"))
    cols = min(4, len(models))
    rows = -(-len(models) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), sharex=True,
                             sharey=True, squeeze=False)
    tiers = sorted(results["tier"].unique())
    for ax, model in zip(axes.flat, models, strict=False):
        for i, tier in enumerate(tiers):
            if (model, tier) in pts.droplevel("target_top20").index:
                sub = pts.loc[(model, tier)]
                ax.scatter(sub["true_top20"], sub["est_top20"], s=16, color=f"C{i}", label=tier)
        ax.plot([0, 1], [0, 1], color="black", linewidth=0.8)
        ax.axhline(0.8 - PARETO_TOL, color="grey", linestyle=":")
        ax.axvline(0.8 - PARETO_TOL, color="grey", linestyle=":")
        ax.set_title(model, fontsize="small")
    for ax in axes.flat[len(models):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("true top-20% share")
    for ax in axes[:, 0]:
        ax.set_ylabel("estimated")
    axes.flat[0].legend(fontsize="x-small")
    fig.suptitle("Recovered concentration per model (a point per tier and target)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def lorenz_figure(path, n_journeys=20_000, models=None):
    """Lorenz curves of every model against the truth in two scenarios (a true 80/20 and a
    flat truth; noisy-OR tier, mean length 4), saved to ``path``.
    """
    import matplotlib.pyplot as plt

    from attribution.plotting import plot_lorenz

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, target in zip(axes, (0.8, "flat"), strict=True):
        events, truth = simulate_journeys(
            n_journeys, catalogue=scenario_catalogue(target), tier="noisy_or",
            target_top20=None if target == "flat" else target, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            j = Journeys.from_events(events, journey="user_id", time="timestamp",
                                     touchpoint="touchpoint", conversion="converted")
            fitted = {}
            for name in models or available_models():
                m = get_model(name)
                if "random_state" in m.get_params():
                    m.set_params(random_state=0)
                fitted[name] = m.fit(j)
        true = truth.shapley[truth.shapley.index.isin(j.names)]
        plot_lorenz(fitted, truth=true, ax=ax)
        ax.set_title(f"truth: {'80/20' if target == 0.8 else 'flat'} (noisy-OR)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
