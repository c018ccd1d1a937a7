"""What the models estimate from prices: Kelly's drift, the variance ratio's robust z."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.strategy.config import parse_strategy
from keeper.strategy.targets import model_targets
from keeper.strategy.triggers.regime import variance_ratio


def test_kelly_sizes_on_the_arithmetic_drift_not_the_log_drift() -> None:
    # WETH's log returns alternate +5 % / -5 %: zero log drift, so the arithmetic drift is
    # sigma^2 / 2 and quarter Kelly holds lam (sigma^2 / 2) / sigma^2 = 12.5 % of the
    # portfolio (a log-drift mu would hold nothing)
    cfg = parse_strategy(
        {
            "name": "k",
            "targets": {"WETH": 0.5, "USDC": 0.5},
            "band": 0.05,
            "frequency": "monthly",
            "model": {"kind": "kelly", "cash_asset": "USDC", "lookback_days": 60},
        }
    )
    r = np.tile([0.05, -0.05], 30)
    prices = np.column_stack([np.exp(np.concatenate([[0.0], np.cumsum(r)])), np.ones(61)])
    targets, note = model_targets(cfg, ("WETH", "USDC"), prices)
    assert note is None
    assert targets["WETH"] == pytest.approx(0.125, rel=1e-6)


def _stochastic_volatility(n: int, seed: int) -> np.ndarray:
    """Uncorrelated returns whose volatility clusters (log-vol AR(1), phi = 0.98), as crypto's."""
    rng = np.random.default_rng(seed)
    h = np.zeros(n)
    shocks = rng.normal(0.0, 0.25, n)
    for t in range(1, n):
        h[t] = 0.98 * h[t - 1] + shocks[t]
    return 0.02 * np.exp(h) * rng.standard_normal(n)


def test_variance_ratio_z_keeps_its_size_on_heteroskedastic_returns() -> None:
    # no autocorrelation at all, so a 5 % test should reject about 5 % of the series;
    # the homoskedastic z rejects far more often when volatility clusters
    z = np.array([variance_ratio(_stochastic_volatility(500, s), 2)[1] for s in range(300)])
    rejected = float(np.mean(np.abs(z) > 1.96))
    assert rejected < 0.09


def test_robust_z_equals_the_homoskedastic_one_on_constant_magnitude_returns() -> None:
    # |r_t - m| = 1 on every bar: the robust z* differs from the homoskedastic -sqrt(T) only by
    # the end effect of the lag sum (T - 1 products of T squared deviations)
    r = np.tile([1.0, -1.0], 200)
    vr, z = variance_ratio(r, 2)
    assert vr == pytest.approx(0.0, abs=1e-12)
    # delta_1 = T * (T - 1) / T^2 = (T - 1)/T; theta = delta_1; z = -sqrt(T) / sqrt(theta)
    t = 400
    assert z == pytest.approx(-np.sqrt(t) / np.sqrt((t - 1) / t), rel=1e-9)


def _eth_usdc(moves: np.ndarray) -> np.ndarray:
    eth = 2000.0 * np.exp(np.concatenate([[0.0], np.cumsum(moves)]))
    return np.column_stack([eth, np.ones_like(eth)])


def test_volatility_regime_is_read_against_the_assets_own_long_run_level() -> None:
    from datetime import UTC, datetime

    from keeper.strategy.constants import Frequency
    from keeper.strategy.controls import ControlState
    from keeper.strategy.costs import PoolCostModel
    from keeper.strategy.engine import MarketData, evaluate

    cfg = parse_strategy(
        {
            "name": "v",
            "targets": {"WETH": 0.5, "USDC": 0.5},
            "band": 0.05,
            "frequency": "monthly",
            "triggers": {"volatility": {"enabled": True}},
        }
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    costs = PoolCostModel(gas_price_gwei=1.0, eth_usd=2000.0)
    state = ControlState(last_rebalance=now)
    # a year at +-4 % a day (~76 % a year, "extreme" by the document's absolute levels) is
    # this asset's usual volatility: medium, the strategy's own band and bi-weekly checks
    steady = MarketData(("WETH", "USDC"), _eth_usdc(np.tile([0.04, -0.04], 183)))
    ev = evaluate(cfg, {"WETH": 1.0, "USDC": 1.0}, now, state, steady, costs)
    assert "(medium)" in ev.notes[0] and ev.band == pytest.approx(0.05)
    assert ev.frequency is Frequency.BIWEEKLY
    # the last month at twice its usual swings: extreme
    moves = np.concatenate([np.tile([0.04, -0.04], 168), np.tile([0.08, -0.08], 15)])
    stressed = MarketData(("WETH", "USDC"), _eth_usdc(moves))
    ev = evaluate(cfg, {"WETH": 1.0, "USDC": 1.0}, now, state, stressed, costs)
    assert "(extreme)" in ev.notes[0] and "x its 365-day level" in ev.notes[0]
