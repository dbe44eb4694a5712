"""Tolerances of the tests, per model: how exactly each model's credit is invariant to row
order, relabelling and aggregation. They are expectations of the tests, not model settings.
"""

# Logistic's credit is as exact as its solver (Newton-Cholesky, tol 1e-8).
RTOL = {"logistic": 1e-6}


def rtol(model) -> float:
    """Relative tolerance of ``model``'s invariances."""
    return RTOL.get(getattr(model, "name", ""), 1e-9)
