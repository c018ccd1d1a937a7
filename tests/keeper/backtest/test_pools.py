"""Pool profiles price legs with the routing engine's exact math; snapshots become profiles."""

from __future__ import annotations

import pytest

from keeper.backtest.pools import (
    PoolProfile,
    _v3_book,
    leg_loss_usd,
    profiles_for,
    profiles_from_snapshot,
)
from keeper.routing.constants import MAX_TICK, MIN_TICK
from keeper.routing.snapshot import Snapshot
from keeper.routing.v2math import amount_out

WETH = "0x" + "c0" * 20
USDC = "0x" + "a0" * 20  # sorts before WETH: token0


def test_a_v2_leg_loses_the_constant_product_formula_by_hand() -> None:
    # $2M pool, $1M a side at $2,000: selling $10,000 of WETH (5 WETH)
    prof = PoolProfile("v2", 3000, 2_000_000.0, 0.0, 18)
    fee, impact = leg_loss_usd(prof, 2000.0, 10_000.0, sell=True)
    out = 10_000 * 0.997 * 1_000_000 / (1_000_000 + 10_000 * 0.997)  # USD out
    assert fee == pytest.approx(30.0)
    assert impact == pytest.approx(10_000 - out - 30.0, abs=1e-5)


def test_impact_grows_with_the_square_of_the_trade() -> None:
    prof = profiles_for(("WETH",))["WETH"]
    _, small = leg_loss_usd(prof, 2000.0, 100_000.0, sell=True)
    _, large = leg_loss_usd(prof, 2000.0, 1_000_000.0, sell=True)
    assert large / small == pytest.approx(100.0, rel=0.05)


def _snapshot(pools: list[dict]) -> Snapshot:
    return Snapshot.from_dict(
        {
            "tokens": [
                {"address": USDC, "symbol": "USDC", "decimals": 6},
                {"address": WETH, "symbol": "WETH", "decimals": 18},
            ],
            "pools": pools,
        }
    )


def test_a_v2_snapshot_pool_prices_exactly_as_the_snapshot() -> None:
    reserve_usdc, reserve_weth = 4_000_000 * 10**6, 2_000 * 10**18  # $2,000 a WETH
    snap = _snapshot(
        [{"kind": "v2", "address": "0x" + "11" * 20, "token0": USDC, "token1": WETH,
          "reserve0": str(reserve_usdc), "reserve1": str(reserve_weth)}]
    )  # fmt: skip
    prof = profiles_from_snapshot(snap)["WETH"]
    assert prof.kind == "v2" and prof.depth_usd == pytest.approx(8_000_000.0)
    fee, impact = leg_loss_usd(prof, 2000.0, 20_000.0, sell=True)
    out = amount_out(10 * 10**18, reserve_weth, reserve_usdc) / 10**6
    assert fee + impact == pytest.approx(20_000.0 - out, abs=1e-5)


def test_a_v3_snapshot_pool_keeps_its_active_liquidity() -> None:
    original = PoolProfile("v3", 500, 30_000_000.0, 0.25, 18)
    book = _v3_book(original, 2000.0)  # WETH as token0 in the book's orientation
    snap = Snapshot.from_dict(
        {
            "tokens": [
                {"address": "0x" + "01" * 20, "symbol": "WETH", "decimals": 18},
                {"address": "0x" + "f0" * 20, "symbol": "USDC", "decimals": 6},
            ],
            "pools": [
                {
                    "kind": "v3", "address": "0x" + "22" * 20, "token0": "0x" + "01" * 20,
                    "token1": "0x" + "f0" * 20, "fee": 500, "tick_spacing": 10,
                    "sqrt_price_x96": str(book.sqrt_price_x96), "tick": book.tick,
                    "liquidity": str(book.liquidity),
                    "ticks": [
                        {"index": book.ticks[0], "liquidity_net": str(book.liquidity)},
                        {"index": book.ticks[1], "liquidity_net": str(-book.liquidity)},
                    ],
                    "tick_window": [MIN_TICK + 2, MAX_TICK - 2],
                }
            ],
        }
    )  # fmt: skip
    prof = profiles_from_snapshot(snap)["WETH"]
    assert prof.kind == "v3" and prof.depth_usd == pytest.approx(30_000_000.0, rel=2e-3)
