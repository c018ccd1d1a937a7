"""The dashboard's risk panel is the backtester's metrics (keeper.backtest.metrics) of the
holding's value series: one implementation, the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.backtest import metrics
from keeper.dashboard.risk import PERIODS, risk_metrics


def walk(days: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, [0.04, 0.002], size=(days, 2))
    return np.array([3_000.0, 1.0]) * np.exp(np.cumsum(steps, axis=0))


def test_the_risk_panel_is_the_backtesters_metrics_on_the_same_series():
    closes = walk(90)
    holdings = np.array([2.0, 5_000.0])
    panel = risk_metrics(closes, holdings)
    values = closes @ holdings
    ref = metrics.compute(values, years=(len(values) - 1) / 365, periods_per_year=PERIODS)
    assert panel.days == 90 and panel.level == 0.95
    assert panel.volatility == pytest.approx(ref.volatility, rel=1e-12)
    assert panel.var == pytest.approx(ref.var95, rel=1e-12)
    assert panel.cvar == pytest.approx(ref.cvar95, rel=1e-12)
    assert panel.max_drawdown == pytest.approx(ref.max_drawdown, rel=1e-12)
    assert panel.sharpe == pytest.approx(ref.sharpe, rel=1e-12)
    returns = metrics.bar_returns(values)
    assert panel.ewma_volatility == pytest.approx(metrics.ewma_volatility(returns, PERIODS))
    assert panel.correlation_shift == pytest.approx(
        metrics.correlation_shift(metrics.bar_returns(closes))
    )


def test_metrics_of_a_holding_need_enough_days():
    short = risk_metrics(np.ones((3, 1)), np.ones(1))
    assert short.volatility is None and "3 days" in short.note
    closes = np.column_stack([np.linspace(100, 200, 60), np.ones(60)])
    m = risk_metrics(closes, np.array([1.0, 100.0]))
    assert m.days == 60 and m.max_drawdown == 0.0 and m.sharpe > 0


def test_a_flat_holding_has_no_sharpe_rather_than_a_made_up_one():
    m = risk_metrics(np.ones((10, 2)), np.array([1.0, 1.0]))
    assert m.volatility == 0.0 and m.sharpe is None
