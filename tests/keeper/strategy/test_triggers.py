"""Triggers with hand-computed expectations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from keeper.strategy.config import Component, DrawdownTriggerConfig, OpportunityTriggerConfig
from keeper.strategy.constants import Frequency, VolatilityRegime
from keeper.strategy.market_data import YieldQuote
from keeper.strategy.triggers.calendar import (
    add_months,
    calendar_signal,
    component_signal,
    next_due,
)
from keeper.strategy.triggers.drawdown import DrawdownState, drawdown_signal, wanted_scale
from keeper.strategy.triggers.manual import manual_signal
from keeper.strategy.triggers.opportunity import price_move_signal, yield_signal
from keeper.strategy.triggers.threshold import drift, threshold_signal
from keeper.strategy.triggers.volatility import (
    annualised_volatility_pct,
    classify_volatility,
    market_volatility_pct,
    volatility_reading,
)


def at(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


# -- threshold ------------------------------------------------------------------------------


def test_threshold_fires_only_outside_the_band():
    targets = {"WBTC": 0.30, "WETH": 0.25, "USDC": 0.45}
    drifted = {"WBTC": 0.45, "WETH": 0.20, "USDC": 0.35}  # the product document's example
    assert drift(drifted, targets) == pytest.approx({"WBTC": 0.15, "WETH": -0.05, "USDC": -0.10})
    fired = threshold_signal(drifted, targets, 0.05)
    assert fired.fired
    assert fired.reason == "WBTC 45.0% vs 30.0% target, band 5.0%: outside"
    inside = threshold_signal({"WBTC": 0.33, "WETH": 0.23, "USDC": 0.44}, targets, 0.05)
    assert not inside.fired and inside.reason.startswith("WBTC 33.0% vs 30.0%")


def test_threshold_at_exactly_the_band_does_not_fire():
    assert not threshold_signal({"A": 0.75, "B": 0.25}, {"A": 0.5, "B": 0.5}, 0.25).fired


# -- calendar -------------------------------------------------------------------------------


def test_calendar_months_clamp_to_the_month_end():
    assert add_months(at(2026, 1, 31), 1) == at(2026, 2, 28)
    assert add_months(at(2028, 1, 31), 1) == at(2028, 2, 29)
    assert next_due(at(2026, 11, 30), Frequency.QUARTERLY) == at(2027, 2, 28)
    assert next_due(at(2026, 1, 1), Frequency.BIWEEKLY) == at(2026, 1, 15)


@pytest.mark.parametrize(
    ("frequency", "due"),
    [
        (Frequency.DAILY, at(2026, 3, 2)),
        (Frequency.WEEKLY, at(2026, 3, 8)),
        (Frequency.BIWEEKLY, at(2026, 3, 15)),
        (Frequency.MONTHLY, at(2026, 4, 1)),
        (Frequency.QUARTERLY, at(2026, 6, 1)),
    ],
)
def test_calendar_fires_from_the_due_moment_on(frequency, due):
    last = at(2026, 3, 1)
    assert next_due(last, frequency) == due
    assert not calendar_signal(due - timedelta(seconds=1), last, frequency).fired
    assert calendar_signal(due, last, frequency).fired


def test_first_evaluation_is_always_due():
    assert calendar_signal(at(2026, 1, 1), None, Frequency.MONTHLY).fired


def test_components_are_due_on_their_own_cadence_and_scope_the_rebalance():
    comps = {
        "native": Component(target=0.2, frequency=Frequency.MONTHLY, tokens={"BTC": 1.0}),
        "wrapped": Component(target=0.4, frequency=Frequency.WEEKLY, tokens={"WBTC": 1.0}),
        "derivatives": Component(target=0.3, frequency=Frequency.DAILY, tokens={"USDC": 1.0}),
        "infra": Component(target=0.1, frequency=Frequency.BIWEEKLY, tokens={"LINK": 1.0}),
    }
    last = dict.fromkeys(comps, at(2026, 3, 1))
    s = component_signal(at(2026, 3, 8), last, comps)  # 7 days later: daily and weekly due
    assert s.fired and s.scope == frozenset({"USDC", "WBTC"})
    assert s.reason == "due: derivatives (daily), wrapped (weekly)"
    s = component_signal(at(2026, 3, 1, 12), last, comps)
    assert not s.fired and "2026-03-02" in s.reason


# -- volatility regime ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vol", "regime"),
    [
        (0.0, VolatilityRegime.LOW),
        (15.0, VolatilityRegime.LOW),
        (24.99, VolatilityRegime.LOW),
        (25.0, VolatilityRegime.MEDIUM),
        (39.99, VolatilityRegime.MEDIUM),
        (40.0, VolatilityRegime.HIGH),
        (59.99, VolatilityRegime.HIGH),
        (60.0, VolatilityRegime.EXTREME),
        (250.0, VolatilityRegime.EXTREME),
    ],
)
def test_volatility_regime_boundaries(vol, regime):
    assert classify_volatility(vol) is regime


def test_each_volatility_regime_sets_cadence_and_band():
    assert volatility_reading(10).frequency is Frequency.MONTHLY
    assert volatility_reading(30).frequency is Frequency.BIWEEKLY
    assert volatility_reading(45).frequency is Frequency.WEEKLY
    extreme = volatility_reading(80)
    assert extreme.frequency is Frequency.DAILY and extreme.band_scale == 1.6
    assert extreme.reason == "volatility 80% (extreme): check daily, band x1.6"


def test_annualised_volatility_of_alternating_two_percent_days():
    # returns +2 %, -2 % alternating (even count): sample sd = 0.02 * sqrt(T/(T-1))
    r = np.tile([0.02, -0.02], 50)[:, None]
    expected = 0.02 * np.sqrt(100 / 99) * np.sqrt(365) * 100
    assert annualised_volatility_pct(r)[0] == pytest.approx(expected)


def test_market_volatility_ignores_stablecoins():
    r = np.column_stack([np.tile([0.02, -0.02], 50), np.tile([0.0001, -0.0001], 50)])
    vol = market_volatility_pct(r, np.array([0.5, 0.5]), np.array([False, True]))
    assert vol == pytest.approx(annualised_volatility_pct(r)[0])


# -- drawdown -------------------------------------------------------------------------------

DD = DrawdownTriggerConfig(
    enabled=True, derisk_at=0.15, stop_loss=0.30, floor=0.25, rerisk_step=0.1
)


def test_drawdown_scale_is_linear_between_derisk_and_stop_loss():
    assert wanted_scale(0.10, DD) == 1.0
    assert wanted_scale(0.225, DD) == pytest.approx(0.625)  # half way: 1 - 0.5 * 0.75
    assert wanted_scale(0.30, DD) == 0.0


def test_drawdown_cuts_at_once_and_rerisks_step_by_step():
    targets = {"WETH": 0.6, "USDC": 0.4}
    s, state = drawdown_signal(100.0, DrawdownState(), targets, DD)
    assert not s.fired and state == DrawdownState(100.0, 1.0)
    s, state = drawdown_signal(77.5, state, targets, DD)  # dd 22.5 % -> 0.625
    assert s.fired and state.risk_scale == pytest.approx(0.625)
    assert s.targets == pytest.approx({"WETH": 0.375, "USDC": 0.625})
    assert s.reason == "drawdown 22.5% past 15.0%: risk cut to 62.5%"
    s, state = drawdown_signal(95.0, state, targets, DD)  # recovered: +0.1 per evaluation
    assert s.fired and state.risk_scale == pytest.approx(0.725)
    assert "recovering" in s.reason


def test_stop_loss_exits_to_the_safe_asset():
    s, state = drawdown_signal(69.0, DrawdownState(100.0, 1.0), {"WETH": 1.0}, DD)
    assert s.fired and state.risk_scale == 0.0
    assert s.targets == {"WETH": 0.0, "USDC": 1.0}
    assert "stop-loss 30.0%: exit to USDC" in s.reason


# -- opportunity ----------------------------------------------------------------------------

OPP = OpportunityTriggerConfig(
    enabled=True, min_yield_gap=0.005, min_liquidity_usd=1e6, max_step=0.25
)


def q(venue: str, apy: float, liq: float = 5e6) -> YieldQuote:
    return YieldQuote(venue=venue, apy=apy, liquidity_usd=liq)


def test_yield_gap_of_half_a_percent_moves_a_quarter_of_the_worst_venue():
    targets = {"USDC": 0.5, "DAI": 0.5}
    s = yield_signal(targets, [q("USDC", 0.030), q("DAI", 0.041), q("USDT", 0.035)], OPP)
    assert s.fired and s.scope == frozenset({"USDC", "DAI"})
    assert s.targets == pytest.approx({"USDC": 0.375, "DAI": 0.625})


def test_yield_gap_below_the_minimum_or_thin_liquidity_is_ignored():
    targets = {"USDC": 1.0}
    assert not yield_signal(targets, [q("USDC", 0.030), q("DAI", 0.0349)], OPP).fired
    assert not yield_signal(targets, [q("USDC", 0.03), q("DAI", 0.09, liq=999_999)], OPP).fired


def test_large_price_move_asks_for_a_review():
    s = price_move_signal(["WETH", "WBTC"], np.log([1.12, 0.97]), 0.10)
    assert s.fired and s.reason == "WETH moved +12.0% (review at 10%)"
    assert not price_move_signal(["WETH"], np.log([0.95]), 0.10).fired


def test_manual_trigger():
    assert manual_signal(True, "user pressed rebalance").fired
    assert not manual_signal(False).fired


def test_file_yield_source_reads_venues_and_names_bad_content():
    from pathlib import Path

    from keeper.strategy.exceptions import YieldSourceError
    from keeper.strategy.live.yields import FileYieldSource

    root = Path(__file__).resolve().parents[3]
    quotes = FileYieldSource(root / "examples/strategies/yields.json").quotes()
    assert [(q.venue, q.apy) for q in quotes] == [("USDC", 0.031), ("USDT", 0.034), ("DAI", 0.041)]
    s = yield_signal({"USDC": 0.5, "USDT": 0.25, "DAI": 0.25}, quotes, OPP)
    assert s.fired and s.targets == pytest.approx({"USDC": 0.375, "USDT": 0.25, "DAI": 0.375})
    with pytest.raises(YieldSourceError, match="invalid content"):
        FileYieldSource(root / "tests/data/strategy/yields_bad.yaml").quotes()


def test_yield_source_from_the_strategy_file_configuration():
    from pathlib import Path

    from keeper.strategy.exceptions import StrategyConfigError
    from keeper.strategy.live.yields import FileYieldSource, source_from_config

    base = Path(__file__).resolve().parents[3] / "examples/strategies"
    src = source_from_config({"kind": "file", "path": "yields.json"}, base)
    assert isinstance(src, FileYieldSource) and len(src.quotes()) == 3
    with pytest.raises(StrategyConfigError, match=r"triggers\.opportunity\.source"):
        source_from_config({"kind": "oracle"}, base)
