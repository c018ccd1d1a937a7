"""The router against real Uniswap V2/V3 bytecode on the seeded local market.

An anvil of our own serves the saved market state (keeper.market); the pool state is read
with the batched reader, quotes are compared with what the chain computes (QuoterV2 runs the
real pool swap; Router02.getAmountsOut the pair math), and routes are executed leg by leg.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_utils import keccak

from keeper.routing import Market, Snapshot, route
from keeper.routing.calldata import route_interactions
from keeper.routing.exceptions import QuoteError
from keeper.routing.quotes import quote_edge
from keeper.routing.state import RpcBatch, read_market_snapshot

pytestmark = pytest.mark.fork

QUOTE_V3 = keccak(text="quoteExactInputSingle((address,address,uint256,uint24,uint160))")[:4]
QUOTE_V2 = keccak(text="getAmountsOut(uint256,address[])")[:4]
BALANCE_OF = keccak(text="balanceOf(address)")[:4]


@pytest.fixture(scope="module")
def node() -> Iterator[Any]:
    from keeper.market.state import market_node, state_file

    with market_node(state_file()) as process:
        yield process


@pytest.fixture(scope="module")
def described() -> Any:
    from keeper.market.deployments import describe_market

    return describe_market()


@pytest.fixture(scope="module")
def snapshot(node: Any, described: Any) -> Snapshot:
    return read_market_snapshot(RpcBatch(node.url), described)


@pytest.fixture
def w3(node: Any) -> Iterator[Any]:
    from web3 import HTTPProvider, Web3

    web3 = Web3(HTTPProvider(node.url))
    snap_id = web3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield web3
    web3.provider.make_request("evm_revert", [snap_id])  # type: ignore[arg-type]


def _balance(w3: Any, token: str, holder: str) -> int:
    data = BALANCE_OF + encode(["address"], [holder])
    return int.from_bytes(w3.eth.call({"to": token, "data": data}), "big")


def test_snapshot_holds_every_pool_read_in_a_few_round_trips(node, described):
    batch = RpcBatch(node.url)
    snap = read_market_snapshot(batch, described)

    assert batch.round_trips <= 6
    assert len(snap.pools) == len(described.pools) - 1  # the fee-on-transfer pair is left out
    v3 = [p for p in snap.pools if p.kind == "v3"]
    assert v3 and all(len(p.ticks) >= 6 for p in v3)
    assert Snapshot.from_json(snap.to_json()) == snap


def _trades(market: Market, rng: random.Random, count: int) -> list[tuple[int, int]]:
    """(edge, amount) pairs: log-uniform sizes, half of them sized to cross V3 tick ranges."""
    trades = []
    while len(trades) < count:
        edge = rng.randrange(len(market.edge_in))
        real = [a for a in market.ain[edge, 1:] if 0 < a < math.inf]
        if real and rng.random() < 0.5:
            amount = int(rng.choice(real) * rng.uniform(0.3, 1.5))
        else:
            cap = market.L[edge, 0] / market.q[edge, 0]
            amount = int(10 ** rng.uniform(0, math.log10(cap * 0.3)))
        if amount > 0:
            trades.append((edge, amount))
    return trades


def test_quotes_equal_the_chain_to_the_wei_for_random_v2_and_v3_trades(node, described, snapshot):
    market = Market(snapshot)
    calls, mine = [], []
    for edge, amount in _trades(market, random.Random(7), 320):
        pool = snapshot.pools[edge // 2]
        token_in = market.tokens[market.edge_in[edge]]
        token_out = market.tokens[market.edge_out[edge]]
        try:
            expected = quote_edge(market, edge, amount)
        except QuoteError:
            continue  # the swap would leave the scanned tick window: no exact quote claimed
        if pool.kind == "v3":
            params = (token_in, token_out, amount, pool.fee, 0)
            data = QUOTE_V3 + encode(["(address,address,uint256,uint24,uint160)"], [params])
            calls.append((described.contracts["QuoterV2"], "0x" + data.hex()))
        else:
            data = QUOTE_V2 + encode(["uint256", "address[]"], [amount, [token_in, token_out]])
            calls.append((described.contracts["UniswapV2Router02"], "0x" + data.hex()))
        mine.append((pool.kind, expected))

    answers = RpcBatch(node.url).call(calls)

    mismatches, kinds, multi_tick = [], {"v2": 0, "v3": 0}, 0
    for (kind, expected), answer in zip(mine, answers, strict=True):
        assert answer is not None, f"the chain reverted a quote we claim: {expected}"
        if kind == "v3":
            chain_out, _, ticks, _ = decode(["uint256", "uint160", "uint32", "uint256"], answer)
            multi_tick += ticks >= 2
        else:
            chain_out = decode(["uint256[]"], answer)[0][-1]
        kinds[kind] += 1
        if chain_out != expected.amount_out:
            mismatches.append((kind, expected, chain_out))
    assert mismatches == []
    assert len(mine) >= 200 and kinds["v2"] >= 40 and kinds["v3"] >= 100
    assert multi_tick >= 20


@pytest.mark.parametrize(
    ("sell", "buy", "whole"),
    [("WETH", "USDC", 150), ("USDC", "WBTC", 2_000_000), ("DAI", "USDT", 3_000_000)],
)
def test_executing_a_route_leg_by_leg_pays_at_least_the_quote(
    w3, described, snapshot, sell, buy, whole
):
    from keeper.market.funding import set_token_balance

    sell_token, buy_token = described.token(sell), described.token(buy)
    amount = sell_token.units(whole)
    plan = route(snapshot, sell, buy, amount)
    assert len(plan.legs) >= 2  # a split and/or multi-hop route, not one swap
    trader = w3.eth.accounts[7]
    set_token_balance(w3, sell_token.address, trader, amount)
    touched = {leg.token_in for leg in plan.legs} | {leg.token_out for leg in plan.legs}
    before = {t: _balance(w3, t, trader) for t in touched}

    calls = route_interactions(plan, trader, swap_router=described.contracts["SwapRouter"])
    for call in calls:
        tx = w3.eth.send_transaction(
            {"from": trader, "to": call.target, "value": call.value, "data": call.call_data}
        )
        assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1

    received = _balance(w3, buy_token.address, trader) - before[buy_token.address]
    assert received >= plan.amount_out
    assert received == plan.amount_out  # exact quotes: not a wei more or less
    assert _balance(w3, sell_token.address, trader) == 0
    for token in touched - {sell_token.address, buy_token.address}:
        assert _balance(w3, token, trader) == before[token]  # intermediates pass through
