"""A slippage allowance that follows volatility.

Between the quote and settlement the price can move; over ``dt`` seconds a log price with
annual volatility ``sigma`` moves by about ``sigma * sqrt(dt / year)`` (one standard deviation).
The allowance is ``z`` of those (2 by default, ~95 %), bounded to the strategy's
``[min_slippage, max_slippage]``:

    s = clip(z * sigma * sqrt(dt / year), s_min, s_max)
"""

from __future__ import annotations

import math

from keeper.strategy.constants import SECONDS_PER_YEAR


def slippage_allowance(
    sigma_annual: float,
    horizon_seconds: float,
    min_slippage: float,
    max_slippage: float,
    z: float = 2.0,
) -> float:
    raw = z * max(sigma_annual, 0.0) * math.sqrt(max(horizon_seconds, 0.0) / SECONDS_PER_YEAR)
    return min(max_slippage, max(min_slippage, raw))


def min_out(expected: int, slippage: float) -> int:
    """Smallest acceptable output for ``expected`` at ``slippage`` (rounded down, in wei)."""
    return expected * round((1.0 - slippage) * 1_000_000) // 1_000_000
