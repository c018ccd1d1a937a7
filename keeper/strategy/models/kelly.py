"""Fractional Kelly sizing on a (shrunk) covariance matrix.

Unconstrained, the growth-optimal weights are ``f* = Sigma^-1 (mu - r_f)``; fractional Kelly
scales them by the risk tolerance ``lam`` (0 < lam <= 1). Under constraints we solve the
problem whose unconstrained optimum is exactly ``lam f*``:

    maximise  w'(mu - r_f) - 1/(2 lam) w' Sigma w
    s.t.      0 <= w <= cap,  sum(w) <= 1  (what is left is held in the cash asset)
              or sum(w) == 1 when the strategy has no cash asset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.exceptions import ModelError
from keeper.strategy.models.qp import Problem, solve

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class KellyResult:
    weights: FloatArray  # risky weights after constraints
    cash: float  # 1 - sum(weights)
    unconstrained: FloatArray  # lam * Sigma^-1 (mu - r_f)


def kelly_weights(
    mu: FloatArray,
    cov: FloatArray,
    risk_tolerance: float,
    risk_free: float = 0.0,
    caps: FloatArray | float = 1.0,
    with_cash: bool = True,
    groups: FloatArray | None = None,
    group_caps: FloatArray | None = None,
) -> KellyResult:
    mu = np.asarray(mu, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    n = mu.shape[0]
    if cov.shape != (n, n):
        raise ModelError("kelly", f"covariance is {cov.shape}, expected ({n}, {n})")
    if not 0 < risk_tolerance <= 1:
        raise ModelError("kelly", f"risk tolerance {risk_tolerance} is outside (0, 1]")
    if np.linalg.eigvalsh(cov).min() <= 0:
        raise ModelError("kelly", "covariance is not positive definite (shrink it first)")
    excess = mu - risk_free
    unconstrained = risk_tolerance * np.linalg.solve(cov, excess)
    problem = Problem(
        q=cov / risk_tolerance,
        c=excess,
        lo=np.zeros(n),
        hi=np.broadcast_to(np.asarray(caps, dtype=np.float64), (n,)).copy(),
        budget_equal=not with_cash,
        groups=groups,
        group_caps=group_caps,
    )
    w = solve(problem, "kelly")
    return KellyResult(weights=w, cash=float(1.0 - w.sum()), unconstrained=unconstrained)
