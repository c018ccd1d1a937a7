"""Market-cap index weights, capped, and phased in over weeks.

Weights are ``cap_i / sum(cap)`` over eligible tokens (market cap >= the floor). A per-token
ceiling is applied by water-filling: capped tokens are pinned at the ceiling and the excess is
shared among the others in proportion to their market caps, repeatedly.

Changes to the target set (listings, delistings, re-weights) phase in linearly:
``t_k = t_old + min(1, k / phase_weeks) (t_new - t_old)`` after ``k`` whole weeks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.exceptions import ModelError

FloatArray = NDArray[np.float64]


def capped_proportional(values: FloatArray, ceiling: float) -> FloatArray:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or v.sum() <= 0:
        raise ModelError("market-cap", "no eligible token has a positive market cap")
    if ceiling * v.size < 1 - 1e-12:
        raise ModelError("market-cap", f"{v.size} tokens cannot fill 100% under a {ceiling} cap")
    w = v / v.sum()
    pinned = np.zeros(v.size, dtype=bool)
    for _ in range(v.size):
        over = (w > ceiling + 1e-15) & ~pinned
        if not over.any():
            break
        pinned |= over
        free_share = 1.0 - ceiling * pinned.sum()
        w = np.where(pinned, ceiling, v * free_share / v[~pinned].sum())
    return w


def market_cap_weights(
    caps: dict[str, float], min_cap: float = 0.0, ceiling: float = 1.0
) -> dict[str, float]:
    eligible = {k: c for k, c in caps.items() if c >= min_cap and c > 0}
    names = sorted(eligible)
    w = capped_proportional(np.array([eligible[k] for k in names]), ceiling)
    return {k: float(x) for k, x in zip(names, w, strict=True)}


def phase_in(
    old: dict[str, float], new: dict[str, float], weeks_elapsed: float, phase_weeks: int
) -> dict[str, float]:
    """Targets ``weeks_elapsed`` into a ``phase_weeks``-long transition from old to new."""
    frac = min(1.0, max(0.0, np.floor(weeks_elapsed)) / phase_weeks)
    keys = sorted(set(old) | set(new))
    out = {k: old.get(k, 0.0) + frac * (new.get(k, 0.0) - old.get(k, 0.0)) for k in keys}
    return {k: v for k, v in out.items() if v > 0}
