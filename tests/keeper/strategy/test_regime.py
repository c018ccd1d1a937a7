"""Market-regime detection on series with known structure."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.strategy.constants import MarketRegime
from keeper.strategy.exceptions import ModelError
from keeper.strategy.triggers.regime import (
    detect_regime,
    drift_t_stat,
    hurst_exponent,
    variance_ratio,
)

T = 4000


def ar1(phi: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eps = rng.normal(0, 0.01, n)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + eps[t]
    return x


def test_alternating_returns_have_variance_ratio_zero_and_z_about_minus_sqrt_t():
    # +1, -1, ...: every 2-period sum is 0, so VR(2) = 0; every e_t^2 = 1, so the robust
    # delta_1 = T (T - 1) / T^2 and z* = -sqrt(T) / sqrt(delta_1) (homoskedastic: -sqrt(T))
    r = np.tile([1.0, -1.0], 50)
    vr, z = variance_ratio(r, 2)
    assert vr == pytest.approx(0.0, abs=1e-15)
    assert z == pytest.approx(-np.sqrt(100) / np.sqrt(99 / 100))


def test_variance_ratio_two_is_about_one_plus_the_first_autocorrelation():
    # pattern + + - -: lag-1 autocorrelation 0 -> VR(2) = 1; every 4-sum is 0 -> VR(4) = 0.
    r = np.tile([1.0, 1.0, -1.0, -1.0], 25)
    assert variance_ratio(r, 2)[0] == pytest.approx(1.0, abs=0.02)
    assert variance_ratio(r, 4)[0] == pytest.approx(0.0, abs=1e-15)


def test_mean_reverting_prices_are_detected():
    # log price AR(1) with phi = 0.5: returns have rho_1 = -(1 - phi)/2 = -0.25 -> VR(2) = 0.75.
    r = np.diff(ar1(0.5, T + 1, seed=1))
    assert variance_ratio(r, 2)[0] == pytest.approx(0.75, abs=0.04)
    reading = detect_regime(r, q=2)
    assert reading.regime is MarketRegime.MEAN_REVERTING
    assert reading.reason.startswith("market mean-reverting (VR=0.7")


def test_momentum_returns_are_trending():
    # returns AR(1) with phi = 0.3: VR(2) = 1 + 0.3
    r = ar1(0.3, T, seed=2)
    assert variance_ratio(r, 2)[0] == pytest.approx(1.3, abs=0.05)
    assert detect_regime(r, q=2).regime is MarketRegime.TRENDING


def test_random_walk_without_drift_is_neither():
    r = np.random.default_rng(3).normal(0, 0.02, T)
    reading = detect_regime(r)
    assert reading.regime is MarketRegime.RANDOM_WALK
    assert abs(reading.z) < 1.96


def test_random_walk_with_drift_is_trending_through_its_drift():
    # daily drift 0.3 % against 2 % noise: t ~ 0.003 / (0.02 / sqrt(4000)) ~ 9.5
    r = np.random.default_rng(4).normal(0.003, 0.02, T)
    reading = detect_regime(r)
    assert abs(reading.z) < 1.96  # the variance ratio alone cannot see a drift
    assert reading.drift_t == pytest.approx(9.5, abs=1.5)
    assert reading.regime is MarketRegime.TRENDING


def test_hurst_exponent_separates_the_three_structures():
    rng = np.random.default_rng(5)
    assert hurst_exponent(rng.normal(0, 1, T)) == pytest.approx(0.5, abs=0.05)
    assert hurst_exponent(np.diff(ar1(0.5, T + 1, seed=6))) < 0.4
    assert hurst_exponent(ar1(0.5, T, seed=7)) > 0.6
    assert detect_regime(np.diff(ar1(0.5, T + 1, seed=6)), method="hurst").regime is (
        MarketRegime.MEAN_REVERTING
    )


def test_drift_t_stat_by_hand():
    # mean 1, sample sd 1 (values 0 and 2, n=2 ... use 0,2,0,2: sd = sqrt(4/3)) -> t = 1/(sd/2)
    r = np.array([0.0, 2.0, 0.0, 2.0])
    assert drift_t_stat(r) == pytest.approx(1.0 / (np.sqrt(4 / 3) / 2))


def test_too_short_a_series_is_refused():
    with pytest.raises(ModelError, match="at least 8"):
        variance_ratio(np.ones(5), 4)
