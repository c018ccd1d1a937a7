"""Uniswap V3 swap math, ported exactly to Python integers.

``TickMath``, ``SqrtPriceMath``, ``SwapMath`` and the pool's swap loop (including
``nextInitializedTickWithinOneWord``, whose word boundaries split the swap into steps and
therefore change rounding) follow v3-core 1.0 line by line, so :func:`swap_exact_input`
returns what ``UniswapV3Pool.swap`` pays, to the wei.
"""

from __future__ import annotations

import bisect
import functools
import math
from dataclasses import dataclass

from keeper.routing.constants import (
    FEE_DENOMINATOR,
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    Q96,
)
from keeper.routing.exceptions import QuoteError

_U256 = 1 << 256
_U160 = 1 << 160

_TICK_FACTORS = (
    0xFFF97272373D413259A46990580E213A,
    0xFFF2E50F5F656932EF12357CF3C7FDCC,
    0xFFE5CACA7E10E4E61C3624EAA0941CD0,
    0xFFCB9843D60F6159C9DB58835C926644,
    0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861,
    0xFE5DEE046A99A2A811C461F1969C3053,
    0xFCBE86C7900A88AEDCFFC83B479AA3A4,
    0xF987A7253AC413176F2B074CF7815E54,
    0xF3392B0822B70005940C7A398E4B70F3,
    0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825,
    0xA9F746462D870FDF8A65DC1F90E061E5,
    0x70D869A156D2A1B890BB3DF62BAF32F7,
    0x31BE135F97D08FD981231505542FCFA6,
    0x9AA508B5B7A84E1C677DE54F3E99BC9,
    0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98,
    0x48A170391F7DC42444E8FA2,
)


