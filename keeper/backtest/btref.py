"""The same backtests run by ``bt`` 1.4 (a dev dependency): the reference for ``bt`` mode.

``bt`` trades at the decision day's close, sizes target-weight orders on the strategy's total
value, and with ``integer_positions=False`` holds fractional units. Its band trigger
``RunIfOutOfBounds`` is relative to the target; :class:`AbsoluteBand` is the absolute band our
threshold policy uses (fires when a weight is strictly more than ``band`` from its target).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keeper.backtest.data import PriceTable


def _frame(table: PriceTable) -> Any:
    import pandas as pd

    return pd.DataFrame(
        table.prices, index=pd.DatetimeIndex(table.dates), columns=list(table.tokens)
    )


def bt_backtest(
    table: PriceTable,
    targets: dict[str, float],
    policy: str,
    fee: float,
    value: float,
    band: float = 0.05,
) -> Any:
    """An unrun ``bt.Backtest`` of ``policy`` ("monthly", "quarterly", "weekly", "threshold",
    "buy-and-hold") with commission ``|q| p fee``."""
    import bt

    class AbsoluteBand(bt.Algo):
        def __init__(self, width: float) -> None:
            super().__init__()
            self.width = width

        def __call__(self, target: Any) -> bool:
            weights = target.temp.get("weights", {})
            for name, w in weights.items():
                c = target.children.get(name)
                if c is None or abs(c.weight - w) > self.width:
                    return True
            return False

    runner: Any
    if policy == "monthly":
        runner = bt.algos.RunMonthly()
    elif policy == "quarterly":
        runner = bt.algos.RunQuarterly()
    elif policy == "weekly":
        runner = bt.algos.RunWeekly()
    elif policy == "buy-and-hold":
        runner = bt.algos.RunOnce()
    elif policy == "threshold":
        runner = bt.algos.Or([bt.algos.RunOnce(), AbsoluteBand(band)])
    else:
        raise ValueError(policy)
    strategy = bt.Strategy(
        policy, [bt.algos.WeighSpecified(**targets), runner, bt.algos.Rebalance()]
    )
    return bt.Backtest(
        strategy,
        _frame(table),
        initial_capital=value,
        commissions=lambda q, p: abs(q) * p * fee,
        integer_positions=False,
        progress_bar=False,
    )


def bt_final_value(
    table: PriceTable,
    targets: dict[str, float],
    policy: str,
    fee: float,
    value: float,
    band: float = 0.05,
) -> tuple[float, np.ndarray]:
    """Run ``bt`` and return its final value and value path (one per bar of ``table``)."""
    import bt

    test = bt_backtest(table, targets, policy, fee, value, band)
    res = bt.run(test)
    series = res.backtests[policy].strategy.values
    path = np.asarray(series.values[1:], dtype=np.float64)  # drop bt's day-before row
    return float(path[-1]), path
