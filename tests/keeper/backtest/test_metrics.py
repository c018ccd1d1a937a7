"""Metrics and forecasts on series whose answers are known by hand (keeper.backtest.metrics;
the dashboard's risk panel reads the same functions)."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.backtest.metrics import (
    bar_returns,
    compute,
    correlation_shift,
    drawdowns,
    ewma_volatility,
)


def test_max_drawdown_is_the_largest_fall_from_a_peak():
    assert drawdowns(np.array([100.0, 120, 60, 90, 130])).max() == pytest.approx(0.5)
    assert compute(np.array([1.0, 2, 3]), 1.0, 365).max_drawdown == 0.0


def test_var_and_cvar_of_twenty_days_with_one_ten_percent_loss():
    values = np.cumprod(np.array([100.0] + [1.01] * 19 + [0.90]))
    m = compute(values, 20 / 365, 365)
    assert 0 < m.var99 <= 0.10 and m.cvar99 == pytest.approx(0.10)


def test_ewma_volatility_of_a_constant_return_is_that_return_annualised():
    assert ewma_volatility(np.full(400, 0.01), 365) == pytest.approx(0.01 * np.sqrt(365))
    assert ewma_volatility(np.zeros(0), 365) == 0.0


def test_ewma_volatility_weighs_the_latest_returns_most():
    calm_then_wild = np.concatenate([np.full(200, 0.001), np.full(20, 0.05)])
    wild_then_calm = calm_then_wild[::-1]
    assert ewma_volatility(calm_then_wild, 365) > 5 * ewma_volatility(wild_then_calm, 365)


def test_a_correlation_that_flips_is_flagged():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    together = np.column_stack([x, x + 0.1 * rng.normal(size=200)])
    flipped = together.copy()
    flipped[-30:, 1] = -flipped[-30:, 0]
    assert correlation_shift(together) < 0.1
    assert correlation_shift(flipped) > 1.0
    assert correlation_shift(together[:20]) is None  # too few bars to say
    assert correlation_shift(together[:, :1]) is None  # one asset has no pair


def test_bar_returns_are_simple_returns_per_column():
    r = bar_returns(np.array([[100.0, 1.0], [110.0, 1.0], [99.0, 2.0]]))
    assert r == pytest.approx(np.array([[0.1, 0.0], [-0.1, 1.0]]))
