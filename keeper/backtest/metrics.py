"""Performance metrics of a value path (one value per bar), as the report defines them.

With simple bar returns ``r_t = V_t / V_{t-1} - 1`` and ``P`` bars per year:

* total return ``V_T / V_0 - 1``; annualised ``(V_T / V_0)^(1 / years) - 1`` (calendar years);
* volatility ``sd(r) sqrt(P)`` (sample sd);
* max drawdown ``max_t (1 - V_t / max_{s<=t} V_s)`` (a positive fraction);
* Sharpe ``mean(r) / sd(r) sqrt(P)`` and Sortino ``mean(r) / sqrt(mean(min(r, 0)^2)) sqrt(P)``,
  both with a zero risk-free rate;
* Calmar: annualised return / max drawdown;
* VaR and CVaR (historical, one bar, positive = loss): ``VaR_a = -q_{1-a}(r)`` (linear
  interpolation), ``CVaR_a = -mean(r | r <= q_{1-a})``.

Forecasts (the dashboard's risk panel reads them too):

* EWMA volatility (RiskMetrics): ``s2_t = lambda s2_{t-1} + (1 - lambda) r_{t-1}^2`` with
  lambda 0.94, seeded with the first squared return, annualised ``sqrt(s2_T P)``;
* correlation shift: the largest absolute change of a pairwise correlation of the assets' bar
  returns, over the last ``recent`` bars against the whole window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

EWMA_LAMBDA = 0.94
#: bars of returns a correlation needs, in the recent window and before it
MIN_CORRELATION_BARS = 5


@dataclass(frozen=True)
class Metrics:
    total_return: float
    annual_return: float
    volatility: float
    max_drawdown: float
    sharpe: float
    sortino: float
    calmar: float
    var95: float
    cvar95: float
    var99: float
    cvar99: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def drawdowns(values: FloatArray) -> FloatArray:
    peak = np.maximum.accumulate(values)
    return np.asarray(1.0 - values / peak)


def _tail(r: FloatArray, level: float) -> tuple[float, float]:
    if r.size == 0:
        return 0.0, 0.0
    q = float(np.quantile(r, 1.0 - level))
    return -q, -float(r[r <= q].mean())


def compute(values: FloatArray, years: float, periods_per_year: float) -> Metrics:
    v = np.asarray(values, dtype=np.float64)
    r = v[1:] / v[:-1] - 1.0
    total = float(v[-1] / v[0] - 1.0)
    annual = float((v[-1] / v[0]) ** (1.0 / years) - 1.0) if years > 0 else 0.0
    sd = float(r.std(ddof=1)) if r.size > 1 else 0.0
    mean = float(r.mean()) if r.size else 0.0
    down = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))) if r.size else 0.0
    ann = np.sqrt(periods_per_year)
    mdd = float(drawdowns(v).max())
    var95, cvar95 = _tail(r, 0.95)
    var99, cvar99 = _tail(r, 0.99)
    return Metrics(
        total_return=total,
        annual_return=annual,
        volatility=sd * ann,
        max_drawdown=mdd,
        sharpe=mean / sd * ann if sd > 0 else 0.0,
        sortino=mean / down * ann if down > 0 else 0.0,
        calmar=annual / mdd if mdd > 0 else 0.0,
        var95=var95,
        cvar95=cvar95,
        var99=var99,
        cvar99=cvar99,
    )


def bar_returns(values: FloatArray) -> FloatArray:
    """Simple returns ``V_t / V_{t-1} - 1`` along the first axis (the ones :func:`compute`
    uses)."""
    v = np.asarray(values, dtype=np.float64)
    return np.asarray(v[1:] / v[:-1] - 1.0)


def ewma_volatility(
    returns: FloatArray, periods_per_year: float, lam: float = EWMA_LAMBDA
) -> float:
    """Annualised EWMA volatility forecast for the next bar (module docstring)."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size == 0:
        return 0.0
    weights = (1 - lam) * lam ** np.arange(r.size - 1, -1, -1)
    variance = float(np.sum(weights * r**2) + lam**r.size * r[0] ** 2)
    return float(np.sqrt(variance * periods_per_year))


def correlation_shift(asset_returns: FloatArray, recent: int = 30) -> float | None:
    """Largest absolute change of a pairwise correlation, last ``recent`` bars vs all bars
    (``asset_returns``: bars x assets); None with fewer than two assets or too few bars."""
    r = np.asarray(asset_returns, dtype=np.float64)
    need = max(recent, MIN_CORRELATION_BARS) + MIN_CORRELATION_BARS
    if r.ndim != 2 or r.shape[1] < 2 or r.shape[0] < need:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = np.corrcoef(r, rowvar=False)
        last = np.corrcoef(r[-recent:], rowvar=False)
    return float(np.abs(np.nan_to_num(last - whole)).max())
