"""Correlation caps, tax-aware costs and index phase-in memory, with hand-computed numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from keeper.strategy.adjustments import phased_targets
from keeper.strategy.config import parse_strategy
from keeper.strategy.controls import ControlState
from keeper.strategy.costs import CostEstimate, PoolCostModel
from keeper.strategy.engine import evaluate
from keeper.strategy.exceptions import StrategyConfigError
from keeper.strategy.market_data import MarketData
from keeper.strategy.models.correlation import (
    cap_correlated,
    correlated_groups,
    correlation_matrix,
)
from keeper.strategy.tax import CostBasis, Lot, TaxAwareEstimator, load_cost_basis, realised_gain

NOW = datetime(2026, 6, 1, tzinfo=UTC)
RECENT = ControlState(last_rebalance=datetime(2026, 5, 30, tzinfo=UTC))
FREE = PoolCostModel(gas_price_gwei=0.0, eth_usd=3000.0, fee_rate=0.0, default_depth_usd=1e15)


def corr4(ab: float = 0.95) -> np.ndarray:
    c = np.eye(4)
    c[0, 1] = c[1, 0] = ab
    return c


# -- correlation caps ----------------------------------------------------------------------


def test_a_correlated_pair_shares_the_cap_and_the_excess_goes_to_the_others_pro_rata():
    # A+B = 0.7 > cap 0.5 -> scaled by 5/7: A = 0.4*5/7, B = 0.3*5/7; the freed 0.2 goes to C
    # and D in proportion 2:1 -> C = 0.2 + 0.2*2/3, D = 0.1 + 0.2/3.
    w, capped, ok = cap_correlated(np.array([0.4, 0.3, 0.2, 0.1]), corr4(), 0.8, 0.5)
    assert ok and capped == [[0, 1]]
    assert w == pytest.approx([2 / 7, 1.5 / 7, 0.2 + 0.4 / 3, 0.1 + 0.2 / 3], abs=1e-12)


def test_a_receiver_that_would_pass_its_ceiling_is_pinned_and_the_rest_shared_again():
    # A+B 0.7 -> 0.4; C would get 0.28 + 0.6*0.28/0.30 = 0.56 > 0.4 -> pinned at 0.4; D = 0.2
    w, _, ok = cap_correlated(np.array([0.35, 0.35, 0.28, 0.02]), corr4(), 0.8, 0.4)
    assert ok and w == pytest.approx([0.2, 0.2, 0.4, 0.2], abs=1e-12)


def test_correlation_below_the_limit_changes_nothing_and_an_impossible_cap_is_reported():
    t = np.array([0.4, 0.3, 0.2, 0.1])
    w, capped, ok = cap_correlated(t, corr4(0.7), 0.8, 0.5)
    assert ok and not capped and w == pytest.approx(t)
    # groups {A,B}, {C}, {D} with ceilings 0.3, 0.3, 0.3: 90 % < 100 %
    _, _, ok = cap_correlated(t, corr4(), 0.8, 0.3)
    assert not ok


def test_groups_are_connected_components_of_the_correlation_graph():
    c = np.eye(4)
    c[0, 1] = c[1, 0] = 0.9  # A~B
    c[1, 2] = c[2, 1] = 0.85  # B~C (A and C only 0.5)
    c[0, 2] = c[2, 0] = 0.5
    assert correlated_groups(c, 0.8) == [[0, 1, 2], [3]]


def test_correlation_matrix_matches_numpy_and_treats_a_pegged_asset_as_uncorrelated():
    rng = np.random.default_rng(3)
    r = rng.normal(size=(200, 3))
    r[:, 1] += r[:, 0]
    assert correlation_matrix(r) == pytest.approx(np.corrcoef(r, rowvar=False), abs=1e-12)
    r[:, 2] = 0.0
    c = correlation_matrix(r)
    assert c[2, 2] == 1.0 and c[0, 2] == 0.0 and c[2, 1] == 0.0


def _prices(days: int, seed: int = 7) -> tuple[tuple[str, ...], np.ndarray]:
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 0.03, days)
    rets = np.column_stack(
        [
            common + rng.normal(0, 0.005, days),  # WETH
            common + rng.normal(0, 0.005, days),  # WBTC (correlated ~0.97 with WETH)
            np.zeros(days),  # USDC
        ]
    )
    prices = np.vstack([np.ones(3), np.exp(np.cumsum(rets, axis=0))]) * [3000, 90000, 1]
    return ("WETH", "WBTC", "USDC"), prices


CORRELATED = {
    "name": "c",
    "preset": "custom",
    "band": "5%",
    "targets": {"WETH": 0.4, "WBTC": 0.3, "USDC": 0.3},
    "rules": {"correlation_limit": 0.8, "max_weight": 0.5},
}


def test_the_engine_caps_correlated_assets_from_price_history_and_says_so():
    tokens, prices = _prices(60)
    cfg = parse_strategy(CORRELATED)
    holdings = {"WETH": 400_000.0, "WBTC": 300_000.0, "USDC": 300_000.0}
    ev = evaluate(cfg, holdings, NOW, RECENT, MarketData(tokens, prices), FREE)
    assert ev.targets == pytest.approx({"WETH": 2 / 7, "WBTC": 1.5 / 7, "USDC": 0.5})
    assert "WBTC+WETH capped at 50% together" in ev.explanation


def test_without_history_the_correlation_limit_is_not_applied_and_the_line_says_why():
    cfg = parse_strategy(CORRELATED)
    holdings = {"WETH": 400_000.0, "WBTC": 300_000.0, "USDC": 300_000.0}
    ev = evaluate(cfg, holdings, NOW, RECENT, MarketData(), FREE)
    assert ev.targets == {"WETH": 0.4, "WBTC": 0.3, "USDC": 0.3}
    assert "correlation limit 0.80: not enough price history, not applied" in ev.explanation
    assert "price history: 0 daily close(s), need 21: default volatility 80%" in ev.explanation


def test_a_correlation_limit_without_a_cap_is_a_config_error():
    with pytest.raises(StrategyConfigError, match=r"'rules\.correlation_limit'"):
        parse_strategy({**CORRELATED, "rules": {"correlation_limit": 0.8}})


# -- tax -----------------------------------------------------------------------------------

LOTS = CostBasis(
    lots={
        "WETH": [Lot(amount=10, price_usd=1800), Lot(amount=10, price_usd=3500)],
        "WBTC": [Lot(amount=0.5, price_usd=60000)],
    }
)


def test_realised_gain_uses_the_highest_cost_lots_first_and_basis_zero_beyond_the_records():
    lots = LOTS.lots["WETH"]
    assert realised_gain(lots, 5, 3000) == pytest.approx(5 * (3000 - 3500))  # -2,500
    assert realised_gain(lots, 15, 3000) == pytest.approx(-5000 + 5 * 1200)  # 1,000
    assert realised_gain(lots, 25, 3000) == pytest.approx(-5000 + 12000 + 5 * 3000)  # 22,000


def test_the_tax_on_net_gains_is_added_to_the_cost():
    inner = PoolCostModel(gas_price_gwei=0.0, eth_usd=3000.0, fee_rate=0.001)
    est = TaxAwareEstimator(inner, LOTS, {"WETH": 3000.0, "WBTC": 90000.0}, 0.25)
    # WETH: 15 units -> +1,000; WBTC 0.1 unit -> +3,000; tax 25 % of 4,000
    cost = est.estimate({"WETH": -45_000.0, "WBTC": -9_000.0, "USDC": 54_000.0})
    assert cost.tax_usd == pytest.approx(1_000.0)
    assert cost.fees_usd == pytest.approx(54.0)
    assert cost.total_usd == pytest.approx(1_000.0 + 54.0 + cost.impact_usd)
    # a net loss costs nothing (and is not counted as a benefit)
    assert est.estimate({"WETH": -15_000.0, "USDC": 15_000.0}).tax_usd == 0.0


def test_a_rebalance_whose_tax_exceeds_its_benefit_is_no_action_with_the_tax_shown():
    cfg = parse_strategy(
        {
            "name": "t",
            "preset": "custom",
            "band": "5%",
            "targets": {"WETH": 0.5, "USDC": 0.5},
            "rules": {"tax_aware": True, "tax_rate": 0.3},
            "costs": {"max_cost": "100%"},
        }
    )
    holdings = {"WETH": 600_000.0, "USDC": 400_000.0}
    plain = evaluate(cfg, holdings, NOW, RECENT, MarketData(), FREE)
    assert plain.decision.rebalance
    assert "tax-aware: no cost basis (rules.cost_basis), gains not counted" in plain.explanation
    cheap = CostBasis(lots={"WETH": [Lot(amount=200, price_usd=100)]})
    data = MarketData(cost_basis=cheap, spot_usd={"WETH": 3000.0, "USDC": 1.0})
    taxed = evaluate(cfg, holdings, NOW, RECENT, data, FREE)
    assert not taxed.decision.rebalance
    assert "(incl. tax $" in taxed.decision.explanation and "> benefit" in taxed.explanation


def test_cost_basis_files_are_validated_by_key(tmp_path):
    good = tmp_path / "basis.yaml"
    good.write_text("lots:\n  WETH: [{amount: 2, price_usd: 2500}]\n")
    assert load_cost_basis(good).lots["WETH"][0].price_usd == 2500
    bad = tmp_path / "bad.json"
    bad.write_text('{"lots": {"WETH": [{"amount": -1, "price_usd": 2500}]}}')
    with pytest.raises(StrategyConfigError, match=r"'rules.cost_basis'.*'lots.WETH.0.amount'"):
        load_cost_basis(bad)
    assert CostEstimate(1, 2, 3).total_usd == 6  # no tax unless tax-aware


# -- index phase-in memory ---------------------------------------------------------------


def test_phase_in_is_remembered_between_evaluations():
    old = {"WBTC": 0.5, "WETH": 0.5}
    new = {"WBTC": 0.4, "WETH": 0.4, "LINK": 0.2}  # a listing
    t, state, note = phased_targets(old, ControlState(), NOW, 4)
    assert t == old and note is None and state.phase_to == old  # first run adopts at once
    t, state, note = phased_targets(new, state, NOW + timedelta(days=1), 4)
    assert t == pytest.approx(old) and note and "week 0 of 4" in note  # phase starts
    saved = ControlState.model_validate_json(state.model_dump_json())  # survives the file
    t, state, note = phased_targets(new, saved, NOW + timedelta(days=1, weeks=2), 4)
    assert t == pytest.approx({"WBTC": 0.45, "WETH": 0.45, "LINK": 0.1})  # half-way
    t, state, note = phased_targets(new, state, NOW + timedelta(days=1, weeks=5), 4)
    assert t == pytest.approx(new) and note is None  # done


def test_a_change_during_a_phase_restarts_from_the_targets_in_force():
    old, mid = {"A": 1.0}, {"A": 0.5, "B": 0.5}
    state = ControlState(phase_from=old, phase_to=mid, phase_started=NOW)
    t, state, _ = phased_targets({"B": 1.0}, state, NOW + timedelta(weeks=2), 4)
    assert t == pytest.approx({"A": 0.75, "B": 0.25})  # in force at week 2 of the old phase
    assert state.phase_from == pytest.approx(t) and state.phase_to == {"B": 1.0}
    t, _, _ = phased_targets({"B": 1.0}, state, NOW + timedelta(weeks=4), 4)
    assert t == pytest.approx({"A": 0.375, "B": 0.625})


def test_the_engine_phases_market_cap_changes_and_returns_the_state_to_save():
    base = {
        "name": "i",
        "preset": "index-fund",
        "rules": {"tax_aware": False},
        "model": {"kind": "market-cap", "market_caps": {"WBTC": 1.0e12, "WETH": 1.0e12}},
    }
    holdings = {"WBTC": 500_000.0, "WETH": 500_000.0}
    ev = evaluate(parse_strategy(base), holdings, NOW, RECENT, MarketData(), FREE)
    assert ev.targets == pytest.approx({"WBTC": 0.5, "WETH": 0.5})
    listed = {**base, "model": {**base["model"], "market_caps": {**base["model"]["market_caps"]}}}
    listed["model"]["market_caps"]["LINK"] = 0.5e12
    later = NOW + timedelta(weeks=1)
    ev = evaluate(parse_strategy(listed), holdings, later, ev.state, MarketData(), FREE)
    assert ev.targets == pytest.approx({"WBTC": 0.5, "WETH": 0.5})
    assert "phasing in new index weights: week 0 of 4" in ev.explanation
    ev = evaluate(
        parse_strategy(listed), holdings, later + timedelta(weeks=2), ev.state, MarketData(), FREE
    )
    assert ev.targets == pytest.approx({"WBTC": 0.45, "WETH": 0.45, "LINK": 0.1})
