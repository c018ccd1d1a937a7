"""Swaps through the real Uniswap routers on the forked market, checked against the pools' own
quotes (Router02.getAmountsOut, QuoterV2) and the constant-product formula."""

from __future__ import annotations

import pytest
from eth_utils import to_bytes

from keeper.market.funding import set_token_balance
from tests.integration.conftest import DEADLINE

pytestmark = pytest.mark.fork


def _v2_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


def _reserves(pair, token_in: str) -> tuple[int, int]:
    r0, r1, _ = pair.getReserves()
    return (r0, r1) if pair.token0() == token_in else (r1, r0)


def test_v2_router_swap_pays_exactly_what_get_amounts_out_quotes(
    alice, market, dex, erc20, v2_pair
):
    weth, usdc = erc20("WETH"), erc20("USDC")
    amount_in = 10**18
    path = [weth.address, usdc.address]
    quoted = dex.v2_router.getAmountsOut(amount_in, path)[-1]
    pair = v2_pair(market.pool("WETH", "USDC", "uniswap-v2").address)
    assert quoted == _v2_out(amount_in, *_reserves(pair, weth.address))

    weth.approve(dex.v2_router, amount_in, sender=alice)
    before = usdc.balanceOf(alice)
    dex.v2_router.swapExactTokensForTokens(amount_in, quoted, path, alice, DEADLINE, sender=alice)

    assert usdc.balanceOf(alice) - before == quoted


def test_v2_router_swaps_the_usdt_like_token_that_returns_no_bool(alice, bob, dex, erc20):
    usdt, weth = erc20("USDT"), erc20("WETH")
    amount_in = 5_000 * 10**6
    path = [usdt.address, weth.address]
    quoted = dex.v2_router.getAmountsOut(amount_in, path)[-1]

    usdt.approve(dex.v2_router, amount_in, sender=bob)
    before = weth.balanceOf(bob)
    dex.v2_router.swapExactTokensForTokens(amount_in, quoted, path, bob, DEADLINE, sender=bob)

    assert weth.balanceOf(bob) - before == quoted


def test_v3_swap_router_pays_exactly_what_quoter_v2_quotes(alice, market, dex, erc20):
    wbtc, weth = erc20("WBTC"), erc20("WETH")
    amount_in = 10**8 // 2  # 0.5 WBTC
    quote = dex.quoter.quoteExactInputSingle.call((wbtc, weth, amount_in, 3000, 0))
    amount_out = quote[0]

    wbtc.approve(dex.swap_router, amount_in, sender=alice)
    before = weth.balanceOf(alice)
    params = (wbtc, weth, 3000, alice, DEADLINE, amount_in, amount_out, 0)
    dex.swap_router.exactInputSingle(params, sender=alice)

    assert weth.balanceOf(alice) - before == amount_out


def test_a_large_v3_swap_crosses_liquidity_ranges_exactly_as_quoted(
    carol, market, dex, erc20, chain
):
    # 300 WETH (~$900k) through the shallow 1% pool ($2M): it leaves the ±2% range.
    weth, usdc = erc20("WETH"), erc20("USDC")
    amount_in = 300 * 10**18
    set_token_balance(chain.provider.web3, weth.address, carol.address, amount_in)
    amount_out, _, ticks_crossed, _ = dex.quoter.quoteExactInputSingle.call(
        (weth, usdc, amount_in, 10000, 0)
    )
    assert ticks_crossed >= 1

    weth.approve(dex.swap_router, amount_in, sender=carol)
    before = usdc.balanceOf(carol)
    params = (weth, usdc, 10000, carol, DEADLINE, amount_in, amount_out, 0)
    dex.swap_router.exactInputSingle(params, sender=carol)

    assert usdc.balanceOf(carol) - before == amount_out


def test_v3_multi_hop_swap_matches_the_quoter(alice, dex, erc20):
    wbtc, weth, usdc = erc20("WBTC"), erc20("WETH"), erc20("USDC")
    path = (
        to_bytes(hexstr=wbtc.address)
        + (3000).to_bytes(3, "big")
        + to_bytes(hexstr=weth.address)
        + (500).to_bytes(3, "big")
        + to_bytes(hexstr=usdc.address)
    )
    amount_in = 10**8 // 10
    amount_out = dex.quoter.quoteExactInput.call(path, amount_in)[0]

    wbtc.approve(dex.swap_router, amount_in, sender=alice)
    before = usdc.balanceOf(alice)
    dex.swap_router.exactInput((path, alice, DEADLINE, amount_in, amount_out), sender=alice)

    assert usdc.balanceOf(alice) - before == amount_out


def test_prices_are_realistic_through_either_router(seeded_market, dex, erc20):
    market = seeded_market
    weth, usdc, wbtc = erc20("WETH"), erc20("USDC"), erc20("WBTC")
    eth_usd_v2 = dex.v2_router.getAmountsOut(10**18, [weth, usdc])[-1] / 1e6
    eth_usd_v3 = dex.quoter.quoteExactInputSingle.call((weth, usdc, 10**18, 500, 0))[0] / 1e6
    btc_eth_v3 = dex.quoter.quoteExactInputSingle.call((wbtc, weth, 10**8, 3000, 0))[0] / 1e18
    reference_eth = market.token("WETH").usd_price
    reference_btc_eth = market.token("WBTC").usd_price / reference_eth
    # A fee and a little price impact below the reference, never above it.
    assert 0.99 * reference_eth < eth_usd_v2 < reference_eth
    assert 0.99 * reference_eth < eth_usd_v3 < reference_eth
    assert 0.99 * reference_btc_eth < btc_eth_v3 < reference_btc_eth
    # The deeper, cheaper 0.05% V3 pool beats V2 for a 1 ETH trade.
    assert eth_usd_v3 > eth_usd_v2


def test_fee_on_transfer_token_swaps_with_the_supporting_router_function(
    seeded_market, alice, dex, erc20, v2_pair
):
    fot, weth = erc20("FOT"), erc20("WETH")
    amount = 1_000 * 10**18
    fot.mint(alice, amount, sender=alice)
    pair = v2_pair(seeded_market.pool("FOT", "WETH", "uniswap-v2").address)
    reserve_in, reserve_out = _reserves(pair, fot.address)
    arriving = amount - amount * fot.feeBps() // 10_000
    expected = _v2_out(arriving, reserve_in, reserve_out)

    fot.approve(dex.v2_router, amount, sender=alice)
    before = weth.balanceOf(alice)
    dex.v2_router.swapExactTokensForTokensSupportingFeeOnTransferTokens(
        amount, 0, [fot, weth], alice, DEADLINE, sender=alice
    )

    assert weth.balanceOf(alice) - before == expected
