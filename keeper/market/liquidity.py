"""Pure pool math for seeding: initial prices, V3 tick ranges and position amounts.

Floats are precise enough here: these numbers only choose how much liquidity to add; the pools
themselves do the exact integer math. Prices are "raw": base units of token1 per base unit of
token0, as Uniswap stores them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

MIN_TICK = -887272
MAX_TICK = 887272
_LOG_TICK = math.log(1.0001)


class Position(NamedTuple):
    """A V3 position to mint: ticks and the token amounts it needs (base units)."""

    tick_lower: int
    tick_upper: int
    amount0: int
    amount1: int


def raw_price(usd0: float, decimals0: int, usd1: float, decimals1: int) -> float:
    """Base units of token1 per base unit of token0 at the given USD prices."""
    return (usd0 / usd1) * 10.0 ** (decimals1 - decimals0)


def sqrt_price_x96(price: float) -> int:
    """Q64.96 square-root price Uniswap V3 is initialised with."""
    return int(math.sqrt(price) * 2**96)


def price_tick(price: float) -> int:
    """The tick whose price is at or just below ``price``."""
    return math.floor(math.log(price) / _LOG_TICK)


def band_ticks(price: float, half_width: float | None, spacing: int) -> tuple[int, int]:
    """Ticks of a range ``±half_width`` around ``price`` (None = full range), on the spacing."""
    if half_width is None:
        return (math.ceil(MIN_TICK / spacing) * spacing, math.floor(MAX_TICK / spacing) * spacing)
    lower = math.floor(price_tick(price * (1 - half_width)) / spacing) * spacing
    upper = math.ceil(price_tick(price * (1 + half_width)) / spacing) * spacing
    if upper <= lower:
        upper = lower + spacing
    return lower, upper


def position(
    price: float,
    tick_lower: int,
    tick_upper: int,
    value_usd: float,
    unit_usd0: float,
    unit_usd1: float,
) -> Position:
    """The amounts a position over ``[tick_lower, tick_upper)`` worth ``value_usd`` needs.

    ``unit_usd0``/``unit_usd1`` are the USD values of one base unit of each token.
    """
    sp = math.sqrt(price)
    sa = 1.0001 ** (tick_lower / 2)
    sb = 1.0001 ** (tick_upper / 2)
    if sp <= sa:
        per_l0, per_l1 = 1 / sa - 1 / sb, 0.0
    elif sp >= sb:
        per_l0, per_l1 = 0.0, sb - sa
    else:
        per_l0, per_l1 = 1 / sp - 1 / sb, sp - sa
    liquidity = value_usd / (per_l0 * unit_usd0 + per_l1 * unit_usd1)
    return Position(
        tick_lower,
        tick_upper,
        math.ceil(per_l0 * liquidity),
        math.ceil(per_l1 * liquidity),
    )


def v2_amounts(value_usd: float, unit_usd_a: float, unit_usd_b: float) -> tuple[int, int]:
    """Base units of each token for a V2 pair worth ``value_usd`` (half on each side)."""
    return round(value_usd / 2 / unit_usd_a), round(value_usd / 2 / unit_usd_b)
