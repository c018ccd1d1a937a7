"""Risk parity: equal (or budgeted) risk contributions.

The risk contribution of asset i is ``RC_i = w_i (Sigma w)_i / sqrt(w' Sigma w)``. Equal risk
contribution (ERC) weights solve ``w_i (Sigma w)_i = b_i w' Sigma w`` with budgets ``b``
(``1/n`` for ERC). Following Spinu (2013) we minimise the strictly convex

    f(y) = 1/2 y' Sigma y - sum_i b_i log y_i     (y > 0)

whose stationarity condition ``y_i (Sigma y)_i = b_i`` is the ERC condition up to scale; then
``w = y / sum(y)``. Damped Newton converges quadratically, to machine precision.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.exceptions import ModelError

FloatArray = NDArray[np.float64]


def risk_contributions(weights: FloatArray, cov: FloatArray) -> FloatArray:
    """Each asset's share of portfolio variance: ``w_i (Sigma w)_i / w' Sigma w`` (sums to 1)."""
    w = np.asarray(weights, dtype=np.float64)
    marginal = np.asarray(cov, dtype=np.float64) @ w
    return np.asarray(w * marginal / (w @ marginal), dtype=np.float64)


def risk_parity_weights(
    cov: FloatArray, budgets: FloatArray | None = None, tol: float = 1e-14, max_iter: int = 100
) -> FloatArray:
    cov = np.asarray(cov, dtype=np.float64)
    n = cov.shape[0]
    b = np.full(n, 1.0 / n) if budgets is None else np.asarray(budgets, dtype=np.float64)
    if np.any(b <= 0) or abs(b.sum() - 1.0) > 1e-9:
        raise ModelError("risk-parity", "risk budgets must be positive and sum to 1")
    if np.linalg.eigvalsh(cov).min() <= 0:
        raise ModelError("risk-parity", "covariance is not positive definite")
    y = b / np.sqrt(np.diag(cov))  # exact for a diagonal covariance, a good start otherwise
    y = y / np.sqrt(y @ cov @ y)
    for _ in range(max_iter):
        grad = cov @ y - b / y
        hess = cov + np.diag(b / y**2)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while np.any(y - t * step <= 0):  # stay in the domain y > 0
            t *= 0.5
        y = y - t * step
        if float(np.max(np.abs(grad * y))) < tol:
            break
    else:
        raise ModelError("risk-parity", f"Newton did not converge in {max_iter} steps")
    return np.asarray(y / y.sum(), dtype=np.float64)
