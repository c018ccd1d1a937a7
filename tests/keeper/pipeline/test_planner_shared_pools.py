"""The netting planner settles routes that share a pool, quoted on the state earlier ones leave.

Regression: a multi-leg intent (WETH + WBTC -> USDC + DAI) whose DAI legs route through the
WETH/USDC and WBTC/USDC pools was deferred on every block (its own pieces overlapped) and so
never settled.
"""

from __future__ import annotations

import math
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeper.chain.head import Head
from keeper.intents.types import RebalanceIntent, TokenAmount
from keeper.intents.validation import SignedIntent
from keeper.routing import Market
from keeper.routing.quotes import quote
from keeper.settlement.gas import FeeQuote
from keeper.settlement.plan import Candidate
from keeper.settlement.planner import NettingPlanner
from keeper.settlement.replay import after_routes
from tests.keeper.routing.builders import TOKENS, random_snapshot, snapshot, v2, v3

E18 = 10**18
WETH, WBTC, USDC, DAI = TOKENS[:4]
USD = {WETH: 3_000.0, WBTC: 90_000.0, USDC: 1.0, DAI: 1.0}
EXECUTOR = "0x" + "ee" * 20
HEAD = Head(number=1, timestamp=1, base_fee=10**9, gas_used=0, gas_limit=30_000_000)
FEES = FeeQuote(base_fee=10**9, max_priority_fee=10**9, max_fee=3 * 10**9)


def _weth_usdc(kind: str) -> dict:
    if kind == "v2":
        return v2(0, 0, 2, 1_000 * E18, 3_000_000 * E18)
    # USDC per WETH = 3000 (token0 = WETH): one wide range holding about the same depth
    tick = int(math.log(3_000, 1.0001))
    base = tick // 60 * 60
    liquidity = int(math.sqrt(1_000 * E18 * 3_000_000 * E18))
    return v3(0, 0, 2, tick, [(base - 60 * 500, base + 60 * 500, liquidity)])


def _market(kind: str) -> Market:
    """DAI trades only against USDC: WETH -> DAI and WBTC -> DAI must cross a USDC pool."""
    return Market(
        snapshot(
            [
                _weth_usdc(kind),
                v2(1, 1, 2, 100 * E18, 9_000_000 * E18),
                v2(2, 2, 3, 5_000_000 * E18, 5_000_000 * E18, fee=500),
            ],
            n_tokens=4,
            weth=0,
        )
    )


def _planner(market: Market) -> NettingPlanner:
    return NettingPlanner(
        executor=EXECUTOR,
        chain_id=1,
        snapshot=lambda: market,
        usd_prices=USD,
        decimals=dict.fromkeys(USD, 18),
        swap_router="0x" + "5e" * 20,
        weth=WETH,
        max_hops=3,
    )


def _candidate(name: str, owner: int, sells: dict, buys: dict) -> Candidate:
    intent = RebalanceIntent(
        owner=f"0x{owner:040x}",
        executor=EXECUTOR,
        nonce=1,
        deadline=10**10,
        sells=[TokenAmount(token=t, amount=a) for t, a in sells.items()],
        buys=[TokenAmount(token=t, amount=a) for t, a in buys.items()],
    )
    return Candidate(name, SignedIntent(intent=intent, signature=b"\x01" * 65), 0)


def _replayed_outputs(market: Market, routes) -> list[tuple[int, int]]:
    """(quoted, exact on the state earlier legs leave) for every leg, in execution order."""
    done = []
    out = []
    for route in routes:
        for leg in route.legs:
            state = Market(after_routes(market.snapshot, done))
            exact = quote(state, leg.pool, leg.token_in, leg.amount_in).amount_out
            out.append((leg.amount_out, exact))
            done.append(type(route)(**{**route.__dict__, "legs": (leg,)}))
    return out


