"""The Illinois bracket both root searches share."""

from __future__ import annotations

import math

from keeper.routing.bracket import IllinoisBracket


def _solve(f, low: float, high: float, steps: int) -> tuple[IllinoisBracket, int]:
    ends = IllinoisBracket(low, f(low), high, f(high))
    for step in range(1, steps + 1):
        x = ends.low + ends.fraction() * (ends.high - ends.low)
        fx = f(x)
        if fx == 0 or ends.high - ends.low < 1e-14:
            return ends, step
        ends.move(x, fx, low=fx < 0)
    return ends, steps


def test_the_bracket_always_holds_the_root_and_closes_on_it():
    ends, steps = _solve(lambda x: x * x - 2, 0.0, 2.0, 60)

    assert ends.low <= math.sqrt(2) <= ends.high
    assert ends.f_low <= 0 <= ends.f_high
    assert steps < 15


def test_a_stale_end_is_halved_so_a_convex_function_is_not_approached_from_one_side_only():
    # Plain regula falsi on x^10 - 0.5 over [0, 1] keeps the high end at 1 and creeps up from
    # below for hundreds of steps; the Illinois halving moves both ends.
    ends, steps = _solve(lambda x: x**10 - 0.5, 0.0, 1.0, 200)

    assert ends.high < 1.0
    assert abs(ends.low - 0.5**0.1) < 1e-9 or abs(ends.high - 0.5**0.1) < 1e-9
    assert steps < 40
