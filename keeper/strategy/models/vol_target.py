"""Volatility targeting: scale risky weights so the portfolio runs at a target volatility.

``k = min(max_scale, sigma_target / sqrt(w' Sigma w))``; risky weights become ``k w`` and the
rest ``1 - k sum(w)`` goes to the cash asset. With ``max_scale = 1`` it never levers up.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.exceptions import ModelError

FloatArray = NDArray[np.float64]


def portfolio_volatility(weights: FloatArray, cov: FloatArray) -> float:
    w = np.asarray(weights, dtype=np.float64)
    return float(np.sqrt(w @ np.asarray(cov, dtype=np.float64) @ w))


def vol_target_weights(
    weights: FloatArray, cov: FloatArray, target_volatility: float, max_scale: float = 1.0
) -> tuple[FloatArray, float]:
    """Return ``(scaled risky weights, cash weight)``."""
    w = np.asarray(weights, dtype=np.float64)
    if target_volatility <= 0:
        raise ModelError("vol-target", "target volatility must be positive")
    sigma = portfolio_volatility(w, cov)
    scale = max_scale if sigma == 0 else min(max_scale, target_volatility / sigma)
    scaled = scale * w
    return scaled, float(1.0 - scaled.sum())
