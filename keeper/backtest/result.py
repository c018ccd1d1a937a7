"""One replay's outcome: the value path, the book, the trades; it knows its metrics.

Attribution of a policy's difference to buy-and-hold, in log wealth (the three parts add up
exactly)::

    log(V_T / H_T) = costs + drift avoided + rebalancing premium
    costs               = log(V_T / G_T)          G: the same policy replayed without costs
    drift avoided       = sum_t (g_{t-1} - h_{t-1}) . R_t
    rebalancing premium = log(G_T / H_T) - drift avoided

``g``/``h`` are the weights held over bar ``t`` by the cost-free run and by buy-and-hold,
``R_t`` the tokens' simple returns on that bar: "drift avoided" is the first-order return of
holding the policy's weights instead of the drifted ones; the premium is what compounding
adds on top (the variance-drag difference, positive for a rebalanced portfolio of volatile,
imperfectly correlated assets in a trendless market). "Costs" includes trades the cost
model changed (a cost gate that waits), not only dollars paid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.costs import KINDS
from keeper.backtest.metrics import Metrics, compute

FloatArray = NDArray[np.float64]


@dataclass
class BacktestResult:
    name: str
    dates: NDArray[np.datetime64]
    tokens: tuple[str, ...]
    prices: FloatArray
    values: FloatArray
    units: FloatArray
    cash: FloatArray
    #: (bar, trades in USD per token, costs by kind, value before trading)
    events: list[tuple[int, FloatArray, FloatArray, float]]
    periods_per_year: float
    cost_label: str
    initial_value: float

    @property
    def final_value(self) -> float:
        return float(self.values[-1])

    @property
    def years(self) -> float:
        span = (self.dates[-1] - self.dates[0]).astype("timedelta64[s]").astype(np.float64)
        return float(span) / (365.0 * 86_400)

    @property
    def metrics(self) -> Metrics:
        v = np.concatenate([[self.initial_value], self.values])
        return compute(v, self.years, self.periods_per_year)

    @property
    def weights(self) -> FloatArray:
        """Weights held after each bar's close (cash excluded from the columns)."""
        x = self.prices * self.units
        return np.asarray(x / self.values[:, None])

    @property
    def rebalances(self) -> int:
        return len(self.events)

    @property
    def rebalance_bars(self) -> NDArray[np.int64]:
        return np.array([e[0] for e in self.events], dtype=np.int64)

    @property
    def costs_by_kind(self) -> dict[str, float]:
        total = np.zeros(len(KINDS))
        for e in self.events:
            total += e[2]
        return dict(zip(KINDS, total.tolist(), strict=True))

    @property
    def total_cost(self) -> float:
        return float(sum(self.costs_by_kind.values()))

    @property
    def turnover(self) -> float:
        """Annual one-way turnover: sum over rebalances of ``sum|trades| / 2 / value``, per
        year."""
        if self.years <= 0:
            return 0.0
        return sum(float(np.abs(e[1]).sum()) / 2.0 / e[3] for e in self.events) / self.years


@dataclass(frozen=True)
class Attribution:
    """Log-wealth difference to buy-and-hold and its parts (see the module docstring)."""

    total: float
    drift_avoided: float
    premium: float
    costs: float


def attribution(net: BacktestResult, gross: BacktestResult, hold: BacktestResult) -> Attribution:
    r = hold.prices[1:] / hold.prices[:-1] - 1.0
    g, h = gross.weights[:-1], hold.weights[:-1]
    drift = float(np.sum((g - h) * r))
    gross_gap = math.log(gross.final_value / hold.final_value)
    costs = math.log(net.final_value / gross.final_value)
    return Attribution(
        total=math.log(net.final_value / hold.final_value),
        drift_avoided=drift,
        premium=gross_gap - drift,
        costs=costs,
    )
