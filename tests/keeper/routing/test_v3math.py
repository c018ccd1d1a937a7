"""The integer V3 math against the contracts' documented values and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.routing import v2math
from keeper.routing.constants import MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, Q96
from keeper.routing.v3math import (
    TickBook,
    compute_swap_step,
    sqrt_ratio_at_tick,
    swap_exact_input,
    tick_at_sqrt_ratio,
)


def test_sqrt_ratio_matches_the_tick_math_constants():
    assert sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    assert sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO
    assert sqrt_ratio_at_tick(0) == Q96
    # values from v3-core's TickMath tests
    assert sqrt_ratio_at_tick(50) == 79426470787362580746886972461
    assert sqrt_ratio_at_tick(-50) == 79030349367926598376800521322


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=MIN_TICK, max_value=MAX_TICK - 1))
def test_tick_at_sqrt_ratio_inverts_sqrt_ratio_at_tick(tick):
    price = sqrt_ratio_at_tick(tick)
    assert tick_at_sqrt_ratio(price) == tick
    assert tick_at_sqrt_ratio(sqrt_ratio_at_tick(tick + 1) - 1) == tick


def test_swap_step_exact_input_matches_the_contract_example():
    # v3-core SwapMath test: "exact amount in that gets capped at price target in one for zero"
    price = Q96
    target = 79623317895830914510487008059  # encodePriceSqrt(101, 100)
    sqrt_next, amount_in, amount_out, fee = compute_swap_step(
        price, target, 2 * 10**18, 10**18, 600
    )
    assert (amount_in, amount_out, fee) == (9975124224178055, 9925619580021728, 5988667735148)
    assert sqrt_next == target


def test_v2_amount_out_is_the_uniswap_formula():
    assert v2math.amount_out(10**18, 5 * 10**18, 10 * 10**18) == (
        10**18 * 997 * 10 * 10**18 // (5 * 10**18 * 1000 + 10**18 * 997)
    )
    with pytest.raises(ValueError):
        v2math.amount_out(0, 1, 1)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=10**21), st.booleans())
def test_a_swap_never_pays_more_than_the_liquidity_between_ticks(amount, zero_for_one):
    book = TickBook(
        address="0x" + "00" * 20,
        fee=3000,
        tick_spacing=60,
        sqrt_price_x96=Q96,
        tick=0,
        liquidity=10**20,
        ticks=(-600, 600),
        liquidity_net=(10**20, -(10**20)),
        window=(MIN_TICK, MAX_TICK),
    )
    result = swap_exact_input(book, zero_for_one, amount)
    assert result.amount_in <= amount
    assert result.amount_out <= amount  # price ~1: the output is at most the input
    if result.amount_in < amount:
        assert result.liquidity == 0 and result.ticks_crossed == 1
