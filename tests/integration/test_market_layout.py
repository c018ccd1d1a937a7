"""The forked market is laid out like mainnet: canonical addresses, pools where the factories
say, several pools per pair, V3 liquidity over several tick ranges, prices at the reference."""

from __future__ import annotations

import math

import pytest

from keeper.market import liquidity
from keeper.market.addresses import CANONICAL
from keeper.market.spec import DEFAULT_SPEC

pytestmark = pytest.mark.fork


def test_periphery_is_wired_to_the_canonical_factories_and_weth(market, dex):
    weth = CANONICAL["WETH9"].address
    assert dex.v2_router.factory() == CANONICAL["UniswapV2Factory"].address
    assert dex.v2_router.WETH() == weth
    for periphery in (dex.swap_router, dex.quoter, dex.positions):
        assert periphery.factory() == CANONICAL["UniswapV3Factory"].address
        assert periphery.WETH9() == weth
    assert market.contracts["UniswapV2Router02"] == "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"


@pytest.mark.parametrize(
    ("symbol", "decimals"), [("WETH", 18), ("USDC", 6), ("USDT", 6), ("WBTC", 8), ("DAI", 18)]
)
def test_tokens_sit_at_their_mainnet_addresses(market, erc20, symbol, decimals):
    token = market.token(symbol)
    assert token.canonical
    contract = erc20(symbol)
    assert contract.symbol() == symbol
    assert contract.decimals() == decimals


def test_every_pool_is_where_its_factory_says(market, dex, chain):
    # On a real mainnet fork the local-only test token (and its pool) does not exist.
    pools = [p for p in market.pools if len(chain.provider.get_code(p.address)) > 0]
    assert len(pools) >= len([p for p in market.pools if p.dex == "uniswap-v3"])
    for pool in pools:
        if pool.dex == "uniswap-v2":
            assert dex.v2_factory.getPair(pool.token0, pool.token1) == pool.address
        else:
            assert dex.v3_factory.getPool(pool.token0, pool.token1, pool.fee) == pool.address


def test_mainnet_pool_addresses_are_reproduced(market):
    # Well-known mainnet addresses: USDC/WETH 0.05% V3 pool and the USDC/WETH V2 pair.
    assert market.pool("WETH", "USDC", "uniswap-v3", 500).address == (
        "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"
    )
    assert market.pool("WETH", "USDC", "uniswap-v2").address == (
        "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"
    )


def test_popular_pairs_have_several_pools_at_different_fees(market):
    for a, b in (("WETH", "USDC"), ("WBTC", "WETH"), ("USDC", "USDT"), ("DAI", "USDC")):
        pools = market.pools_between(a, b)
        assert len(pools) >= 3
        assert len({(p.dex, p.fee) for p in pools}) == len(pools)


def test_spot_prices_match_the_reference_prices(seeded_market, v2_pair, v3_pool):
    for pool in seeded_market.pools:
        t0, t1 = seeded_market.token(pool.token0), seeded_market.token(pool.token1)
        reference = liquidity.raw_price(t0.usd_price, t0.decimals, t1.usd_price, t1.decimals)
        if pool.dex == "uniswap-v2":
            r0, r1, _ = v2_pair(pool.address).getReserves()
            price = r1 / r0
        else:
            price = (v3_pool(pool.address).slot0()[0] / 2**96) ** 2
        # The fee-on-transfer token loses its fee on the way into the pair.
        tolerance = 0.011 if "fee-on-transfer" in (t0.kind, t1.kind) else 1e-6
        assert math.isclose(price, reference, rel_tol=tolerance), pool


def test_v3_liquidity_is_spread_over_several_tick_ranges(seeded_market, v3_pool):
    specs = [p for p in DEFAULT_SPEC.pools if p.dex == "uniswap-v3"]
    pools = [p for p in seeded_market.pools if p.dex == "uniswap-v3"]
    for spec, pool in zip(specs, pools, strict=True):
        contract = v3_pool(pool.address)
        t0, t1 = seeded_market.token(pool.token0), seeded_market.token(pool.token1)
        price = liquidity.raw_price(t0.usd_price, t0.decimals, t1.usd_price, t1.decimals)
        ranges = {
            liquidity.band_ticks(price, band.half_width, pool.tick_spacing or 1)
            for band in spec.bands
        }
        assert len(ranges) >= 3
        for lower, upper in ranges:
            assert contract.ticks(lower).initialized and contract.ticks(upper).initialized
        assert contract.liquidity() > 0


def test_v3_pools_report_their_fee_tier_and_tick_spacing(market, v3_pool):
    for pool in (p for p in market.pools if p.dex == "uniswap-v3"):
        contract = v3_pool(pool.address)
        assert contract.fee() == pool.fee
        assert contract.tickSpacing() == pool.tick_spacing
