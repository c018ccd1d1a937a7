"""Long-only mean-variance weights.

    maximise  w'mu - gamma/2 w' Sigma w   s.t.  sum(w) == 1,  0 <= w <= cap,  G w <= g

Without binding bounds the solution is ``w = Sigma^-1 (mu - nu 1) / gamma`` with the scalar
``nu`` chosen so that the weights sum to one.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.exceptions import ModelError
from keeper.strategy.models.qp import Problem, solve

FloatArray = NDArray[np.float64]


def mean_variance_weights(
    mu: FloatArray,
    cov: FloatArray,
    risk_aversion: float,
    caps: FloatArray | float = 1.0,
    groups: FloatArray | None = None,
    group_caps: FloatArray | None = None,
) -> FloatArray:
    mu = np.asarray(mu, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    n = mu.shape[0]
    if cov.shape != (n, n):
        raise ModelError("mean-variance", f"covariance is {cov.shape}, expected ({n}, {n})")
    if risk_aversion <= 0:
        raise ModelError("mean-variance", "risk aversion must be positive")
    problem = Problem(
        q=risk_aversion * cov,
        c=mu,
        lo=np.zeros(n),
        hi=np.broadcast_to(np.asarray(caps, dtype=np.float64), (n,)).copy(),
        budget_equal=True,
        groups=groups,
        group_caps=group_caps,
    )
    return solve(problem, "mean-variance")
