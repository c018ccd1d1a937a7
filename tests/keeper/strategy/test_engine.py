"""Whole evaluations: targets, regime adjustments, triggers and the cost gate together."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from keeper.strategy.config import parse_strategy
from keeper.strategy.constants import Frequency
from keeper.strategy.controls import ControlState
from keeper.strategy.costs import PoolCostModel
from keeper.strategy.engine import after_proposal, evaluate
from keeper.strategy.market_data import MarketData, YieldQuote
from keeper.strategy.targets import model_targets

NOW = datetime(2026, 6, 1, tzinfo=UTC)
COSTS = PoolCostModel(gas_price_gwei=10.0, eth_usd=3000.0, default_depth_usd=1e9)
BASE = {"name": "t", "preset": "custom", "band": "5%", "targets": {"WETH": 0.5, "USDC": 0.5}}
RECENT = ControlState(last_rebalance=datetime(2026, 5, 30, tzinfo=UTC))


def test_drift_past_the_band_rebalances_and_inside_does_not():
    cfg = parse_strategy(BASE)
    ev = evaluate(cfg, {"WETH": 600_000.0, "USDC": 400_000.0}, NOW, RECENT, MarketData(), COSTS)
    assert ev.decision.rebalance, ev.decision.explanation
    assert ev.decision.trades_usd["WETH"] < 0 < ev.decision.trades_usd["USDC"]
    ev = evaluate(cfg, {"WETH": 520_000.0, "USDC": 480_000.0}, NOW, RECENT, MarketData(), COSTS)
    assert not ev.decision.rebalance
    assert ev.decision.explanation == (
        "WETH 52.0% vs 50.0% target, band 5.0%: no action, inside band"
    )


def test_pause_holds_even_when_drifted():
    cfg = parse_strategy(BASE)
    paused = RECENT.model_copy(update={"paused": True})
    ev = evaluate(cfg, {"WETH": 700_000.0, "USDC": 300_000.0}, NOW, paused, MarketData(), COSTS)
    assert not ev.decision.rebalance
    assert ev.decision.explanation.endswith("no action, paused by the user")


def test_user_target_and_cost_limit_overrides_apply():
    cfg = parse_strategy(BASE)
    state = RECENT.model_copy(
        update={"target_overrides": {"WETH": 0.7, "USDC": 0.3}, "cost_limit": 0.00001}
    )
    ev = evaluate(cfg, {"WETH": 500_000.0, "USDC": 500_000.0}, NOW, state, MarketData(), COSTS)
    assert ev.targets == {"WETH": 0.7, "USDC": 0.3}
    assert not ev.decision.rebalance and "exceeds the cost limit $10.00" in ev.decision.explanation


def test_stop_loss_forces_the_exit_to_the_safe_asset():
    cfg = parse_strategy({**BASE, "triggers": {"drawdown": {"enabled": True}}})
    state = RECENT.model_copy(update={"drawdown_peak": 1_500_000.0})
    ev = evaluate(cfg, {"WETH": 500_000.0, "USDC": 500_000.0}, NOW, state, MarketData(), COSTS)
    assert ev.state.risk_scale == 0.0  # drawdown 33 % >= stop-loss 30 %
    assert ev.targets == {"WETH": 0.0, "USDC": 1.0}
    assert ev.decision.rebalance and ev.decision.destination["WETH"] == pytest.approx(0.0)
    assert ev.decision.explanation.startswith("drawdown 33.3% hit stop-loss 30.0%: exit to USDC")


def _prices(daily_moves: np.ndarray) -> np.ndarray:
    eth = 2000.0 * np.exp(np.concatenate([[0.0], np.cumsum(daily_moves)]))
    return np.column_stack([eth, np.ones_like(eth)])


def test_extreme_volatility_checks_daily_with_a_wider_band():
    # +-4 % a day: 0.04 x sqrt(365) x sqrt(n/(n-1)) ~ 76.5 % annualised -> extreme
    cfg = parse_strategy(
        {**BASE, "triggers": {"volatility": {"enabled": True, "reference": "absolute"}}}
    )
    market = MarketData(("WETH", "USDC"), _prices(np.tile([0.04, -0.04], 30)))
    ev = evaluate(cfg, {"WETH": 1.0, "USDC": 1.0}, NOW, RECENT, market, COSTS)
    assert ev.frequency is Frequency.DAILY and ev.band == pytest.approx(0.05 * 1.6)
    assert ev.notes[0].startswith("volatility 7") and "(extreme)" in ev.notes[0]


def test_mean_reverting_market_tightens_the_band_and_trending_widens_it():
    cfg = parse_strategy({**BASE, "triggers": {"regime": {"enabled": True, "horizon": 2}}})
    reverting = MarketData(("WETH", "USDC"), _prices(np.tile([0.01, -0.01], 60)))
    ev = evaluate(cfg, {"WETH": 1.0, "USDC": 1.0}, NOW, RECENT, reverting, COSTS)
    assert ev.band == pytest.approx(0.05 * 0.75) and ev.frequency is Frequency.BIWEEKLY
    drift = np.random.default_rng(5).normal(0.01, 0.01, 120)  # t ~ 11
    trending = MarketData(("WETH", "USDC"), _prices(drift))
    ev = evaluate(cfg, {"WETH": 1.0, "USDC": 1.0}, NOW, RECENT, trending, COSTS)
    assert ev.band == pytest.approx(0.05 * 1.5) and ev.frequency is Frequency.QUARTERLY


def test_kelly_targets_need_history_and_then_follow_the_estimates():
    cfg = parse_strategy(
        {
            **BASE,
            "targets": {"WETH": 0.4, "WBTC": 0.3, "USDC": 0.3},
            "model": {"kind": "kelly", "cash_asset": "USDC", "lookback_days": 60},
        }
    )
    t, note = model_targets(cfg, ("WETH", "WBTC", "USDC"), None)
    assert t == {"WETH": 0.4, "WBTC": 0.3, "USDC": 0.3} and "need 61 days" in note
    rng = np.random.default_rng(11)
    moves = np.column_stack([rng.normal(0.01, 0.02, 60), rng.normal(-0.01, 0.01, 60)])
    prices = np.column_stack([np.exp(np.vstack([[0, 0], np.cumsum(moves, axis=0)])), np.ones(61)])
    t, note = model_targets(cfg, ("WETH", "WBTC", "USDC"), prices)
    assert note is None and sum(t.values()) == pytest.approx(1.0)
    assert t.get("WBTC", 0.0) == 0.0 and t["WETH"] > 0  # losing asset dropped (long-only)


def test_stablecoin_vault_moves_to_a_better_yield():
    cfg = parse_strategy({"preset": "stablecoin-vault", "targets": {"USDC": 0.5, "DAI": 0.5}})
    yields = (
        YieldQuote(venue="USDC", apy=0.03, liquidity_usd=5e7),
        YieldQuote(venue="DAI", apy=0.045, liquidity_usd=5e7),
    )
    cheap = PoolCostModel(
        gas_price_gwei=1.0, eth_usd=3000.0, fee_rate=0.0001, default_depth_usd=1e10
    )
    ev = evaluate(cfg, {"USDC": 5e6, "DAI": 5e6}, NOW, RECENT, MarketData(yields=yields), cheap)
    assert ev.targets == pytest.approx({"USDC": 0.375, "DAI": 0.625})
    assert ev.decision.rebalance, ev.decision.explanation
    assert ev.decision.explanation.startswith("DAI yields 4.50% vs USDC 3.00%")


def test_after_a_proposal_the_one_shot_requests_clear():
    cfg = parse_strategy({"preset": "btc"})
    state = ControlState(manual_requested=True, exit_to="USDC")
    new = after_proposal(state, NOW, cfg)
    assert not new.manual_requested and new.exit_to is None
    assert new.last_rebalance == NOW and set(new.component_last) == set(cfg.components)
