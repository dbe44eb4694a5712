"""Tier 5, evaluation: the simulator with causal ground truth
(:mod:`~attribution.evaluation.simulate`, its world in :mod:`~attribution.evaluation.world`
and truth in :mod:`~attribution.evaluation.truth`), the concentration harness
(:mod:`~attribution.evaluation.harness`) and side-by-side comparison
(:mod:`~attribution.evaluation.compare`).
"""
