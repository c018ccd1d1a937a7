"""The keeper's per-block pool reader (one round trip per block) gives exactly the snapshot a full
read gives: after swaps on V2 and V3 pools, and after liquidity is added (a full re-read)."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from keeper.routing.state import read_market_snapshot
from keeper.settlement.pools import (
    BURN_TOPIC,
    GET_RESERVES,
    LIQUIDITY,
    MINT_TOPIC,
    SLOT0,
    PoolSnapshots,
    http_batch,
)
from tests.integration.conftest import DEADLINE

pytestmark = pytest.mark.fork


def test_selectors_and_topics_are_the_uniswap_ones():
    def selector(signature: str) -> str:
        return "0x" + keccak(text=signature)[:4].hex()

    def topic(signature: str) -> str:
        return "0x" + keccak(text=signature).hex()

    got = (GET_RESERVES, SLOT0, LIQUIDITY, MINT_TOPIC, BURN_TOPIC)
    assert got == (
        selector("getReserves()"),
        selector("slot0()"),
        selector("liquidity()"),
        topic("Mint(address,address,int24,int24,uint128,uint256,uint256)"),
        topic("Burn(address,int24,int24,uint128,uint256,uint256)"),
    )


def _reader(chain, market):
    url = chain.provider.web3.provider.endpoint_uri
    pools = PoolSnapshots(http_batch(url), lambda: read_market_snapshot(url, market, word_radius=4))
    return pools, lambda: read_market_snapshot(url, market, word_radius=4)


def test_after_swaps_one_incremental_read_equals_a_full_read(
    seeded_market, chain, alice, dex, erc20
):
    pools, full = _reader(chain, seeded_market)
    first = pools.at(chain.blocks.head.number)
    assert (pools.full_reads, pools.incremental_reads) == (1, 0)
    assert first.snapshot == full()

    weth, usdc, wbtc = erc20("WETH"), erc20("USDC"), erc20("WBTC")
    weth.approve(dex.v2_router, 10**18, sender=alice)
    dex.v2_router.swapExactTokensForTokens(
        10**18, 0, [weth.address, usdc.address], alice, DEADLINE, sender=alice
    )
    wbtc.approve(dex.swap_router, 10**7, sender=alice)
    dex.swap_router.exactInputSingle((wbtc, weth, 3000, alice, DEADLINE, 10**7, 0, 0), sender=alice)

    block = chain.blocks.head.number
    second = pools.at(block)
    assert (pools.full_reads, pools.incremental_reads) == (1, 1)
    expected = full()
    assert second.snapshot == expected and second.snapshot.block_number == block
    assert second.snapshot != first.snapshot  # the swaps moved pools
    assert pools.at(block) is second  # same block: no read at all


def test_added_liquidity_makes_the_next_read_a_full_one(
    seeded_market, chain, alice, dex, erc20, accounts
):
    pools, full = _reader(chain, seeded_market)
    pools.at(chain.blocks.head.number)
    weth, usdc = erc20("WETH"), erc20("USDC")
    pool = seeded_market.pool("WETH", "USDC", "uniswap-v3", 3000)
    token0, token1 = sorted((weth, usdc), key=lambda t: int(t.address, 16))
    for token in (token0, token1):
        token.approve(dex.positions, 2**255, sender=alice)
    slot0 = chain.provider.web3.eth.call({"to": pool.address, "data": SLOT0})
    tick = int.from_bytes(slot0[32:64], "big", signed=True)
    lower, upper = (tick // 60 - 10) * 60, (tick // 60 + 10) * 60
    dex.positions.mint(
        (token0, token1, 3000, lower, upper, 10**9, 10**18, 0, 0, alice, DEADLINE),
        sender=alice,
    )

    latest = pools.at(chain.blocks.head.number)
    assert pools.full_reads == 2  # a Mint was logged: the tick books are read again
    assert latest.snapshot == full()
