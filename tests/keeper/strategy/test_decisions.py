"""Cost-aware decisions: numbers worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.strategy.constants import Frequency
from keeper.strategy.costs import PoolCostModel
from keeper.strategy.decisions import DecisionRules, band_destination, decide, tracking_cost
from keeper.strategy.triggers.calendar import calendar_signal
from keeper.strategy.triggers.threshold import threshold_signal

TOKENS = ["WETH", "USDC"]
COV = np.diag([0.36, 0.0])  # ETH 60 % vol, USDC none
T = np.array([0.25, 0.75])
RULES = DecisionRules(band=0.07, risk_aversion=3.0, horizon_days=30.0)
# gas (120k + 2 x 90k) x 10 gwei x $3000 = $9.00; LP fee 0.3 % of sells; impact x^2 / depth
GAS = dict(gas_price_gwei=10.0, eth_usd=3000.0)


def signals(values):
    w = values / values.sum()
    weights, targets = dict(zip(TOKENS, w, strict=True)), dict(zip(TOKENS, T, strict=True))
    return [threshold_signal(weights, targets, RULES.band)]


def test_tracking_cost_by_hand():
    # 1/2 * 3 * 0.1^2 * 0.36 * $10,000 * 30/365 = $4.4384
    cost = tracking_cost(np.array([0.1, -0.1]), COV, 10_000.0, RULES)
    assert cost == pytest.approx(1.5 * 0.0036 * 10_000 * 30 / 365)


def test_inside_the_band_is_no_action():
    values = np.array([3_120.0, 6_880.0])
    d = decide(TOKENS, values, T, COV, PoolCostModel(**GAS), RULES, signals(values))
    assert not d.rebalance
    assert d.explanation == "WETH 31.2% vs 25.0% target, band 7.0%: no action, inside band"


def test_a_small_portfolio_is_not_worth_rebalancing():
    # V = $10k, WETH 35 %: benefits (target, half-band, band edge) = 4.44, 3.89, 2.26;
    # costs 9 + 3.00 + 2.00 = 14.00, 9 + 1.95 + 0.845 = 11.795, 9 + 0.90 + 0.18 = 10.08.
    # The edge has the best net (-7.82) and still loses money.
    values = np.array([3_500.0, 6_500.0])
    model = PoolCostModel(**GAS, default_depth_usd=1e6)
    d = decide(TOKENS, values, T, COV, model, RULES, signals(values))
    assert not d.rebalance
    assert d.explanation == (
        "WETH 35.0% vs 25.0% target, band 7.0%: no action, cost $10.08 > benefit $2.26"
    )
    assert d.cost.total_usd == pytest.approx(10.08)


def test_a_large_portfolio_rebalances_to_the_best_net_destination():
    # V = $1M (benefits x100: 443.84, 389.47, 226.36); depth $1B:
    # costs 9 + 300 + 20 = 329, 9 + 195 + 8.45 = 212.45, 9 + 90 + 1.8 = 100.8;
    # nets 114.8, 177.0, 125.6 -> half-band: WETH to 28.5 %.
    values = np.array([350_000.0, 650_000.0])
    model = PoolCostModel(**GAS, default_depth_usd=1e9)
    d = decide(TOKENS, values, T, COV, model, RULES, signals(values))
    assert d.rebalance and d.destination_kind == "inner"
    assert d.destination == pytest.approx({"WETH": 0.285, "USDC": 0.715})
    assert d.trades_usd == pytest.approx({"WETH": -65_000.0, "USDC": 65_000.0})
    assert d.explanation == (
        "WETH 35.0% vs 25.0% target, band 7.0%: rebalance to half-band (WETH 28.5%), "
        "cost $212.45 < benefit $389.47"
    )


def test_the_cost_limit_picks_a_cheaper_destination_or_refuses():
    values = np.array([350_000.0, 650_000.0])
    model = PoolCostModel(**GAS, default_depth_usd=1e9)
    capped = DecisionRules(band=0.07, max_cost_fraction=0.00015)  # $150: only the edge fits
    d = decide(TOKENS, values, T, COV, model, capped, signals(values))
    assert d.rebalance and d.destination_kind == "edge"
    tight = DecisionRules(band=0.07, max_cost_fraction=0.0001)  # $100 < $100.80
    d = decide(TOKENS, values, T, COV, model, tight, signals(values))
    assert not d.rebalance
    assert d.explanation.endswith(
        "no action, cost $100.80 exceeds the cost limit $100.00 (0.01% of portfolio)"
    )


def test_gas_limit_of_the_stablecoin_vault():
    values = np.array([350_000.0, 650_000.0])
    rules = DecisionRules(band=0.07, max_gas_fraction=0.000001)  # $1 of gas allowed, $9 needed
    d = decide(TOKENS, values, T, COV, PoolCostModel(**GAS), rules, signals(values))
    assert not d.rebalance and "gas $9.00 exceeds the gas limit $1.00" in d.explanation


def test_a_scheduled_rebalance_inside_the_band_names_its_trigger():
    from datetime import UTC, datetime

    values = np.array([3_120.0, 6_880.0])
    due = calendar_signal(datetime(2026, 5, 1, tzinfo=UTC), None, RULES_FREQ)
    model = PoolCostModel(**GAS)
    d = decide(TOKENS, values, T, COV, model, RULES, [*signals(values), due])
    assert not d.rebalance
    assert d.explanation.startswith(
        "first scheduled rebalance; WETH 31.2% vs 25.0% target, band 7.0%: no action, cost $"
    )


def test_force_skips_the_benefit_test_but_not_the_cost_limit():
    values = np.array([3_500.0, 6_500.0])
    model = PoolCostModel(**GAS, default_depth_usd=1e6)
    d = decide(TOKENS, values, T, COV, model, RULES, signals(values), force=True)
    assert d.rebalance and "cost $10.08 >= benefit $2.26" in d.explanation


def test_band_edge_destination_uses_tokens_already_trading_first():
    # d = (+15, -5, -10) pts, band 5: clip -> (35, 20, 40) = 95 %; the missing 5 % goes to the
    # third token (already being bought), not to the second (exactly at its edge).
    w, t = np.array([0.45, 0.20, 0.35]), np.array([0.30, 0.25, 0.45])
    dest = band_destination(w, t, 0.05, np.ones(3, dtype=bool))
    np.testing.assert_allclose(dest, [0.35, 0.20, 0.45], atol=1e-15)


def test_scoped_destination_rescales_the_other_tokens():
    w, t = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.3, 0.3])
    dest = band_destination(w, t, 0.0, np.array([True, False, False]))
    np.testing.assert_allclose(dest, [0.4, 0.36, 0.24])


def test_cost_model_by_hand():
    model = PoolCostModel(**GAS, fee_rate=0.003, depth_usd={"WETH": 1e6}, default_depth_usd=4e6)
    est = model.estimate({"WETH": -2_000.0, "USDC": 2_000.0, "DAI": 0.0})
    assert est.gas_usd == pytest.approx(9.0)
    assert est.fees_usd == pytest.approx(6.0)
    assert est.impact_usd == pytest.approx(4.0 + 1.0)
    assert model.estimate({}).total_usd == 0.0


RULES_FREQ = Frequency.MONTHLY
