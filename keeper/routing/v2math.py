"""Uniswap V2 constant-product math in integers (``UniswapV2Library.getAmountOut``)."""

from __future__ import annotations

from keeper.routing.constants import FEE_DENOMINATOR


def amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee: int = 3000) -> int:
    """Output of a V2 swap. With fee 3000 this equals Uniswap's ``997/1000`` formula exactly."""
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    if reserve_in <= 0 or reserve_out <= 0:
        return 0
    with_fee = amount_in * (FEE_DENOMINATOR - fee)
    return with_fee * reserve_out // (reserve_in * FEE_DENOMINATOR + with_fee)
