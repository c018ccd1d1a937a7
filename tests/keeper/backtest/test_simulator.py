"""The replay on paths short enough to check by hand, and the same final wealth as bt."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.backtest.costs import (
    AMM_SWAP_GAS,
    BATCH_GAS,
    BENCH_NETTED_SHARE,
    INTENT_GAS,
    CostModel,
    FixedGas,
    GasSeries,
    ProportionalFee,
    SettlementGas,
    proportional_costs,
)
from keeper.backtest.data import PriceTable
from keeper.backtest.policies import BuyAndHold, Calendar, Threshold
from keeper.backtest.runner import CostSettings, cost_model
from keeper.backtest.simulator import simulate
from keeper.backtest.synthetic import synthetic_prices

HALF = np.array([0.5, 0.5])


def _table(rows: list[list[float]], start: str = "2024-01-01") -> PriceTable:
    dates = np.datetime64(start, "D") + np.arange(len(rows)).astype("timedelta64[D]")
    return PriceTable(dates.astype("datetime64[s]"), ("A", "B"), np.array(rows, dtype=float))


PATH = [[100.0, 100.0], [200.0, 100.0], [100.0, 100.0]]
COSTS = CostModel((FixedGas(1.0), ProportionalFee(0.01)), "test")


def test_threshold_rebalances_twice_on_a_round_trip_with_known_costs() -> None:
    r = simulate(_table(PATH), Threshold(HALF, 0.10), HALF, 1000.0, COSTS)
    # day 1: A doubles, 1000 + 500 = 1500, A at 66.7 % > 50 + 10: trade 250 each way,
    # cost 1 + 1 % of 500 = 6, 1494 split 747/747
    # day 2: A halves, 373.5 + 747 = 1120.5, trade 186.75 each way, cost 1 + 3.735
    assert r.rebalances == 2
    assert r.values.tolist() == pytest.approx([1000.0, 1494.0, 1120.5 - 4.735], rel=1e-12)
    assert r.costs_by_kind["gas"] == pytest.approx(2.0)
    assert r.costs_by_kind["fees"] == pytest.approx(5.0 + 3.735)
    assert r.turnover == pytest.approx((250 / 1500 + 186.75 / 1120.5) / r.years)


def test_buy_and_hold_and_an_idle_calendar_never_trade() -> None:
    hold = simulate(_table(PATH), BuyAndHold(HALF), HALF, 1000.0, COSTS)
    monthly = simulate(_table(PATH), Calendar(HALF, "monthly"), HALF, 1000.0, COSTS)
    assert hold.values.tolist() == [1000.0, 1500.0, 1000.0]
    assert monthly.values.tolist() == hold.values.tolist()
    assert hold.rebalances == monthly.rebalances == 0


def test_a_band_exactly_reached_does_not_fire() -> None:
    # A +50 %: weights 60/40, exactly 10 points away: "strictly more" than the band fires
    r = simulate(
        _table([[100.0, 100.0], [150.0, 100.0]]), Threshold(HALF, 0.10), HALF, 1000.0, COSTS
    )
    assert r.rebalances == 0


def test_the_calendar_trades_on_the_first_bar_of_each_month() -> None:
    rows = [[100.0 + i, 100.0] for i in range(40)]
    r = simulate(_table(rows, "2024-01-20"), Calendar(HALF, "monthly"), HALF, 1000.0, CostModel())
    assert r.rebalance_bars.tolist() == [12]  # 2024-02-01


def test_bt_mode_solves_bt_commission_convention_by_hand() -> None:
    f = 0.01
    r = simulate(_table(PATH), Threshold(HALF, 0.10), HALF, 1000.0, proportional_costs(f), "bt")
    # day 0 from cash: q p (1 + f) = 500 per token
    q = np.array([500 / (100 * 1.01), 500 / (100 * 1.01)])
    # day 1: value V on pre-trade weights; sell A: |q| p (1 - f) = |amount|; buy B: q p (1+f)
    px = np.array([200.0, 100.0])
    x = q * px
    v = x.sum()
    amount = 0.5 * v - x
    q = q + np.array([amount[0] / (200 * 0.99), amount[1] / (100 * 1.01)])
    cash = -amount.sum()
    assert r.values[1] == pytest.approx(q @ px + cash, rel=1e-13)
    assert r.cash[1] == pytest.approx(cash, abs=1e-9)


def test_settlement_gas_of_one_swap_is_the_executors_measured_batch() -> None:
    gas = SettlementGas(GasSeries(np.array([10.0]), np.array([2000.0])), numeraire="USDC")
    trades = np.array([-1000.0, 1000.0])
    assert BATCH_GAS + INTENT_GAS + AMM_SWAP_GAS == 226_776
    assert gas.units(("WETH", "USDC"), trades) == 226_776
    assert gas.cost(0, ("WETH", "USDC"), trades, np.array([2000.0, 1.0])) == pytest.approx(
        226_776 * 10e-9 * 2000
    )
    # half the flow netted against other users: half an AMM interaction expected
    netted = SettlementGas(gas.series, netted=0.5)
    assert netted.units(("WETH", "USDC"), trades) == pytest.approx(226_776 - AMM_SWAP_GAS / 2)


def test_the_default_costs_net_the_keeper_benchs_share_and_a_lone_user_nets_nothing() -> None:
    dates = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[s]")
    table = PriceTable(dates, ("WETH", "USDC"), np.array([[2000.0, 1.0], [2000.0, 1.0]]))
    trades, prices = np.array([-10_000.0, 10_000.0]), np.array([2000.0, 1.0])
    gwei = np.full(2, 10.0)
    default = cost_model(table, CostSettings(gas_gwei=gwei))
    alone = cost_model(table, CostSettings(gas_gwei=gwei, netted=0.0))
    assert CostSettings().netted == BENCH_NETTED_SHARE and 0 < BENCH_NETTED_SHARE < 1
    assert f"{BENCH_NETTED_SHARE:.0%} netted" in default.label and "netted" not in alone.label
    gas_default, fees_default = default.breakdown(0, table.tokens, trades, prices)[:2]
    gas_alone, fees_alone = alone.breakdown(0, table.tokens, trades, prices)[:2]
    # per unit of gas: 10 gwei at $2,000 ETH; only the routed share needs an AMM interaction
    assert gas_alone == pytest.approx(226_776 * 10e-9 * 2000)
    assert gas_default == pytest.approx(
        (226_776 - BENCH_NETTED_SHARE * AMM_SWAP_GAS) * 10e-9 * 2000
    )
    # and only the routed share pays the pool (the 0.05 % WETH pool's fee, linear in the flow)
    assert fees_default == pytest.approx((1 - BENCH_NETTED_SHARE) * fees_alone, rel=1e-6)


def test_portfolio_size_changes_the_outcome_under_fixed_gas() -> None:
    table = synthetic_prices(days=365, seed=2)
    gas = CostModel((FixedGas(50.0),), "gas")
    small = simulate(table, Threshold(HALF, 0.02), HALF, 10_000.0, gas)
    large = simulate(table, Threshold(HALF, 0.02), HALF, 1_000_000.0, gas)
    assert small.rebalances == large.rebalances > 10
    drag_small = 1 - small.final_value / 10_000 / (large.final_value / 1_000_000)
    assert drag_small > 0.05  # $50 a trade is > 5 % of a $10k portfolio over the year


@pytest.mark.parametrize("policy", ["monthly", "threshold"])
def test_bt_mode_matches_bt_final_wealth(policy: str) -> None:
    pytest.importorskip("bt")
    from keeper.backtest.btref import bt_final_value

    table = synthetic_prices(days=400, seed=11)
    w = np.array([0.6, 0.4])
    pol = Calendar(w, "monthly") if policy == "monthly" else Threshold(w, 0.05)
    ours = simulate(table, pol, w, 100_000.0, proportional_costs(0.0025), "bt")
    final, path = bt_final_value(table, {"WBTC": 0.6, "WETH": 0.4}, policy, 0.0025, 100_000.0)
    assert ours.rebalances > 3
    assert abs(ours.final_value / final - 1) <= 1e-9
    np.testing.assert_allclose(ours.values, path, rtol=1e-9)
