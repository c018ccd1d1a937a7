"""Allocation models against hand-computed answers (derivations in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from keeper.strategy.exceptions import ModelError
from keeper.strategy.models.covariance import ledoit_wolf, log_returns, sample_covariance
from keeper.strategy.models.kelly import kelly_weights
from keeper.strategy.models.market_cap import capped_proportional, market_cap_weights, phase_in
from keeper.strategy.models.mean_variance import mean_variance_weights
from keeper.strategy.models.risk_parity import risk_contributions, risk_parity_weights
from keeper.strategy.models.tilt import momentum_tilt
from keeper.strategy.models.vol_target import portfolio_volatility, vol_target_weights

DIAG = np.diag([0.04, 0.09, 0.16])  # vols 20 %, 30 %, 40 %
# Assets 1 and 2 correlated (cov 0.02); the 2x2 block inverse is [[28.125, -6.25], [-6.25, 12.5]].
CORR = np.array([[0.04, 0.02, 0.0], [0.02, 0.09, 0.0], [0.0, 0.0, 0.16]])


def test_quarter_kelly_on_a_diagonal_covariance_keeps_the_rest_in_cash():
    # Sigma^-1 (mu - r) = (0.08/0.04, 0.09/0.09, 0.08/0.16) = (2, 1, 0.5); times 1/4.
    result = kelly_weights(np.array([0.10, 0.11, 0.10]), DIAG, 0.25, risk_free=0.02)
    np.testing.assert_allclose(result.unconstrained, [0.5, 0.25, 0.125], atol=1e-12)
    np.testing.assert_allclose(result.weights, [0.5, 0.25, 0.125], atol=1e-10)
    assert result.cash == pytest.approx(0.125, abs=1e-10)


def test_kelly_caps_bind_only_the_capped_asset_when_covariance_is_diagonal():
    result = kelly_weights(np.array([0.08, 0.09, 0.08]), DIAG, 0.25, caps=0.4)
    np.testing.assert_allclose(result.weights, [0.4, 0.25, 0.125], atol=1e-10)
    assert result.cash == pytest.approx(0.225, abs=1e-10)


def test_kelly_on_correlated_assets_matches_the_inverse_by_hand():
    # full Kelly: (28.125*0.1 - 6.25*0.05, -6.25*0.1 + 12.5*0.05, 0.08/0.16) = (2.5, 0, 0.5)
    result = kelly_weights(np.array([0.1, 0.05, 0.08]), CORR, 0.2)
    np.testing.assert_allclose(result.unconstrained, [0.5, 0.0, 0.1], atol=1e-12)
    np.testing.assert_allclose(result.weights, [0.5, 0.0, 0.1], atol=1e-10)


def test_long_only_kelly_drops_the_short_and_resizes_the_rest():
    # unconstrained asset 2: -6.25*0.1 + 12.5*0.02 = -0.375 (short). With w2 = 0 the others
    # are independent: 0.2*0.1/0.04 = 0.5 and 0.2*0.08/0.16 = 0.1. KKT for w2: 0.02 - 5*0.01 < 0.
    result = kelly_weights(np.array([0.1, 0.02, 0.08]), CORR, 0.2)
    assert result.unconstrained[1] == pytest.approx(-0.075)
    np.testing.assert_allclose(result.weights, [0.5, 0.0, 0.1], atol=1e-10)


def test_full_kelly_above_100_percent_is_normalised_onto_the_budget():
    # sum(w) = 1 binds: w_i = (e_i - nu)/s_i^2 with nu = 18/305 gives (32, 21, 8)/61.
    result = kelly_weights(np.array([0.08, 0.09, 0.08]), DIAG, 1.0)
    np.testing.assert_allclose(result.weights, np.array([32, 21, 8]) / 61, atol=1e-12)
    assert result.cash == pytest.approx(0.0, abs=1e-12)


def test_kelly_without_a_cash_asset_invests_everything():
    result = kelly_weights(np.array([0.08, 0.09, 0.08]), DIAG, 0.25, with_cash=False)
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(result.weights >= 0)


def test_kelly_rejects_a_singular_covariance():
    with pytest.raises(ModelError, match="positive definite"):
        kelly_weights(np.array([0.1, 0.1]), np.ones((2, 2)), 0.5)


def test_mean_variance_two_assets_matches_the_closed_form():
    # w = Sigma^-1 (mu - nu)/gamma, nu = -17/650 -> (41, 11)/52
    w = mean_variance_weights(np.array([0.10, 0.05]), np.diag([0.04, 0.09]), 4.0)
    np.testing.assert_allclose(w, np.array([41, 11]) / 52, atol=1e-12)


def test_mean_variance_respects_a_cap():
    w = mean_variance_weights(np.array([0.10, 0.05]), np.diag([0.04, 0.09]), 4.0, caps=0.7)
    np.testing.assert_allclose(w, [0.7, 0.3], atol=1e-12)


def test_mean_variance_respects_a_sector_cap():
    groups = np.array([[1.0, 1.0, 0.0]])  # assets 1 and 2 form a sector capped at 50 %
    w = mean_variance_weights(
        np.array([0.2, 0.2, 0.0]), DIAG, 1.0, groups=groups, group_caps=np.array([0.5])
    )
    assert w[0] + w[1] == pytest.approx(0.5, abs=1e-12)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)


def test_mean_variance_reports_infeasible_caps():
    with pytest.raises(ModelError, match="cannot add up"):
        mean_variance_weights(np.array([0.1, 0.1]), np.diag([0.04, 0.09]), 2.0, caps=0.4)


def test_risk_parity_on_a_diagonal_covariance_is_inverse_volatility():
    w = risk_parity_weights(DIAG)
    np.testing.assert_allclose(w, np.array([6, 4, 3]) / 13, atol=1e-14)  # ∝ (1/0.2, 1/0.3, 1/0.4)


def test_risk_parity_two_assets_ignores_correlation():
    cov = np.array([[0.04, 0.03], [0.03, 0.09]])  # rho = 0.5; ERC is still 1/sigma for n = 2
    np.testing.assert_allclose(risk_parity_weights(cov), [0.6, 0.4], atol=1e-14)


def test_risk_parity_equalises_risk_contributions_within_1e_8():
    vols = np.array([0.15, 0.45, 0.8, 0.05])
    rho = np.array(
        [[1.0, 0.3, 0.6, -0.1], [0.3, 1.0, 0.7, 0.0], [0.6, 0.7, 1.0, 0.2], [-0.1, 0.0, 0.2, 1.0]]
    )
    cov = rho * np.outer(vols, vols)
    w = risk_parity_weights(cov)
    rc = risk_contributions(w, cov)
    assert np.max(np.abs(rc - 0.25)) < 1e-8
    assert w.sum() == pytest.approx(1.0) and np.all(w > 0)


def test_risk_budgets_are_honoured():
    budgets = np.array([0.5, 0.3, 0.2])
    w = risk_parity_weights(CORR, budgets)
    np.testing.assert_allclose(risk_contributions(w, CORR), budgets, atol=1e-10)


def test_vol_targeting_halves_a_40_percent_portfolio_to_reach_20_percent():
    cov = np.diag([0.16, 0.04])
    assert portfolio_volatility(np.array([1.0, 0.0]), cov) == pytest.approx(0.4)
    scaled, cash = vol_target_weights(np.array([1.0, 0.0]), cov, 0.20)
    np.testing.assert_allclose(scaled, [0.5, 0.0])
    assert cash == pytest.approx(0.5)


def test_vol_targeting_never_levers_up_by_default():
    scaled, cash = vol_target_weights(np.array([0.0, 1.0]), np.diag([0.16, 0.04]), 0.5)
    np.testing.assert_allclose(scaled, [0.0, 1.0])
    assert cash == pytest.approx(0.0)


def test_ledoit_wolf_on_a_four_point_sample():
    # S = diag(0.5, 2), mu = 1.25, d2 = 0.5625, b2 = 17/32 -> shrinkage 17/18;
    # estimate = 17/18 * 1.25 I + 1/18 S = diag(29/24, 31/24).
    x = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    np.testing.assert_allclose(sample_covariance(x), np.diag([0.5, 2.0]))
    est, shrink = ledoit_wolf(x)
    assert shrink == pytest.approx(17 / 18, abs=1e-14)
    np.testing.assert_allclose(est, np.diag([29 / 24, 31 / 24]), atol=1e-14)


def test_ledoit_wolf_shrinks_little_when_data_is_plentiful():
    rng = np.random.default_rng(7)
    x = rng.multivariate_normal([0, 0, 0], CORR, size=20_000)
    est, shrink = ledoit_wolf(x)
    assert 0 <= shrink < 0.01
    np.testing.assert_allclose(est, CORR, atol=3e-3)


def test_log_returns_of_a_doubling_price():
    np.testing.assert_allclose(log_returns(np.array([1.0, 2.0, 4.0])), [np.log(2)] * 2)


def test_market_cap_weights_water_fill_above_the_ceiling():
    # A pinned at 50 %; the other 50 % split 30:10 between B and C.
    w = market_cap_weights({"A": 60.0, "B": 30.0, "C": 10.0, "D": 0.5}, min_cap=1.0, ceiling=0.5)
    assert w == pytest.approx({"A": 0.5, "B": 0.375, "C": 0.125})


def test_capping_cascades_when_the_redistribution_overflows():
    # 0.5 cap: A pinned, then B (0.45/0.55 of 0.5 = 0.409 < 0.5) stays; with a 0.4 cap both pin.
    w = capped_proportional(np.array([50.0, 45.0, 5.0, 5.0]), 0.4)
    np.testing.assert_allclose(w, [0.4, 0.4, 0.1, 0.1])


def test_a_listing_phases_in_over_the_configured_weeks():
    old, new = {"A": 0.5, "B": 0.5}, {"A": 0.5, "C": 0.5}
    assert phase_in(old, new, 2.5, 4) == pytest.approx({"A": 0.5, "B": 0.25, "C": 0.25})
    assert phase_in(old, new, 9, 4) == pytest.approx(new)


def test_momentum_tilt_leans_toward_the_winner_or_against_it():
    t, r = np.array([0.5, 0.5]), np.array([0.1, -0.1])
    np.testing.assert_allclose(momentum_tilt(t, r, 1.0, 0.1), [0.55, 0.45])
    np.testing.assert_allclose(momentum_tilt(t, r, -1.0, 0.1), [0.45, 0.55])
    np.testing.assert_allclose(momentum_tilt(t, r, 0.0, 0.1), t)
