"""Price math and source combination (the chain reads are exercised in the fork test)."""

from __future__ import annotations

import pytest

from keeper.strategy.exceptions import PriceError
from keeper.strategy.live.portfolio import Portfolio
from keeper.strategy.live.prices import combine, mean_tick, tick_to_price
from keeper.strategy.proposals import TokenRef


def test_mean_tick_rounds_toward_negative_infinity_like_oracle_library():
    assert mean_tick(0, 1800 * 100, 1800) == 100
    assert mean_tick(0, -1800 * 100, 1800) == -100
    assert mean_tick(0, -1800 * 100 - 1, 1800) == -101  # Solidity: -100, then -1 for remainder
    assert mean_tick(1000, 1000 + 1799, 1800) == 0


def test_tick_to_price_with_decimals():
    # WETH (18) in USDC (6) at $2000 per WETH: raw price 2000e6/1e18 -> tick ~ -198080
    import math

    tick = math.log(2000e6 / 1e18, 1.0001)
    assert tick_to_price(tick, 18, 6) == pytest.approx(2000.0)
    assert tick_to_price(0, 6, 6) == 1.0


def test_the_twap_wins_when_the_others_agree():
    assert (
        combine("WETH", {"v3-twap": [2000.0], "v3-spot": [2010.0], "v2-spot": [1995.0]}, 0.02, 2)
        == 2000.0
    )


def test_a_manipulated_spot_against_the_twap_is_refused():
    with pytest.raises(PriceError, match=r"10\.00% away from the TWAP .* possible manipulation"):
        combine("WETH", {"v3-twap": [2000.0], "v2-spot": [2200.0]}, 0.02, 2)


def test_without_a_twap_two_agreeing_spots_are_needed():
    assert combine("X", {"v3-spot": [10.0], "v2-spot": [10.1, 30.0]}, 0.02, 2) == pytest.approx(
        10.05
    )
    with pytest.raises(PriceError, match="only 1 agreeing source"):
        combine("X", {"v2-spot": [10.0]}, 0.02, 2)
    with pytest.raises(PriceError, match="no source"):
        combine("X", {}, 0.02, 2)


def test_portfolio_weights_and_table():
    tokens = {
        "WETH": TokenRef("WETH", "0x" + "11" * 20, 18),
        "USDC": TokenRef("USDC", "0x" + "22" * 20, 6),
    }
    p = Portfolio(
        "0xabc", {"WETH": 3 * 10**18, "USDC": 4_000 * 10**6}, tokens, {"WETH": 2000.0, "USDC": 1.0}
    )
    assert p.value_usd == 10_000.0
    assert p.weights == {"WETH": 0.6, "USDC": 0.4}
    lines = p.table({"WETH": 0.5, "USDC": 0.5}, 0.05)
    assert "+10.00%  <- outside band" in lines[2] or "+10.00%  <- outside band" in lines[1]
    assert lines[-1] == "total value $10,000.00, band 5.0%"