def _div_up(a: int, b: int) -> int:
    return -(-a // b)


@functools.lru_cache(maxsize=1 << 16)
def sqrt_ratio_at_tick(tick: int) -> int:
    """``TickMath.getSqrtRatioAtTick`` (memoised: a pure function called per swap step)."""
    abs_tick = abs(tick)
    if abs_tick > MAX_TICK:
        raise ValueError(f"tick {tick} out of range")
    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if abs_tick & 1 else 1 << 128
    for bit, factor in enumerate(_TICK_FACTORS, start=1):
        if abs_tick & (1 << bit):
            ratio = (ratio * factor) >> 128
    if tick > 0:
        ratio = (_U256 - 1) // ratio
    return (ratio >> 32) + (0 if ratio % (1 << 32) == 0 else 1)


def tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """``TickMath.getTickAtSqrtRatio``: the greatest tick whose sqrt ratio is <= the price."""
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise ValueError("sqrt price out of range")
    guess = math.floor(math.log((sqrt_price_x96 / Q96) ** 2, 1.0001))
    tick = max(MIN_TICK, min(MAX_TICK, guess))
    while tick > MIN_TICK and sqrt_ratio_at_tick(tick) > sqrt_price_x96:
        tick -= 1
    while tick < MAX_TICK and sqrt_ratio_at_tick(tick + 1) <= sqrt_price_x96:
        tick += 1
    return tick


def amount0_delta(a: int, b: int, liquidity: int, round_up: bool) -> int:
    """``SqrtPriceMath.getAmount0Delta``."""
    if a > b:
        a, b = b, a
    numerator1 = liquidity << 96
    numerator2 = b - a
    if round_up:
        return _div_up(_div_up(numerator1 * numerator2, b), a)
    return (numerator1 * numerator2 // b) // a


def amount1_delta(a: int, b: int, liquidity: int, round_up: bool) -> int:
    """``SqrtPriceMath.getAmount1Delta``."""
    if a > b:
        a, b = b, a
    if round_up:
        return _div_up(liquidity * (b - a), Q96)
    return liquidity * (b - a) // Q96


def _next_from_amount0_up(sqrt_p: int, liquidity: int, amount: int) -> int:
    if amount == 0:
        return sqrt_p
    numerator1 = liquidity << 96
    product = amount * sqrt_p
    if product < _U256:
        denominator = numerator1 + product
        if denominator < _U256:
            return _div_up(numerator1 * sqrt_p, denominator)
    return _div_up(numerator1, numerator1 // sqrt_p + amount)


def _next_from_amount1_down(sqrt_p: int, liquidity: int, amount: int) -> int:
    # The contract's two branches (shift vs mulDiv) agree exactly in unbounded integers.
    quotient = (amount << 96) // liquidity
    result = sqrt_p + quotient
    if result >= _U160:
        raise OverflowError("sqrt price overflows uint160")
    return result


def compute_swap_step(
    sqrt_current: int, sqrt_target: int, liquidity: int, remaining: int, fee: int
) -> tuple[int, int, int, int]:
    """``SwapMath.computeSwapStep`` for exact input (``remaining`` >= 0)."""
    zero_for_one = sqrt_current >= sqrt_target
    less_fee = remaining * (FEE_DENOMINATOR - fee) // FEE_DENOMINATOR
    if zero_for_one:
        amount_in = amount0_delta(sqrt_target, sqrt_current, liquidity, True)
    else:
        amount_in = amount1_delta(sqrt_current, sqrt_target, liquidity, True)
    if less_fee >= amount_in:
        sqrt_next = sqrt_target
    else:
        if sqrt_current == 0 or liquidity == 0:
            raise ArithmeticError("getNextSqrtPriceFromInput requires price and liquidity")
        sqrt_next = (
            _next_from_amount0_up(sqrt_current, liquidity, less_fee)
            if zero_for_one
            else _next_from_amount1_down(sqrt_current, liquidity, less_fee)
        )
    reached = sqrt_next == sqrt_target
    if zero_for_one:
        if not reached:
            amount_in = amount0_delta(sqrt_next, sqrt_current, liquidity, True)
        amount_out = amount1_delta(sqrt_next, sqrt_current, liquidity, False)
    else:
        if not reached:
            amount_in = amount1_delta(sqrt_current, sqrt_next, liquidity, True)
        amount_out = amount0_delta(sqrt_current, sqrt_next, liquidity, False)
    if not reached:
        fee_amount = remaining - amount_in
    else:
        fee_amount = _div_up(amount_in * fee, FEE_DENOMINATOR - fee)
    return sqrt_next, amount_in, amount_out, fee_amount


@dataclass(frozen=True)
class TickBook:
    """A V3 pool's swap-relevant state: initialised ticks (sorted) and their liquidityNet."""

    address: str
    fee: int
    tick_spacing: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks: tuple[int, ...]
    liquidity_net: tuple[int, ...]
    window: tuple[int, int]

    @functools.cached_property
    def index(self) -> dict[int, int]:
        """Position of each initialised tick in ``ticks`` (built once per book)."""
        return {t: i for i, t in enumerate(self.ticks)}

    def next_initialized(self, tick: int, lte: bool) -> tuple[int, bool]:
        """``TickBitmap.nextInitializedTickWithinOneWord`` over the known ticks."""
        spacing = self.tick_spacing
        compressed = tick // spacing  # Python floors toward -inf, as the contract does
        if lte:
            word_start = (compressed >> 8) << 8
            self._check_word(word_start)
            i = bisect.bisect_right(self.ticks, compressed * spacing) - 1
            if i >= 0 and self.ticks[i] >= word_start * spacing:
                return self.ticks[i], True
            return word_start * spacing, False
        start = compressed + 1
        word_end = ((start >> 8) << 8) + 255
        self._check_word(word_end - 255)
        i = bisect.bisect_left(self.ticks, start * spacing)
        if i < len(self.ticks) and self.ticks[i] <= word_end * spacing:
            return self.ticks[i], True
        return word_end * spacing, False

    def _check_word(self, word_start: int) -> None:
        # The whole bitmap word (clipped to the valid tick range) must have been scanned.
        lo, hi = self.window
        first = max(word_start * self.tick_spacing, MIN_TICK)
        last = min((word_start + 255) * self.tick_spacing, MAX_TICK)
        if first < lo or last > hi:
            raise QuoteError(self.address, f"swap leaves the snapshot's tick window [{lo}, {hi}]")


@dataclass(frozen=True)
class SwapResult:
    amount_in: int  # input actually consumed (less than asked only if the price limit is hit)
    amount_out: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    ticks_crossed: int


def swap_exact_input(book: TickBook, zero_for_one: bool, amount_in: int) -> SwapResult:
    """``UniswapV3Pool.swap`` with an exact input and the router's default price limit."""
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    remaining = amount_in
    out = 0
    sqrt_p, tick, liquidity = book.sqrt_price_x96, book.tick, book.liquidity
    crossed = 0
    index = book.index
    while remaining != 0 and sqrt_p != limit:
        start = sqrt_p
        tick_next, initialized = book.next_initialized(tick, zero_for_one)
        tick_next = max(MIN_TICK, min(MAX_TICK, tick_next))
        sqrt_next = sqrt_ratio_at_tick(tick_next)
        beyond = sqrt_next < limit if zero_for_one else sqrt_next > limit
        target = limit if beyond else sqrt_next
        sqrt_p, step_in, step_out, fee_amount = compute_swap_step(
            sqrt_p, target, liquidity, remaining, book.fee
        )
        remaining -= step_in + fee_amount
        out += step_out
        if sqrt_p == sqrt_next:
            if initialized:
                net = book.liquidity_net[index[tick_next]]
                liquidity += -net if zero_for_one else net
                if liquidity < 0:
                    raise QuoteError(book.address, "liquidity underflow (inconsistent ticks)")
                crossed += 1
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_p != start:
            tick = tick_at_sqrt_ratio(sqrt_p)
    return SwapResult(amount_in - remaining, out, sqrt_p, tick, liquidity, crossed)
