"""Tier 5, evaluation: the simulator with causal ground truth
(:mod:`~attribution.evaluation.simulate`; the world a seed fixes in
:mod:`~attribution.evaluation.world`, the journeys' exposures and outcomes in
:mod:`~attribution.evaluation.population` and the truth in
:mod:`~attribution.evaluation.truth`), the concentration harness
(:mod:`~attribution.evaluation.harness`) and side-by-side comparison
(:mod:`~attribution.evaluation.compare`).
"""
