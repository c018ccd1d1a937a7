"""Volatility regime: band and cadence follow market volatility.

Market volatility is the target-weighted average of the annualised volatilities of the
strategy's non-stable assets (``sigma_i = sd(daily log returns) * sqrt(365)``, in %) over the
last ``lookback_days``. By default it is read **relative** to the same average over the last
``reference_days`` (the assets' own long-run level): the regime is the highest level at or
below ``100 * recent / long-run``: extreme >= 175, high >= 125, medium >= 75, else low
(:data:`~keeper.strategy.constants.RELATIVE_VOLATILITY_REGIMES`). With ``reference:
absolute`` the levels are the product document's annual volatilities: extreme >= 60, high
>= 40, medium >= 25, else low (its low level is 15). Each regime sets a cadence (monthly,
bi-weekly, weekly, daily) and scales the band (docs/STRATEGIES.md says which direction the
backtests support).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.constants import (
    PERIODS_PER_YEAR,
    RELATIVE_VOLATILITY_REGIMES,
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
    #: the long-run level the regime was read against (relative rule), in %
    reference_pct: float | None = None
    reference_days: int | None = None

    @property
    def reason(self) -> str:
        rel = ""
        if self.reference_pct:
            rel = (
                f" = {self.vol_pct / self.reference_pct:.2f}x its {self.reference_days}-day "
                f"level {self.reference_pct:.0f}%"
            )
        return (
            f"volatility {self.vol_pct:.0f}%{rel} ({self.regime.value}): "
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


def volatility_reading(
    vol_pct: float, reference_pct: float | None = None, reference_days: int | None = None
) -> VolatilityReading:
    """The regime of ``vol_pct``: absolute, or relative to ``reference_pct`` when given."""
    if reference_pct is not None and reference_pct > 0:
        rules = RELATIVE_VOLATILITY_REGIMES
        regime = classify_volatility(100.0 * vol_pct / reference_pct, rules)
    else:
        rules = VOLATILITY_REGIMES
        regime = classify_volatility(vol_pct, rules)
        reference_pct = None
    rule = rules[regime]
    return VolatilityReading(
        vol_pct, regime, rule.frequency, rule.band_scale, reference_pct, reference_days
    )
