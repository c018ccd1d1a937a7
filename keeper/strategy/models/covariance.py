"""Return statistics: log returns, sample covariance and Ledoit-Wolf shrinkage.

Inputs are ``(T, n)`` arrays (T observations of n assets), all vectorised.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.exceptions import ModelError

FloatArray = NDArray[np.float64]


def log_returns(prices: FloatArray) -> FloatArray:
    """Per-period log returns of a ``(T+1, n)`` (or ``(T+1,)``) price array."""
    prices = np.asarray(prices, dtype=np.float64)
    if prices.shape[0] < 2 or np.any(prices <= 0):
        raise ModelError("returns", "need at least two strictly positive prices")
    return np.diff(np.log(prices), axis=0)


def sample_covariance(returns: FloatArray) -> FloatArray:
    """Maximum-likelihood (divide by T) covariance of de-meaned returns."""
    x = np.asarray(returns, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ModelError("covariance", "need a (T, n) array with T >= 2")
    x = x - x.mean(axis=0)
    return (x.T @ x) / x.shape[0]


def ledoit_wolf(returns: FloatArray) -> tuple[FloatArray, float]:
    """Ledoit-Wolf (2004) shrinkage of the sample covariance toward ``mu * I``.

    With S the sample covariance, mu = tr(S)/n, d2 = ||S - mu I||^2 / n and
    b2 = min(d2, sum_t ||x_t x_t' - S||^2 / (n T^2)) (||.|| Frobenius), the estimate is
    ``(b2/d2) mu I + (1 - b2/d2) S``. Returns the estimate and the shrinkage intensity.
    """
    x = np.asarray(returns, dtype=np.float64)
    t, n = x.shape
    x = x - x.mean(axis=0)
    s = (x.T @ x) / t
    mu = np.trace(s) / n
    target = mu * np.eye(n)
    d2 = float(np.sum((s - target) ** 2)) / n
    if d2 == 0.0:
        return s, 0.0
    # sum_t ||x_t x_t' - S||^2 = sum_t ||x_t||^4 - T ||S||^2 (expanding the square)
    row_sq = np.sum(x**2, axis=1)
    b2_bar = (float(np.sum(row_sq**2)) - t * float(np.sum(s**2))) / (n * t**2)
    b2 = min(d2, max(b2_bar, 0.0))
    shrink = b2 / d2
    return shrink * target + (1.0 - shrink) * s, shrink


def annualised(cov: FloatArray, periods_per_year: float) -> FloatArray:
    return np.asarray(cov, dtype=np.float64) * periods_per_year


def correlation(cov: FloatArray) -> FloatArray:
    sd = np.sqrt(np.diag(cov))
    if np.any(sd == 0):
        raise ModelError("correlation", "an asset has zero variance")
    return np.asarray(cov / np.outer(sd, sd), dtype=np.float64)
