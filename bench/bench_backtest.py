"""Backtester figures: same final wealth as bt and the speed ratio, side by side in one run;
a 10-year, 20-asset, 5-policy replay; a 100-configuration sweep; a strategy file through the
live engine."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _vs_bt() -> None:
    import bt  # noqa: F401  (imported once, outside the timings)

    from keeper.backtest.btref import bt_backtest
    from keeper.backtest.costs import proportional_costs
    from keeper.backtest.policies import Calendar, Threshold
    from keeper.backtest.simulator import simulate
    from keeper.backtest.synthetic import synthetic_prices

    table = synthetic_prices(days=800, seed=1)
    w = np.array([0.5, 0.5])
    fee = 0.001
    costs = proportional_costs(fee)
    print("2 assets x 801 daily bars, 50/50, commission 0.1 % (bt's |q| p f), $1M, bt mode:")
    print(
        f"{'policy':<14}{'ours final $':>20}{'bt final $':>20}{'rel diff':>11}"
        f"{'ours ms':>9}{'bt ms':>9}{'ratio':>8}"
    )
    for name, make in (
        ("monthly", lambda: Calendar(w, "monthly")),
        ("threshold", lambda: Threshold(w, 0.05)),
    ):
        ours = simulate(table, make(), w, 1e6, costs, "bt")

        def run_bt(name: str = name) -> float:
            import bt as _bt

            test = bt_backtest(table, {"WBTC": 0.5, "WETH": 0.5}, name, fee, 1e6)
            res = _bt.run(test)
            return float(res.backtests[name].strategy.values.iloc[-1])

        theirs = run_bt()
        t_ours = _best(lambda make=make: simulate(table, make(), w, 1e6, costs, "bt"), 50)
        t_bt = _best(run_bt, 5)
        print(
            f"{name:<14}{ours.final_value:>20,.6f}{theirs:>20,.6f}"
            f"{abs(ours.final_value / theirs - 1):>11.1e}{t_ours * 1e3:>9.2f}{t_bt * 1e3:>9.1f}"
            f"{t_bt / t_ours:>7.0f}x"
        )


def _twenty_assets() -> None:
    from keeper.backtest.costs import CostModel, FixedGas, ProportionalFee
    from keeper.backtest.policies import BuyAndHold, Calendar, Threshold
    from keeper.backtest.pools import profiles_for
    from keeper.backtest.runner import CostSettings, cost_model
    from keeper.backtest.simulator import simulate
    from keeper.backtest.synthetic import synthetic_prices

    tokens = tuple(f"T{i:02d}" for i in range(20))
    table = synthetic_prices(days=3650, seed=2, tokens=tokens)
    w = np.full(20, 1 / 20)
    makers = [
        lambda: BuyAndHold(w),
        lambda: Calendar(w, "weekly"),
        lambda: Calendar(w, "monthly"),
        lambda: Calendar(w, "quarterly"),
        lambda: Threshold(w, 0.02),
    ]
    simple = CostModel((FixedGas(20.0), ProportionalFee(0.003)), "gas + 0.3 %")
    onchain = cost_model(table, CostSettings(gas_gwei=np.full(table.bars, 10.0)))
    _ = profiles_for(tokens)
    for label, model in (
        ("fixed gas + proportional", simple),
        ("on-chain (exact V2/V3 legs)", onchain),
    ):

        def all_five(model: CostModel = model) -> int:
            return sum(simulate(table, m(), w, 1e6, model).rebalances for m in makers)

        n = all_five()
        t = _best(all_five, 3)
        print(f"10 y daily x 20 assets x 5 policies, costs {label}: {t:.3f} s ({n} rebalances)")


def _sweep() -> None:
    from keeper.backtest.sweep import sweep_threshold
    from keeper.backtest.synthetic import synthetic_prices

    table = synthetic_prices(days=3650, seed=3)
    bands = np.linspace(0.01, 0.25, 100)
    t = _best(
        lambda: sweep_threshold(table.prices, np.array([0.5, 0.5]), bands, 1e4, 0.003, 20.0), 3
    )
    print(f"100-configuration threshold sweep, 2 assets x 10 y daily: {t:.3f} s")


def _strategy() -> None:
    from keeper.backtest.policies import StrategyPolicy
    from keeper.backtest.runner import CostSettings, cost_model
    from keeper.backtest.simulator import simulate
    from keeper.backtest.synthetic import synthetic_prices
    from keeper.strategy.config import parse_strategy

    cfg = parse_strategy(
        {
            "name": "bench",
            "targets": {"WBTC": 0.4, "WETH": 0.3, "USDC": 0.3},
            "band": 0.05,
            "frequency": "monthly",
            "triggers": {"volatility": {"enabled": True}, "regime": {"enabled": True}},
        }
    )
    table = synthetic_prices(days=1000, seed=4, stable=("USDC",)).select(["USDC", "WBTC", "WETH"])
    w = np.array([0.3, 0.4, 0.3])
    model = cost_model(table, CostSettings())
    t = _best(lambda: simulate(table, StrategyPolicy(cfg), w, 1e5, model), 1)
    print(
        f"strategy file through the live engine (volatility + regime triggers, cost gate): "
        f"{table.bars} bars in {t:.2f} s ({t / table.bars * 1e3:.2f} ms per evaluation)"
    )


def run() -> None:
    _vs_bt()
    _twenty_assets()
    _sweep()
    _strategy()
