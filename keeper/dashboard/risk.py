"""Risk metrics of a portfolio from daily closes (numpy, vectorised).

Returns are daily log returns of the portfolio's value series; annualised with 365 periods
(crypto trades every day). VaR and CVaR are historical, one day, at ``level`` (0.95: the loss
exceeded on one day in twenty, and the mean loss on those days). The EWMA forecast is
RiskMetrics' ``sigma^2_t = lambda sigma^2_{t-1} + (1 - lambda) r^2_{t-1}`` with lambda 0.94.
The correlation-shift flag compares the assets' correlation over the last ``recent`` days with
the whole window: it is raised when any pair moved by more than ``shift`` (0.3).

The backtester (issue 17) will own the shared metrics; until then this is the dashboard's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PERIODS = 365
EWMA_LAMBDA = 0.94
MIN_DAYS = 5

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RiskMetrics:
    days: int
    volatility: float | None = None  # annualised
    var: float | None = None  # one-day loss, fraction of value (positive = loss)
    cvar: float | None = None
    max_drawdown: float | None = None  # fraction from peak (positive)
    sharpe: float | None = None  # annualised, risk-free rate 0
    ewma_volatility: float | None = None  # annualised forecast for the next day
    correlation_shift: float | None = None  # largest change of a pair's correlation
    correlation_shifted: bool = False
    level: float = 0.95
    note: str = ""


def log_returns(series: FloatArray) -> FloatArray:
    values = np.asarray(series, dtype=np.float64)
    return np.diff(np.log(values), axis=0)


def max_drawdown(values: FloatArray) -> float:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(values)
    return float(np.max(1.0 - values / peaks))


def var_cvar(returns: FloatArray, level: float = 0.95) -> tuple[float, float]:
    """Historical one-day VaR and CVaR at ``level`` as positive loss fractions."""
    losses = -np.expm1(np.asarray(returns, dtype=np.float64))  # simple-return losses
    var = float(np.quantile(losses, level))
    tail = losses[losses >= var]
    return var, float(tail.mean()) if tail.size else var


def ewma_volatility(returns: FloatArray, lam: float = EWMA_LAMBDA) -> float:
    r = np.asarray(returns, dtype=np.float64)
    weights = (1 - lam) * lam ** np.arange(r.size - 1, -1, -1)
    variance = float(np.sum(weights * r**2) + lam**r.size * (r[0] ** 2 if r.size else 0.0))
    return float(np.sqrt(variance * PERIODS))


def correlation_shift(asset_returns: FloatArray, recent: int = 30) -> float | None:
    """Largest absolute change of a pairwise correlation: last ``recent`` days vs all days."""
    r = np.asarray(asset_returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 2 or r.shape[0] < max(recent, MIN_DAYS) + MIN_DAYS:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = np.corrcoef(r, rowvar=False)
        last = np.corrcoef(r[-recent:], rowvar=False)
    diff = np.abs(np.nan_to_num(last - whole))
    return float(diff.max())


def risk_metrics(
    closes: FloatArray,
    holdings: FloatArray,
    *,
    level: float = 0.95,
    recent: int = 30,
    shift: float = 0.3,
) -> RiskMetrics:
    """Metrics of holding ``holdings`` (whole tokens, one per column of ``closes``) over the
    daily ``closes`` (USD, days x tokens)."""
    closes = np.asarray(closes, dtype=np.float64)
    days = int(closes.shape[0]) if closes.ndim == 2 else 0
    if days < MIN_DAYS:
        return RiskMetrics(days=days, level=level, note=f"{days} days of prices; need {MIN_DAYS}")
    values = closes @ np.asarray(holdings, dtype=np.float64)
    r = log_returns(values)
    vol = float(np.std(r, ddof=1) * np.sqrt(PERIODS))
    var, cvar = var_cvar(r, level)
    mean = float(np.mean(r) * PERIODS)
    moved = correlation_shift(log_returns(closes), recent)
    return RiskMetrics(
        days=days,
        volatility=vol,
        var=var,
        cvar=cvar,
        max_drawdown=max_drawdown(values),
        sharpe=mean / vol if vol > 0 else None,
        ewma_volatility=ewma_volatility(r),
        correlation_shift=moved,
        correlation_shifted=moved is not None and moved > shift,
        level=level,
    )
