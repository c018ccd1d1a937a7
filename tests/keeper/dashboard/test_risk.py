"""Risk metrics on series whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.dashboard.risk import (
    correlation_shift,
    ewma_volatility,
    max_drawdown,
    risk_metrics,
    var_cvar,
)


def test_max_drawdown_is_the_largest_fall_from_a_peak():
    assert max_drawdown(np.array([100, 120, 60, 90, 130])) == pytest.approx(0.5)
    assert max_drawdown(np.array([1, 2, 3])) == 0.0


def test_var_and_cvar_of_twenty_days_with_one_ten_percent_loss_at_97_percent():
    returns = np.log(np.array([1.01] * 19 + [0.90]))
    var, cvar = var_cvar(returns, level=0.97)
    assert 0 < var <= 0.10 and cvar == pytest.approx(0.10)


def test_ewma_volatility_of_a_constant_return_is_that_return_annualised():
    assert ewma_volatility(np.full(400, 0.01)) == pytest.approx(0.01 * np.sqrt(365))


def test_a_correlation_that_flips_is_flagged():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    together = np.column_stack([x, x + 0.1 * rng.normal(size=200)])
    flipped = together.copy()
    flipped[-30:, 1] = -flipped[-30:, 0]
    assert correlation_shift(together) < 0.1
    assert correlation_shift(flipped) > 1.0


def test_metrics_of_a_holding_need_enough_days():
    short = risk_metrics(np.ones((3, 1)), np.ones(1))
    assert short.volatility is None and "3 days" in short.note
    closes = np.column_stack([np.linspace(100, 200, 60), np.ones(60)])
    m = risk_metrics(closes, np.array([1.0, 100.0]))
    assert m.days == 60 and m.max_drawdown == 0.0 and m.sharpe > 0
