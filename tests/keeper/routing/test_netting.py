"""Batch netting: limits always met, no token deficit, one price per pair and side."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeper.routing import Market, NettingError, netting
from keeper.routing.netting import Order, net
from tests.keeper.routing.builders import random_snapshot, snapshot, v2

_market = Market(random_snapshot(3, n_tokens=3, n_v2=3, n_v3=3))
T = _market.tokens


def order_strategy(i: int):
    return st.builds(
        lambda pair, amount, tight: Order(
            f"o{i}",
            T[pair[0]],
            T[pair[1]],
            amount,
            # a limit near the fair value (tokens are worth 1, 2, 4): some orders fail it
            int(amount * 2.0 ** (pair[0] - pair[1]) * tight),
        ),
        st.sampled_from([(0, 1), (1, 0), (0, 2), (2, 0)]),
        st.integers(min_value=10**15, max_value=10**21),
        st.floats(min_value=0.0, max_value=1.01),
    )


orders_strategy = st.integers(min_value=1, max_value=6).flatmap(
    lambda n: st.tuples(*[order_strategy(i) for i in range(n)])
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=orders_strategy)
@pytest.mark.fuzzing
def test_netting_never_leaves_a_user_below_their_limit_and_hands_out_every_wei(orders):
    result = net(_market, list(orders))

    filled = {f.order_id: f for f in result.fills}
    assert set(filled) | set(result.excluded) == {o.id for o in orders}
    assert not set(filled) & set(result.excluded)
    for order in orders:
        if order.id in filled:
            assert filled[order.id].buy_amount >= order.min_buy_amount
            assert filled[order.id].sell_amount == order.sell_amount
    # Tokens in (sold by users, paid by pools) equal tokens out (to users, into pools).
    balance: dict[str, int] = defaultdict(int)
    for fill in result.fills:
        balance[fill.sell_token] += fill.sell_amount
        balance[fill.buy_token] -= fill.buy_amount
    for route in result.residual_routes:
        for leg in route.legs:
            balance[leg.token_in] -= leg.amount_in
            balance[leg.token_out] += leg.amount_out
    # the fills hand out exactly what the sellers and the pools provide: nothing is left over
    assert all(v == 0 for v in balance.values()), balance
    # One price per pair and side (up to the rounding of each share).
    sides: dict[tuple[str, str], list] = defaultdict(list)
    for fill in result.fills:
        sides[(fill.sell_token, fill.buy_token)].append(fill)
    for fills in sides.values():
        rates = [f.buy_amount / f.sell_amount for f in fills]
        smallest = min(f.sell_amount for f in fills)
        assert max(rates) - min(rates) <= 1.0 / smallest + 1e-12 * max(rates)


def test_opposite_orders_inside_the_amm_spread_cross_without_touching_a_pool():
    market = Market(snapshot([v2(0, 0, 1, 10**22, 5 * 10**21)], n_tokens=2))
    a, b = T[0], T[1]  # the pool prices b at twice a
    orders = [Order("x", a, b, 2 * 10**18, 0), Order("y", b, a, 10**18, 0)]
    result = net(market, orders)

    assert result.residual_routes == ()
    fills = {f.order_id: f for f in result.fills}
    assert fills["x"].buy_amount == 10**18 and fills["y"].buy_amount == 2 * 10**18


def test_the_excess_side_pays_the_amm_price_of_its_residual_and_everyone_shares_it():
    a, b = T[0], T[2]
    orders = [Order("x", a, b, 8 * 10**20), Order("y", a, b, 2 * 10**20), Order("z", b, a, 10**20)]
    result = net(_market, orders)

    (clearing,) = result.clearings
    assert clearing.residual is not None and clearing.residual.sell_token == a
    fills = {f.order_id: f for f in result.fills}
    assert (
        fills["x"].buy_amount // 4 == fills["y"].buy_amount // 1
        or abs(fills["x"].buy_amount - 4 * fills["y"].buy_amount) <= 4
    )
    # the A-side gets B from z plus the pool output, nothing else
    total_b = fills["x"].buy_amount + fills["y"].buy_amount
    assert total_b <= 10**20 + clearing.residual.amount_out


def test_an_order_with_an_unreachable_limit_is_dropped_with_a_reason():
    orders = [Order("greedy", T[0], T[1], 10**18, 10**19), Order("fine", T[0], T[1], 10**18, 0)]
    result = net(_market, orders)

    assert "greedy" in result.excluded and "limit" in result.excluded["greedy"]
    assert [f.order_id for f in result.fills] == ["fine"]


@pytest.mark.parametrize(
    ("orders", "field"),
    [
        ([Order("a", T[0], T[1], 0)], "orders[0].sell_amount"),
        ([Order("a", T[0], T[0], 5)], "orders[0]"),
        ([Order("a", T[0], T[1], 5), Order("a", T[1], T[0], 5)], "orders[1].id"),
        ([Order("a", T[0], T[1], 5, -1)], "orders[0].min_buy_amount"),
    ],
)
def test_bad_orders_are_rejected_naming_the_field(orders, field):
    with pytest.raises(NettingError) as err:
        net(_market, orders)
    assert err.value.field == field


pair_strategy = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=10**15, max_value=10**21)),
    min_size=2,
    max_size=8,
).filter(lambda legs: any(side for side, _ in legs) and not all(side for side, _ in legs))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(legs=pair_strategy, pair=st.sampled_from([(0, 1), (0, 2), (1, 2)]))
@pytest.mark.fuzzing
def test_both_sides_of_a_pair_clear_at_the_residuals_amm_price_in_a_few_routes(legs, pair):
    calls = []
    real_route = netting.route

    def counted(*args, **kwargs):
        calls.append(args[3])
        return real_route(*args, **kwargs)

    a, b = T[pair[0]], T[pair[1]]
    orders = [
        Order(f"o{i}", a if a_side else b, b if a_side else a, amount)
        for i, (a_side, amount) in enumerate(legs)
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(netting, "route", counted)
        result = net(_market, orders)

    (clearing,) = result.clearings
    residual = clearing.residual
    if residual is None:  # crossed inside the AMM band: nothing routed
        assert calls == []
        return
    # The excess side sells R through the pools at their average price f = out / R; the
    # other side's volume asks P = sold_other / (sold_excess - R). The root: f >= P, within
    # the 1e-10 tolerance, found in a handful of routes.
    excess_is_a = residual.sell_token == clearing.token_a
    sold_excess, sold_other = (
        (clearing.sold_a, clearing.sold_b) if excess_is_a else (clearing.sold_b, clearing.sold_a)
    )
    r, out = residual.amount_in, residual.amount_out
    assert out * (sold_excess - r) >= sold_other * r  # f >= P, exactly
    assert out * (sold_excess - r) <= sold_other * r * (1 + 1e-9)
    assert len(calls) <= 12, calls
