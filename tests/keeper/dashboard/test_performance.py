"""Performance with attribution on a live history: the backtester's replay of the recorded
trades against buy-and-hold of the start holdings (keeper.dashboard.performance)."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.backtest import metrics
from keeper.dashboard.performance import DAY, LiveHistory, LiveTrade, attribute

TODAY = 20_500  # UTC day number
NOW = TODAY * DAY + 15 * 3600
TOKENS = ("WETH", "USDC")


def closes(weth: list[float]) -> np.ndarray:
    return np.column_stack([weth, np.ones(len(weth))])


def history(weth: list[float], now_weth: float, holdings: dict, trades=()) -> LiveHistory:
    return LiveHistory(
        tokens=TOKENS,
        closes=closes(weth),
        last_day=TODAY - 1,
        now=NOW,
        prices_now={"WETH": now_weth, "USDC": 1.0},
        holdings_now=holdings,
        trades=list(trades),
    )


def day_time(days_ago: int, hour: int = 12) -> int:
    return (TODAY - days_ago) * DAY + hour * 3600


def test_without_trades_rebalanced_is_buy_and_hold():
    weth = [3000, 3100, 2900, 3050, 3200, 3150]
    p = attribute(history(weth, 3300, {"WETH": 2.0, "USDC": 5_000.0}))
    assert p.samples == 7 and p.settlements == 0 and p.note == ""
    expected = [2 * w + 5_000 for w in [*weth, 3300]]
    assert [c[1] for c in p.curve] == pytest.approx(expected)
    assert [c[2] for c in p.curve] == pytest.approx(expected)
    assert p.difference_usd == pytest.approx(0.0, abs=1e-9)
    assert p.rebalanced == p.buy_and_hold
    assert p.curve[-1][0] == NOW and p.curve[0][0] == (TODAY - 6) * DAY + DAY - 1


def test_a_sale_before_a_fall_is_the_rebalancing_effect_and_its_costs_are_the_costs():
    # 4 WETH + 0 USDC; two days ago (price 4,000 that day) sold 2 WETH for 7,950 USDC
    # (fee 20 USDC-worth taken in WETH, 30 USD lost to LP fees and impact); then WETH fell
    weth = [3000, 3500, 4000, 4000, 3000]
    sale = LiveTrade(
        time=day_time(2),
        delta={"WETH": -2.0, "USDC": 7_950.0},
        fees_usd=20.0,
        trading_usd=30.0,
        surplus_usd=12.0,
        credited_usd=5.0,
        gas_usd=1.5,
    )
    p = attribute(history(weth, 2500, {"WETH": 2.0, "USDC": 7_950.0}, [sale]))
    assert p.samples == 6 and p.settlements == 1
    recorded = [4 * w for w in weth[:3]] + [2 * w + 7_950 for w in [*weth[3:], 2500]]
    assert [c[1] for c in p.curve] == pytest.approx(recorded)  # the live holdings, replayed
    held = [4 * w for w in [*weth, 2500]]
    assert [c[2] for c in p.curve] == pytest.approx(held)  # buy-and-hold of the start
    assert p.rebalanced_usd == pytest.approx(2 * 2500 + 7_950)
    assert p.buy_and_hold_usd == pytest.approx(4 * 2500)
    # the parts add up exactly; selling before the fall helped, the costs did not
    assert p.difference_usd == pytest.approx(p.rebalancing_effect_usd + p.costs_effect_usd)
    assert p.rebalancing_effect_usd > 0 > p.costs_effect_usd
    c = p.costs_paid
    assert c.total_usd == pytest.approx(8_000 - 7_950)  # valued at the day's close
    assert c.keeper_fees_usd == pytest.approx(25.0) and c.refunds_credited_usd == 5.0
    assert c.lp_fees_and_impact_usd == 30.0 and c.surplus_usd == 12.0
    assert c.keeper_gas_usd == 1.5
    assert c.total_usd == pytest.approx(
        c.keeper_fees_usd - c.refunds_credited_usd + c.lp_fees_and_impact_usd
        + c.block_to_close_usd
    )  # fmt: skip
    log = p.log_points
    assert log.total == pytest.approx(np.log(p.rebalanced_usd / p.buy_and_hold_usd))
    assert log.total == pytest.approx(log.drift_avoided + log.premium + log.costs)


def test_the_metrics_are_the_backtesters_on_the_two_curves():
    rng = np.random.default_rng(5)
    weth = list(3000 * np.exp(np.cumsum(rng.normal(0, 0.04, 60))))
    sale = LiveTrade(time=day_time(30), delta={"WETH": -1.0, "USDC": weth[-31] * 0.99})
    holdings = {"WETH": 3.0, "USDC": 2_000 + weth[-31] * 0.99}
    p = attribute(history(weth, weth[-1] * 1.01, holdings, [sale]))
    years = (p.end - p.start) / (365 * DAY)
    for view, column in ((p.rebalanced, 1), (p.buy_and_hold, 2)):
        values = np.array([p.start_usd] + [c[column] for c in p.curve])
        ref = metrics.compute(values, years, 365.0)
        assert view.total_return == pytest.approx(ref.total_return)
        assert view.volatility == pytest.approx(ref.volatility)
        assert view.max_drawdown == pytest.approx(ref.max_drawdown)
        assert view.sharpe == pytest.approx(ref.sharpe)
        assert view.var95 == pytest.approx(ref.var95)
    assert p.rebalanced != p.buy_and_hold


def test_too_short_a_window_says_so_in_words_instead_of_numbers():
    p = attribute(
        LiveHistory(TOKENS, np.zeros((0, 2)), None, NOW, {"WETH": 3000.0, "USDC": 1.0},
                    {"WETH": 1.0, "USDC": 10.0})
    )  # fmt: skip
    assert p.samples == 1 and p.rebalanced is None and p.curve == []
    assert "1 price sample (today's); performance needs at least 2" in p.note
    assert "record-prices" in p.note
    few = attribute(history([3000, 3100], 3050, {"WETH": 1.0, "USDC": 10.0}))
    assert few.samples == 3 and few.rebalanced.volatility is None
    assert "volatility, Sharpe and VaR need 5" in few.note


def test_holdings_the_settlements_cannot_explain_get_no_numbers():
    # says it sold 5 WETH but holds 1 and held never more: tokens came in from elsewhere
    sale = LiveTrade(time=day_time(1), delta={"WETH": 5.0, "USDC": -15_000.0})
    p = attribute(history([3000, 3000, 3000], 3000, {"WETH": 1.0, "USDC": 100.0}, [sale]))
    assert p.rebalanced is None and "do not explain the holdings" in p.note


def test_a_settlement_before_the_window_is_already_in_the_start_holdings():
    old = LiveTrade(time=day_time(30), delta={"WETH": -1.0, "USDC": 3_000.0}, fees_usd=9.0)
    p = attribute(history([3000, 3000, 3000], 3000, {"WETH": 1.0, "USDC": 3_000.0}, [old]))
    assert p.settlements == 0 and p.costs_paid.total_usd == 0.0
    assert p.curve[0][1] == pytest.approx(6_000.0)


def test_a_strategy_without_price_history_gets_the_words_too():
    p = attribute(LiveHistory((), np.zeros((0, 0)), None, NOW, {}, {}))
    assert p.samples == 1 and p.rebalanced is None and "needs at least 2" in p.note
