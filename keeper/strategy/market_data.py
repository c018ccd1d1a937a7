"""What one evaluation reads besides the holdings: daily prices, yield quotes, the cost basis.

Plain data, filled by :mod:`keeper.strategy.live` (or a test, or a replay) and read by the
engine, its adjustments and triggers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from keeper.strategy.tax import CostBasis

FloatArray = NDArray[np.float64]


class YieldQuote(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    venue: str  # token symbol
    apy: float = Field(ge=-1.0, le=10.0)
    liquidity_usd: float = Field(ge=0.0)
    risk_score: float = Field(0.0, ge=0.0, le=1.0)  # 0 = safest


@dataclass(frozen=True)
class MarketData:
    """Daily USD prices ``(T+1, n)`` of ``tokens`` (oldest first), and yield quotes."""

    tokens: tuple[str, ...] = ()
    prices: FloatArray | None = None
    yields: tuple[YieldQuote, ...] = ()
    #: the user's lots (rules.tax_aware) and current USD prices to value their gains
    cost_basis: CostBasis | None = None
    spot_usd: dict[str, float] = field(default_factory=dict)
