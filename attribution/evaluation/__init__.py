"""Tier 5, evaluation: the simulator with causal ground truth
(:mod:`~attribution.evaluation.simulate`), the concentration harness
(:mod:`~attribution.evaluation.harness`) and side-by-side comparison
(:mod:`~attribution.evaluation.compare`).
"""
