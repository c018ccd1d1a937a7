"""Sweeps agree with the replay; regimes are classified by the documented rule."""

from __future__ import annotations

import numpy as np

from keeper.backtest.costs import CostModel, FixedGas, ProportionalFee
from keeper.backtest.data import PriceTable
from keeper.backtest.policies import Threshold
from keeper.backtest.regimes import classify_windows
from keeper.backtest.simulator import simulate
from keeper.backtest.sweep import sweep_threshold
from keeper.backtest.synthetic import synthetic_prices
from keeper.backtest.walkforward import walk_forward


def test_a_vectorised_sweep_equals_one_replay_per_configuration() -> None:
    table = synthetic_prices(days=900, seed=4)
    w = np.array([0.5, 0.5])
    bands = np.array([0.02, 0.05, 0.1, 0.2])
    sweep = sweep_threshold(table.prices, w, bands, 10_000.0, fee=0.002, gas_usd=15.0)
    model = CostModel((FixedGas(15.0), ProportionalFee(0.002)))
    for k, band in enumerate(bands):
        one = simulate(table, Threshold(w, float(band)), w, 10_000.0, model)
        assert sweep.rebalances[k] == one.rebalances
        np.testing.assert_allclose(sweep.values[k], one.values, rtol=1e-12)


def test_windows_are_classified_by_return_and_relative_volatility() -> None:
    # 10-bar windows with the same +-1 % wiggle: up 30 %, down 30 %, flat, flat, and one
    # flat window with a +-15 % wiggle (high volatility relative to the sample's median)
    wiggle = 1.0 + 0.01 * (-1.0) ** np.arange(10)
    trend = {"up": np.linspace(1.0, 1.3, 10), "down": np.linspace(1.0, 0.7, 10)}
    pieces = [trend["up"] * wiggle, trend["down"] * wiggle, wiggle, wiggle]
    pieces.append(1.0 + 0.15 * (-1.0) ** np.arange(10))
    path = np.concatenate(pieces)
    dates = (np.datetime64("2024-01-01", "D") + np.arange(50)).astype("datetime64[s]")
    table = PriceTable(dates, ("A",), path[:, None])
    regimes = [w.regime for w in classify_windows(table, np.array([1.0]), window=10)]
    assert regimes == ["bull", "bear", "sideways", "sideways", "high-vol"]


def test_walk_forward_reports_out_of_sample_stretches_only() -> None:
    table = synthetic_prices(days=1500, seed=9)
    wf = walk_forward(
        table.prices,
        np.array([0.5, 0.5]),
        np.array([0.02, 0.1]),
        1e4,
        0.05,
        in_sample=730,
        out_of_sample=365,
    )
    assert wf is not None
    assert [(a, b) for a, b, _ in wf.steps] == [(730, 1095), (1095, 1460), (1460, 1500)]
    assert len(wf.values) == 1501 - 730
