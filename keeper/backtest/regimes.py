"""Market regimes of historical windows, and every policy's results per regime.

The rule (docs/BACKTESTS.md): cut the bars into consecutive, non-overlapping windows of
``window`` bars (independent samples: no bar is in two windows). For each window take the
target-weighted buy-and-hold basket over it:

* **high-vol** if the basket's annualised volatility in the window exceeds ``vol_ratio``
  (1.25) times the median window volatility of the whole sample (relative to the data's own
  level, so a crypto sample is not "high-volatility" everywhere);
* else **bull** if the basket returned more than ``+trend`` (15 %) over the window,
  **bear** if less than ``-trend``, **sideways** otherwise.

A policy's result in a window is the window's slice of its one continuous replay (its book
carries over from the window before, as a user's would), and a cell reports the mean over
the regime's windows, with their count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.backtest.data import PriceTable
from keeper.backtest.metrics import compute
from keeper.backtest.result import BacktestResult

FloatArray = NDArray[np.float64]
REGIMES = ("bull", "bear", "sideways", "high-vol")


@dataclass(frozen=True)
class Window:
    first: int
    end: int
    regime: str
    basket_return: float
    basket_vol: float


def classify_windows(
    table: PriceTable,
    targets: FloatArray,
    window: int = 90,
    trend: float = 0.15,
    vol_ratio: float = 1.25,
) -> list[Window]:
    p = table.prices
    spans = [(s, s + window) for s in range(0, table.bars - window + 1, window)]
    rets, vols = [], []
    for s, e in spans:
        basket = (p[s:e] / p[s]) @ targets
        r = basket[1:] / basket[:-1] - 1.0
        rets.append(float(basket[-1] - 1.0))
        vols.append(float(r.std(ddof=1) * np.sqrt(table.periods_per_year)))
    if not spans:
        return []
    median_vol = float(np.median(vols))
    out = []
    for (s, e), ret, vol in zip(spans, rets, vols, strict=True):
        if vol > vol_ratio * median_vol:
            regime = "high-vol"
        elif ret > trend:
            regime = "bull"
        elif ret < -trend:
            regime = "bear"
        else:
            regime = "sideways"
        out.append(Window(s, e, regime, ret, vol))
    return out


@dataclass(frozen=True)
class RegimeCell:
    windows: int
    mean_return: float
    mean_volatility: float
    mean_max_drawdown: float


def regime_table(windows: list[Window], result: BacktestResult) -> dict[str, RegimeCell]:
    """Cells by regime from the slices of one continuous replay."""
    acc: dict[str, list[tuple[float, float, float]]] = {r: [] for r in REGIMES}
    years = (windows[0].end - windows[0].first) / result.periods_per_year if windows else 0.0
    for w in windows:
        v = result.values[w.first : w.end]
        m = compute(v, years, result.periods_per_year)
        acc[w.regime].append((m.total_return, m.volatility, m.max_drawdown))
    out = {}
    for regime, rows in acc.items():
        if rows:
            a = np.array(rows)
            out[regime] = RegimeCell(len(rows), *(float(x) for x in a.mean(axis=0)))
        else:
            out[regime] = RegimeCell(0, float("nan"), float("nan"), float("nan"))
    return out
