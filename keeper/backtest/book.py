"""The replay's book: what it holds, and what policies may read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.costs import CostModel

FloatArray = NDArray[np.float64]


@dataclass
class Book:
    """What the replay holds, and what policies may read (prices up to the bar they are at)."""

    dates: NDArray[np.datetime64]
    tokens: tuple[str, ...]
    prices: FloatArray
    costs: CostModel
    first: int
    end: int
    from_cash: bool
    units: FloatArray
    cash: float = 0.0
    events: list[tuple[int, FloatArray, FloatArray, float]] = field(default_factory=list)

    def value(self, t: int) -> float:
        return float(self.prices[t] @ self.units + self.cash)
