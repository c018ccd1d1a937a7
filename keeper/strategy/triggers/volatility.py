"""Volatility regime: band and cadence follow market volatility.

Market volatility is the target-weighted average of the annualised volatilities of the
strategy's non-stable assets (``sigma_i = sd(daily log returns) * sqrt(365)``, in %). The
regime is the highest level at or below it: extreme >= 60, high >= 40, medium >= 25, else low
(the product document's low level is 15). Each regime sets a cadence (monthly, bi-weekly,
weekly, daily) and scales the band (see :data:`~keeper.strategy.constants.VOLATILITY_REGIMES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.constants import (
    PERIODS_PER_YEAR,
    VOLATILITY_REGIMES,
    Frequency,
    RegimeRule,
    VolatilityRegime,
)

FloatArray = NDArray[np.float64]


def annualised_volatility_pct(returns: FloatArray) -> FloatArray:
    """Per-column annualised volatility in % of daily log returns ``(T, n)``."""
    r = np.asarray(returns, dtype=np.float64)
    return np.asarray(r.std(axis=0, ddof=1) * np.sqrt(PERIODS_PER_YEAR) * 100.0)


def classify_volatility(
    vol_pct: float, rules: dict[VolatilityRegime, RegimeRule] = VOLATILITY_REGIMES
) -> VolatilityRegime:
    regime = VolatilityRegime.LOW
    for name, rule in sorted(rules.items(), key=lambda kv: kv[1].level):
        if name is not VolatilityRegime.LOW and vol_pct >= rule.level:
            regime = name
    return regime


@dataclass(frozen=True)
class VolatilityReading:
    vol_pct: float
    regime: VolatilityRegime
    frequency: Frequency
    band_scale: float

    @property
    def reason(self) -> str:
        return (
            f"volatility {self.vol_pct:.0f}% ({self.regime.value}): "
            f"check {self.frequency.value}, band x{self.band_scale:g}"
        )


def market_volatility_pct(
    returns: FloatArray, target_weights: FloatArray, stable: NDArray[np.bool_]
) -> float:
    vols = annualised_volatility_pct(returns)
    w = np.where(stable, 0.0, np.asarray(target_weights, dtype=np.float64))
    if w.sum() == 0:
        return 0.0
    return float(vols @ w / w.sum())


def volatility_reading(vol_pct: float) -> VolatilityReading:
    regime = classify_volatility(vol_pct)
    rule = VOLATILITY_REGIMES[regime]
    return VolatilityReading(vol_pct, regime, rule.frequency, rule.band_scale)
