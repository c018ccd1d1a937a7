"""A plan carries its pair clearings: the whole settled flow, from which the netted share is read
(the keeper bench's figure, the backtester's default ``--netted``)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from keeper.routing.netting import netted_flow
from tests.keeper.pipeline.test_planner_shared_pools import (
    E18,
    FEES,
    HEAD,
    USDC,
    WBTC,
    WETH,
    _candidate,
    _market,
    _planner,
)


def test_the_plans_clearings_are_its_settled_flow_and_give_the_netted_share():
    market = _market("v2")
    planner = _planner(market)
    # $3,000 of WETH against $6,000 of USDC on one pair, and a lone WBTC seller on another
    batch = [
        _candidate("weth", 0x11, {WETH: E18}, {USDC: 2_900 * E18}),
        _candidate("usdc", 0x12, {USDC: 6_000 * E18}, {WETH: E18 * 19 // 10}),
        _candidate("wbtc", 0x13, {WBTC: E18 // 100}, {USDC: 850 * E18}),
    ]

    plan = planner.plan(batch, HEAD, FEES)

    assert plan.settlement is not None and plan.dropped == {} and plan.deferred == []
    sold: dict[str, int] = defaultdict(int)
    for order in plan.settlement.orders:
        for leg, amount in zip(order.intent.sells, order.execution.sell_amounts, strict=True):
            sold[leg.token.lower()] += amount
    cleared: dict[str, int] = defaultdict(int)
    for c in plan.clearings:
        cleared[c.token_a.lower()] += c.sold_a
        cleared[c.token_b.lower()] += c.sold_b
    assert cleared == sold  # every unit users sold is in a clearing
    assert tuple(c.residual for c in plan.clearings if c.residual is not None) == plan.routes

    flow = netted_flow(plan.clearings, planner.value_usd)

    assert flow.total_usd == pytest.approx(3_000 + 6_000 + 900)
    # WETH/USDC: the WETH seller's $3,000 and about $3,000 of the USDC meet, ~$3,000 of USDC is
    # routed (a little less: the WETH side is paid at the residual's AMM price, fee included);
    # the WBTC seller has nobody on the other side: all $900 routed
    assert flow.routed_usd == pytest.approx(3_000 + 900, rel=0.02)
    assert flow.share == pytest.approx(6_000 / 9_900, rel=0.02)
