"""The routing engine behind the strategy's :class:`Quoter` and :class:`CostEstimator` seams.

Quotes and costs come from :func:`keeper.routing.route.route` on a pool snapshot (split across
pools, multi-hop): LP fees are each leg's fee tier on its input; price impact is what remains
of the value lost against the oracle price; gas is the batch base plus each route's legs at the
current gas price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keeper.routing.route import route
from keeper.strategy.costs import CostEstimate
from keeper.strategy.proposals import TokenRef, pair_trades

#: settlement overhead of a batch (signature check, vault pulls, deliveries), per the executor
BATCH_BASE_GAS = 150_000


@dataclass(frozen=True)
class RoutedQuoter:
    snapshot: Any  # keeper.routing.snapshot.Snapshot or keeper.routing.market.Market

    def quote(self, sell: TokenRef, buy: TokenRef, amount_in: int) -> int:
        return int(route(self.snapshot, sell.address, buy.address, amount_in).amount_out)


@dataclass(frozen=True)
class RoutedCostEstimator:
    snapshot: Any
    tokens: dict[str, TokenRef]
    prices_usd: dict[str, float]
    gas_price_wei: int
    eth_usd: float
    base_gas: int = BATCH_BASE_GAS

    def estimate(self, trades_usd: dict[str, float]) -> CostEstimate:
        gas = 0
        fees = loss = 0.0
        for sell, buy, usd in pair_trades(trades_usd):
            s, b = self.tokens[sell], self.tokens[buy]
            amount = int(usd / self.prices_usd[sell] * 10**s.decimals)
            if amount <= 0:
                continue
            r = route(self.snapshot, s.address, b.address, amount)
            out_usd = r.amount_out / 10**b.decimals * self.prices_usd[buy]
            loss += usd - out_usd
            fees += (
                sum(leg.fee / 1e6 * leg.amount_in for leg in r.legs if leg.token_in == r.sell_token)
                / amount
                * usd
            )
            gas += r.gas_estimate
        gas_usd = (self.base_gas + gas) * self.gas_price_wei / 1e18 * self.eth_usd if gas else 0.0
        return CostEstimate(gas_usd, fees, max(0.0, loss - fees))
