"""What a rebalance costs: gas at the current base fee, LP fees and price impact.

:class:`CostEstimator` is the seam to the routing engine: ``estimate(trades)`` takes the signed
USD change per token (``+`` buy, ``-`` sell) and returns a :class:`CostEstimate`. The built-in
:class:`PoolCostModel` prices a rebalance that is settled as one batch:

* gas: ``(base_gas + gas_per_leg * legs) * gas_price * ETH/USD``, legs = tokens traded;
* LP fees: ``fee_rate * sum(sells)`` (every dollar sold crosses one pool);
* price impact: ``sum_i x_i^2 / depth_i`` — selling ``x`` into a constant-product pool with
  ``depth`` dollars on each side moves the price by about ``x / depth`` and costs about
  ``x^2 / depth``.

``keeper.strategy.routing_costs.RoutedCostEstimator`` replaces fees and impact by quotes from
the routing engine on the live pool state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class CostEstimate:
    gas_usd: float
    fees_usd: float
    impact_usd: float
    #: tax on realised gains (``keeper.strategy.tax``), when the strategy is tax-aware
    tax_usd: float = 0.0

    @property
    def total_usd(self) -> float:
        return self.gas_usd + self.fees_usd + self.impact_usd + self.tax_usd


ZERO_COST = CostEstimate(0.0, 0.0, 0.0)


class CostEstimator(Protocol):
    def estimate(self, trades_usd: dict[str, float]) -> CostEstimate: ...


@dataclass(frozen=True)
class PoolCostModel:
    """A closed-form estimator from gas price, fee rate and per-token pool depth (USD)."""

    gas_price_gwei: float
    eth_usd: float
    fee_rate: float = 0.003
    depth_usd: dict[str, float] = field(default_factory=dict)
    default_depth_usd: float = 10_000_000.0
    base_gas: int = 120_000
    gas_per_leg: int = 90_000
    min_trade_usd: float = 0.01

    def gas_usd(self, legs: int) -> float:
        if legs == 0:
            return 0.0
        gas = self.base_gas + self.gas_per_leg * legs
        return gas * self.gas_price_gwei * 1e-9 * self.eth_usd

    def estimate(self, trades_usd: dict[str, float]) -> CostEstimate:
        traded = {k: v for k, v in trades_usd.items() if abs(v) >= self.min_trade_usd}
        sells = sum(-v for v in traded.values() if v < 0)
        impact = sum(
            v * v / self.depth_usd.get(k, self.default_depth_usd) for k, v in traded.items()
        )
        return CostEstimate(self.gas_usd(len(traded)), self.fee_rate * sells, impact)
