"""The executor holds what each swap pulls at the moment it pulls it (issue 15, problem 6).

Seen in fault-free runs: settlements reverting with ``InteractionFailed(k, SwapRouter, "STF")``
(the router's ``transferFrom`` of the executor failed). Cause: a sell leg was sent straight to a
buyer (a direct leg) whose tokens the executor only receives from a *later* pair's swap, while
an earlier swap still needed that leg's tokens. The executor's net flow per token was right;
its balance in between was not. Direct legs are now limited so that every swap, in execution
order, finds its input in the executor.
"""

from __future__ import annotations

from collections import defaultdict

from keeper.settlement.direct import OrderFlows, assign_direct_legs
from tests.keeper.pipeline.test_planner_shared_pools import (
    DAI,
    E18,
    FEES,
    HEAD,
    USDC,
    WETH,
    _candidate,
    _market,
    _planner,
)


def interaction_balances(plan) -> list[dict[str, int]]:
    """The executor's balance per token before each swap and after the last, replaying the
    settlement as the contract runs it: pulls (legs not sent direct), then the routes in order."""
    balance: dict[str, int] = defaultdict(int)
    for order in plan.settlement.orders:
        sell_to = list(order.execution.sell_to) or [None] * len(order.intent.sells)
        for leg, amount, to in zip(
            order.intent.sells, order.execution.sell_amounts, sell_to, strict=True
        ):
            if to is None:
                balance[leg.token.lower()] += amount
    seen = []
    for route in plan.routes:
        seen.append(dict(balance))
        balance[route.sell_token.lower()] -= route.amount_in
        if balance[route.sell_token.lower()] < 0:
            seen.append(dict(balance))
            return seen
        balance[route.buy_token.lower()] += route.amount_out
    seen.append(dict(balance))
    return seen


def test_a_sell_leg_an_earlier_swap_needs_is_not_sent_to_a_buyer_a_later_swap_pays():
    market = _market("v3")
    # claim order: two WETH sellers (their pair's swap sells WETH first), then a DAI seller who
    # buys WETH (paid by the DAI -> WETH swap, which runs second)
    candidates = [
        _candidate("a", 0x21, {WETH: 5 * E18}, {USDC: 13_000 * E18}),
        _candidate("b", 0x22, {WETH: 3 * E18}, {USDC: 7_800 * E18}),
        _candidate("c", 0x23, {DAI: 20_000 * E18}, {WETH: 6 * E18}),
    ]
    plan = _planner(market).plan(candidates, HEAD, FEES)
    assert plan.settlement is not None and set(plan.settlement.intent_ids) == {"a", "b", "c"}
    steps = interaction_balances(plan)
    assert all(v >= 0 for step in steps for v in step.values()), steps
    # what every buyer gets in all (direct + executor delivery) is what was quoted
    for order, intent_id in zip(plan.settlement.orders, plan.settlement.intent_ids, strict=True):
        assert sum(order.execution.buy_amounts) <= sum(plan.settlement.quoted[intent_id])


def test_direct_legs_stay_within_a_tokens_limit():
    t, u = "0x" + "11" * 20, "0x" + "22" * 20
    orders = [
        OrderFlows(owner="0x" + "a1" * 20, sells=[(t, 5)], buys=[]),
        OrderFlows(owner="0x" + "b1" * 20, sells=[(t, 3)], buys=[]),
        OrderFlows(owner="0x" + "c1" * 20, sells=[(u, 9)], buys=[(t, 8)]),
    ]
    assert assign_direct_legs(orders).sell_to[0][0] is not None  # no limit: the 5 goes direct
    limited = assign_direct_legs(orders, limits={t: 4})
    assert limited.sell_to[0] == [None]  # 5 > 4
    assert limited.sell_to[1][0] is not None and limited.buy_amounts[2] == [5]  # the 3 fits
