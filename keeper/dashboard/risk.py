"""The risk panel: the backtester's metrics (:mod:`keeper.backtest.metrics`) of holding a
portfolio over its daily closes.

One implementation: volatility, one-day historical VaR / CVaR at 95 %, max drawdown and Sharpe
(risk-free 0) are :func:`keeper.backtest.metrics.compute` on the holding's value series (simple
daily returns, 365 periods a year: crypto trades every day); the EWMA volatility forecast and
the correlation-shift flag are :func:`~keeper.backtest.metrics.ewma_volatility` and
:func:`~keeper.backtest.metrics.correlation_shift`. The flag is raised when a pair's
correlation over the last ``recent`` days moved by more than ``shift`` (0.3) from the whole
window's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.backtest import metrics

PERIODS = 365
MIN_DAYS = 5
LEVEL = 0.95  # the level of backtest.metrics' var95 / cvar95

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RiskMetrics:
    days: int
    volatility: float | None = None  # annualised
    var: float | None = None  # one-day loss, fraction of value (positive = loss)
    cvar: float | None = None
    max_drawdown: float | None = None  # fraction from peak (positive)
    sharpe: float | None = None  # annualised, risk-free rate 0; None for a flat series
    ewma_volatility: float | None = None  # annualised forecast for the next day
    correlation_shift: float | None = None  # largest change of a pair's correlation
    correlation_shifted: bool = False
    level: float = LEVEL
    note: str = ""


def risk_metrics(
    closes: FloatArray, holdings: FloatArray, *, recent: int = 30, shift: float = 0.3
) -> RiskMetrics:
    """Metrics of holding ``holdings`` (whole tokens, one per column of ``closes``) over the
    daily ``closes`` (USD, days x tokens)."""
    closes = np.asarray(closes, dtype=np.float64)
    days = int(closes.shape[0]) if closes.ndim == 2 else 0
    if days < MIN_DAYS:
        return RiskMetrics(days=days, note=f"{days} days of prices; need {MIN_DAYS}")
    values = closes @ np.asarray(holdings, dtype=np.float64)
    m = metrics.compute(values, years=(days - 1) / PERIODS, periods_per_year=PERIODS)
    moved = metrics.correlation_shift(metrics.bar_returns(closes), recent)
    return RiskMetrics(
        days=days,
        volatility=m.volatility,
        var=m.var95,
        cvar=m.cvar95,
        max_drawdown=m.max_drawdown,
        sharpe=m.sharpe if m.volatility > 0 else None,
        ewma_volatility=metrics.ewma_volatility(metrics.bar_returns(values), PERIODS),
        correlation_shift=moved,
        correlation_shifted=moved is not None and moved > shift,
    )
