"""Momentum tilt: lean targets toward (or against) recent winners.

With trailing returns ``r``, cross-sectional scores ``z = clip((r - mean r) / sd r, -1, 1)``,
momentum factor ``m`` in [-1, 1] and largest tilt ``a``: ``t'_i ∝ t_i (1 + m a z_i)``,
renormalised to sum to one. ``m = 1`` follows trends, ``m = -1`` leans contrarian.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def momentum_tilt(
    targets: FloatArray, trailing_returns: FloatArray, factor: float, max_tilt: float
) -> FloatArray:
    t = np.asarray(targets, dtype=np.float64)
    r = np.asarray(trailing_returns, dtype=np.float64)
    sd = r.std()
    if factor == 0 or sd == 0 or t.size < 2:
        return t.copy()
    z = np.clip((r - r.mean()) / sd, -1.0, 1.0)
    tilted = t * (1.0 + factor * max_tilt * z)
    return np.asarray(tilted / tilted.sum(), dtype=np.float64)