@pytest.mark.parametrize("kind", ["v2", "v3"])
def test_a_multi_leg_intent_whose_pieces_share_a_pool_is_settled_not_deferred(kind):
    market = _market(kind)
    intent = _candidate(
        "multi",
        0x11,
        {WETH: 2 * E18, WBTC: E18 // 10},
        {USDC: 5_000 * E18, DAI: 5_000 * E18},
    )

    plan = _planner(market).plan([intent], HEAD, FEES)

    assert plan.deferred == [] and plan.dropped == {}
    assert plan.settlement is not None and plan.settlement.intent_ids == ("multi",)
    routes = _routes(plan)
    pools = [leg.pool.lower() for r in routes for leg in r.legs]
    assert len(pools) > len(set(pools)), "the case under test: routes share a pool"
    # Each leg pays exactly its quote on the pools as the earlier legs leave them.
    for quoted, exact in _replayed_outputs(market, routes):
        assert exact == quoted
    (order,) = plan.settlement.orders
    assert list(order.execution.sell_amounts) == [2 * E18, E18 // 10]
    assert all(
        got >= leg.amount
        for got, leg in zip(order.execution.buy_amounts, order.intent.buys, strict=True)
    )
    _assert_no_deficit(plan, routes)


def test_intents_of_two_pairs_sharing_a_pool_settle_in_the_same_block():
    market = _market("v2")
    weth_usdc = _candidate("a", 0x11, {WETH: 5 * E18}, {USDC: 14_000 * E18})
    weth_dai = _candidate("b", 0x12, {WETH: 5 * E18}, {DAI: 14_000 * E18})

    plan = _planner(market).plan([weth_usdc, weth_dai], HEAD, FEES)

    assert plan.deferred == [] and plan.dropped == {}
    assert plan.settlement is not None and set(plan.settlement.intent_ids) == {"a", "b"}
    routes = _routes(plan)
    for quoted, exact in _replayed_outputs(market, routes):
        assert exact == quoted
    # The second route pays less per WETH than the first: it sees the pool the first moved.
    first, second = (o.execution.buy_amounts[0] for o in plan.settlement.orders)
    assert second < first
    _assert_no_deficit(plan, routes)


def _routes(plan):
    return list(plan.routes)


def _assert_no_deficit(plan, routes) -> None:
    balance: dict[str, int] = defaultdict(int)
    for order in plan.settlement.orders:
        for leg, amount in zip(order.intent.sells, order.execution.sell_amounts, strict=True):
            balance[leg.token.lower()] += amount
        for leg, amount in zip(order.intent.buys, order.execution.buy_amounts, strict=True):
            balance[leg.token.lower()] -= amount
    for route in routes:
        for leg in route.legs:
            balance[leg.token_in.lower()] -= leg.amount_in
            balance[leg.token_out.lower()] += leg.amount_out
    assert all(v >= 0 for v in balance.values()), balance


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    shapes=st.lists(
        st.tuples(
            st.sets(st.integers(0, 3), min_size=1, max_size=2),  # sold tokens
            st.sets(st.integers(0, 3), min_size=1, max_size=2),  # bought tokens
            st.floats(min_value=0.001, max_value=0.05),  # share of a pool's depth
        ),
        min_size=1,
        max_size=5,
    ),
)
@pytest.mark.fuzzing
def test_whatever_routes_share_every_leg_pays_its_quote_and_nobody_is_deferred(seed, shapes):
    snap = random_snapshot(seed, n_tokens=4, n_v2=5, n_v3=3)
    market = Market(snap.model_copy(update={"weth": snap.tokens[0].address}))  # gas is valued
    tokens = market.tokens
    value = {t: 2.0**i for i, t in enumerate(tokens)}  # as random_snapshot prices them
    planner = NettingPlanner(
        executor=EXECUTOR,
        chain_id=1,
        snapshot=lambda: market,
        usd_prices=value,
        decimals=dict.fromkeys(tokens, 18),
        swap_router="0x" + "5e" * 20,
        max_hops=3,
    )
    batch = []
    for n, (sold, bought) in enumerate((s, b - s) for s, b, _ in shapes):
        if not bought:
            continue
        size = int(10**20 * shapes[n][2])
        sells = {tokens[i]: size for i in sorted(sold)}
        buys = {tokens[j]: 1 for j in sorted(bought)}  # loose limits: the routing is under test
        batch.append(_candidate(f"i{n}", 0x100 + n, sells, buys))
    if not batch:
        return

    plan = planner.plan(batch, HEAD, FEES)

    assert plan.deferred == []
    if plan.settlement is None:
        assert set(plan.dropped) == {c.id for c in batch}
        return
    routes = _routes(plan)
    for quoted, exact in _replayed_outputs(market, routes):
        assert exact == quoted
    _assert_no_deficit(plan, routes)
