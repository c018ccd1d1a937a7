"""Market regime: mean-reverting (sideways) vs trending (momentum), detected statistically.

Variance ratio (Lo and MacKinlay 1988), overlapping q-period sums of returns ``r`` (T values,
mean ``m``, deviations ``e_t = r_t - m``):

    s1^2 = sum e_t^2 / T,   sq^2 = sum_t (r_t + ... + r_{t-q+1} - q m)^2 / (q (T - q + 1))
    VR(q) = sq^2 / s1^2

(these are the plain 1/T and 1/(q(T-q+1)) normalisations, without Lo-MacKinlay's small-sample
bias corrections). The z statistic is their heteroskedasticity-consistent ``z*(q)``, which
keeps its size when volatility clusters (as crypto's does; the homoskedastic z rejects a
random walk several times too often there):

    delta_j = T sum_{t>j} e_t^2 e_{t-j}^2 / (sum_t e_t^2)^2
    theta(q) = sum_{j=1}^{q-1} (2 (q - j) / q)^2 delta_j,   z* = sqrt(T) (VR - 1) / sqrt(theta)

With constant-variance returns ``delta_j ~ 1`` and ``theta`` is the homoskedastic
``2 (2q - 1)(q - 1) / (3q)``. VR < 1 means negatively autocorrelated returns (mean
reversion), VR > 1 positive (momentum); ``VR(2) ~ 1 + rho_1`` (the first-order
autocorrelation), up to end effects of order 1/T.

Because the ratio is blind to a steady drift, a significant mean return
(``t = m / (sd / sqrt T)``) also counts as trending. Hurst exponent by the variance-time
method: ``Var(q-sums) ∝ q^(2H)``, so H is half the slope of log variance on log q
(H < 0.5 mean-reverting, 0.5 random walk, > 0.5 persistent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.constants import MarketRegime
from keeper.strategy.exceptions import ModelError

FloatArray = NDArray[np.float64]


def variance_ratio(returns: FloatArray, q: int) -> tuple[float, float]:
    """Return ``(VR(q), z*)`` for a 1-D return series (z* heteroskedasticity-consistent)."""
    r = np.asarray(returns, dtype=np.float64)
    t = r.shape[0]
    if q < 2 or t < 2 * q:
        raise ModelError("variance-ratio", f"need q >= 2 and at least {2 * q} returns, got {t}")
    m = r.mean()
    s1 = float(np.sum((r - m) ** 2)) / t
    if s1 == 0:
        raise ModelError("variance-ratio", "returns have zero variance")
    csum = np.concatenate([[0.0], np.cumsum(r)])
    sums = csum[q:] - csum[:-q]
    sq = float(np.sum((sums - q * m) ** 2)) / (q * (t - q + 1))
    vr = sq / s1
    e2 = (r - m) ** 2
    denom = float(np.sum(e2)) ** 2
    theta = sum(
        (2.0 * (q - j) / q) ** 2 * t * float(np.dot(e2[j:], e2[:-j])) / denom for j in range(1, q)
    )
    if theta <= 0:
        raise ModelError("variance-ratio", "returns have no variance at any lag")
    z = np.sqrt(t) * (vr - 1.0) / np.sqrt(theta)
    return vr, float(z)


def hurst_exponent(returns: FloatArray, scales: tuple[int, ...] = (1, 2, 4, 8, 16)) -> float:
    r = np.asarray(returns, dtype=np.float64)
    r = r - r.mean()
    if r.shape[0] < 4 * max(scales):
        raise ModelError("hurst", f"need at least {4 * max(scales)} returns, got {r.shape[0]}")
    csum = np.concatenate([[0.0], np.cumsum(r)])
    variances = np.array([np.var(csum[q:] - csum[:-q]) for q in scales])
    slope = np.polyfit(np.log(scales), np.log(variances), 1)[0]
    return float(slope / 2.0)


def drift_t_stat(returns: FloatArray) -> float:
    r = np.asarray(returns, dtype=np.float64)
    sd = r.std(ddof=1)
    return 0.0 if sd == 0 else float(r.mean() / (sd / np.sqrt(r.shape[0])))


@dataclass(frozen=True)
class RegimeReading:
    regime: MarketRegime
    statistic: float  # VR(q) or H
    z: float  # VR z-score (0 for Hurst)
    drift_t: float
    method: str

    @property
    def reason(self) -> str:
        stat = (
            f"VR={self.statistic:.2f} z={self.z:+.1f}"
            if self.method == "variance-ratio"
            else (f"H={self.statistic:.2f}")
        )
        return f"market {self.regime.value} ({stat}, drift t={self.drift_t:+.1f})"


def detect_regime(
    returns: FloatArray,
    method: str = "variance-ratio",
    q: int = 4,
    z_critical: float = 1.96,
    hurst_band: float = 0.1,
) -> RegimeReading:
    """Classify a 1-D return series."""
    drift_t = drift_t_stat(returns)
    if method == "variance-ratio":
        stat, z = variance_ratio(returns, q)
        reverting, trending = z < -z_critical, z > z_critical
    elif method == "hurst":
        stat, z = hurst_exponent(returns), 0.0
        reverting, trending = stat < 0.5 - hurst_band, stat > 0.5 + hurst_band
    else:
        raise ModelError("regime", f"unknown method '{method}'")
    if reverting:
        regime = MarketRegime.MEAN_REVERTING
    elif trending or abs(drift_t) > z_critical:
        regime = MarketRegime.TRENDING
    else:
        regime = MarketRegime.RANDOM_WALK
    return RegimeReading(regime, stat, z, drift_t, method)
