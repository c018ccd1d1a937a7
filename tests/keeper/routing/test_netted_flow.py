"""The netted share of a netting result: users' sell flow settled between users / all flow."""

from __future__ import annotations

import pytest

from keeper.routing import Market
from keeper.routing.netting import NettingResult, Order, PairClearing, net, netted_flow
from keeper.routing.route import Certificate, Route
from tests.keeper.routing.builders import TOKENS, snapshot, v2

A, B, C = TOKENS[0], TOKENS[1], TOKENS[2]


def _route(sell: str, buy: str, amount_in: int, amount_out: int) -> Route:
    return Route(
        sell_token=sell,
        buy_token=buy,
        amount_in=amount_in,
        amount_out=amount_out,
        legs=(),
        gas_estimate=0,
        gas_cost=0,
        spot_price=amount_out / amount_in,
        certificate=Certificate(marginal_price=0.0, prices={}, residual=0.0, iterations=0),
        method="single-path",
    )


def test_a_hand_built_result_nets_everything_but_the_routed_residual():
    # USD per base unit: A $3, B $1, C $1
    usd = {A: 3.0, B: 1.0, C: 1.0}
    result = NettingResult(
        fills=(),
        excluded={},
        clearings=(
            # {A, B}: users sold 10 A ($30) and 12 B ($12); A was in excess and 6 A ($18)
            # crossed the pool, the other 4 A ($12) went to the B sellers
            PairClearing(A, B, 3.0, sold_a=10, sold_b=12, residual=_route(A, B, 6, 17)),
            # {A, C}: 4 A ($12) against 12 C ($12), crossed internally
            PairClearing(A, C, 3.0, sold_a=4, sold_b=12, residual=None),
        ),
    )

    flow = netted_flow(result.clearings, lambda token, amount: usd[token] * amount)

    assert flow.total_usd == 66.0  # 30 + 12 + 12 + 12
    assert flow.routed_usd == 18.0
    assert flow.netted_usd == 48.0
    assert flow.share == pytest.approx(48 / 66)


def test_no_flow_is_a_zero_share_not_a_division_by_zero():
    assert netted_flow((), lambda token, amount: 1.0).share == 0.0


# one V2 pool pricing B at twice A (1e22 A against 5e21 B); A $1, B $2 per whole token
_market = Market(snapshot([v2(0, 0, 1, 10**22, 5 * 10**21)], n_tokens=2))
_usd = {A: 1.0, B: 2.0}


def _value(token: str, amount: int) -> float:
    return _usd[token.lower()] * amount / 10**18


def test_opposite_orders_inside_the_spread_are_all_netted():
    result = net(_market, [Order("x", A, B, 2 * 10**18), Order("y", B, A, 10**18)])

    flow = netted_flow(result.clearings, _value)

    assert flow.total_usd == pytest.approx(4.0)
    assert flow.share == 1.0


def test_one_sided_flow_is_all_routed():
    result = net(_market, [Order("x", A, B, 2 * 10**18), Order("y", A, B, 3 * 10**18)])

    flow = netted_flow(result.clearings, _value)

    assert flow.routed_usd == pytest.approx(5.0)
    assert flow.share == 0.0


def test_the_minority_side_and_as_much_of_the_excess_side_are_netted():
    # $12 of A against $2 of B: the B sellers' $2 and about $2 of A meet, ~$10 of A is routed
    result = net(_market, [Order("x", A, B, 12 * 10**18), Order("y", B, A, 10**18)])

    flow = netted_flow(result.clearings, _value)

    assert flow.total_usd == pytest.approx(14.0)
    # the A side pays the residual's AMM price (fee + impact), so it gives a little more than
    # $2 of A for the $2 of B: the netted share is a little above 4/14
    assert 4 / 14 < flow.share < 1.01 * 4 / 14
