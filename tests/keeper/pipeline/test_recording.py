"""Recording a settlement: pool swaps read from the receipt's Swap events, the per-token flows
(what users netted between themselves), and the counterfactual of trading alone."""

from __future__ import annotations

import pytest

from keeper.daemon.recording import _V2_SWAP, _V3_SWAP, counterfactual, flows, pool_swaps
from keeper.intents.ledger import Fill, Leg
from keeper.routing import Market
from tests.keeper.routing.builders import SYMBOLS, TOKENS, snapshot, v2, v3


def word(value: int) -> str:
    return (value % 2**256).to_bytes(32, "big").hex()


@pytest.fixture
def pools() -> Market:
    return Market(
        snapshot(
            [
                v2(0, 0, 1, 10**24, 3 * 10**24),
                v3(1, 0, 1, 10_986, [(-887_220, 887_220, 10**23)]),  # ~3 B per A
            ]
        )
    )


def test_pool_swaps_decode_v2_and_v3_swap_events(pools):
    v2_pool, v3_pool = pools.snapshot.pools
    logs = [
        {  # V2: amount0In, amount1In, amount0Out, amount1Out
            "address": v2_pool.address,
            "topics": [_V2_SWAP, "0x" + "00" * 32, "0x" + "00" * 32],
            "data": "0x" + word(5) + word(0) + word(0) + word(14),
        },
        {  # V3: amount0, amount1 (pool's view, signed), sqrtPrice, liquidity, tick
            "address": v3_pool.address,
            "topics": [_V3_SWAP, "0x" + "00" * 32, "0x" + "00" * 32],
            "data": "0x" + word(-30) + word(10) + word(1) + word(1) + word(0),
        },
        {"address": "0x" + "99" * 20, "topics": [_V2_SWAP], "data": "0x"},  # not a known pool
    ]
    a, b = (s for _, s in sorted(zip(TOKENS[:2], SYMBOLS[:2], strict=True)))
    swaps = pool_swaps(logs, pools.snapshot)
    assert [
        (s["dex"], s["token_in"], s["amount_in"], s["token_out"], s["amount_out"]) for s in swaps
    ] == [
        ("uniswap-v2", a, "5", b, "14"),
        ("uniswap-v3", b, "10", a, "30"),
    ]


def leg(i: int, amount: int, usd: float, limit: int = 0) -> Leg:
    return Leg(TOKENS[i], SYMBOLS[i], limit, amount, usd, 18)


def fill(sells: tuple[Leg, ...], buys: tuple[Leg, ...]) -> Fill:
    return Fill("0x", None, "0x" + "11" * 20, 1, sells, buys, 0, None, 0.0, 0)


def test_flows_count_what_users_netted_without_a_pool():
    # user 1 sells 10 AAA for BBB, user 2 sells 24 BBB for AAA; 2 AAA went through a pool
    fills = [
        fill((leg(0, 10, 30.0),), (leg(1, 29, 29.0),)),
        fill((leg(1, 24, 24.0),), (leg(0, 8, 24.0),)),
    ]
    swaps = [{"token_in": "AAA", "amount_in": "2", "token_out": "BBB", "amount_out": "5"}]
    out = flows(fills, swaps)["tokens"]
    assert out["AAA"] == {
        "sold": "10",
        "received": "8",
        "to_pools": "2",
        "from_pools": "0",
        "netted": "8",
    }
    assert out["BBB"]["netted"] == "24"


def test_alone_through_our_router_beats_router02_per_leg_and_pays_its_own_gas(pools):
    a = pools.snapshot.tokens[0].address
    b = pools.snapshot.tokens[1].address
    sells = (Leg(a, "A", 10**22, 10**22, 30_000.0, 18),)
    buys = (Leg(b, "B", 0, 29 * 10**21, 29_000.0, 18),)

    def usd(token: str, amount: int) -> float:
        return amount / 1e18 * (3_000.0 if token == a else 1_000.0)

    c = counterfactual(sells, buys, pools, usd, gas_price=10**9, eth_usd=3_000.0)
    assert c.own_received_usd > 0 and c.router02_received_usd > 0
    # the own router may also use the V3 pool: never worse than V2 alone
    assert c.own_received_usd >= c.router02_received_usd
    assert c.own_gas > 21_000 and c.own_gas_usd == pytest.approx(c.own_gas * 1e9 / 1e18 * 3_000)
    assert c.router02_gas == 87_310


def test_no_counterfactual_without_anything_received(pools):
    a = pools.snapshot.tokens[0].address
    c = counterfactual((Leg(a, "A", 1, 1, 1.0, 18),), (), pools, lambda t, x: 0.0, 1, 1.0)
    assert c.own_received_usd == 0 and c.own_gas == 0
