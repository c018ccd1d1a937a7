"""The price history: daily closes in SQLite, gaps, and its use by the engine."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from keeper.strategy.config import parse_strategy
from keeper.strategy.controls import ControlState
from keeper.strategy.costs import PoolCostModel
from keeper.strategy.engine import evaluate, market_sigma
from keeper.strategy.exceptions import StrategyConfigError
from keeper.strategy.live.history import PriceHistory
from keeper.strategy.market_data import MarketData

DAY = 86_400
T0 = 20_000 * DAY  # 2024-10-04 00:00 UTC


def test_the_last_sample_of_a_day_is_its_close_and_an_older_one_never_replaces_it(tmp_path):
    h = PriceHistory(tmp_path / "p.db", chain_id=1)
    assert h.record({"WETH": 3000.0, "USDC": 1.0}, T0 + 3600) == 2
    assert h.record({"WETH": 3100.0}, T0 + 7200) == 1  # later the same day: new close
    assert h.record({"WETH": 2900.0}, T0 + 100) == 0  # earlier sample: ignored
    h.record({"WETH": 3200.0, "USDC": 1.0}, T0 + DAY + 5)
    assert h.daily_prices(["WETH", "USDC"]).tolist() == [[3100.0, 1.0], [3200.0, 1.0]]
    assert h.days("WETH") == 2
    # another chain's prices are separate
    assert PriceHistory(tmp_path / "p.db", chain_id=5).daily_prices(["WETH"]).shape == (0, 1)


def test_short_gaps_carry_the_last_close_and_long_gaps_cut_the_series(tmp_path):
    h = PriceHistory(tmp_path / "p.db", chain_id=1, max_gap_days=2)
    for day, price in [(0, 10.0), (1, 11.0), (5, 12.0), (6, 13.0), (8, 14.0)]:
        h.record({"X": price}, T0 + day * DAY)
    # day 7 is missing (carried), days 2-4 are a 3-day gap (> 2): the series starts at day 5
    assert h.daily_prices(["X"])[:, 0].tolist() == [12.0, 13.0, 13.0, 14.0]


def test_the_series_ends_on_the_last_day_every_token_has_a_close(tmp_path):
    h = PriceHistory(tmp_path / "p.db", chain_id=1)
    for day in range(3):
        h.record({"A": 1.0 + day, "B": 10.0 + day}, T0 + day * DAY)
    h.record({"A": 9.0}, T0 + 3 * DAY)  # B has no close yet today
    assert h.daily_prices(["A", "B"]).tolist() == [[1.0, 10.0], [2.0, 11.0], [3.0, 12.0]]
    assert h.daily_prices(["A", "C"]).shape == (0, 2)  # C never recorded


def test_an_unusable_history_path_names_the_key(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StrategyConfigError, match=r"'history\.path'"):
        PriceHistory(tmp_path / "file" / "p.db", chain_id=1)


def test_recorded_history_drives_the_volatility_regime_and_the_slippage_sigma(tmp_path):
    # WETH alternates +-4 % a day: sd of log returns = 0.04 -> 0.04 * sqrt(365) = 76.4 %
    h = PriceHistory(tmp_path / "p.db", chain_id=1)
    price = 3000.0
    for day in range(40):
        h.record({"WETH": price, "USDC": 1.0}, T0 + day * DAY)
        price *= float(np.exp(0.04 if day % 2 == 0 else -0.04))
    closes = h.daily_prices(["WETH", "USDC"])
    cfg = parse_strategy(
        {
            "name": "v",
            "preset": "custom",
            "band": "5%",
            "targets": {"WETH": 0.5, "USDC": 0.5},
            "triggers": {
                "volatility": {"enabled": True, "lookback_days": 30, "reference": "absolute"}
            },
        }
    )
    data = MarketData(("WETH", "USDC"), closes)
    costs = PoolCostModel(gas_price_gwei=1.0, eth_usd=3000.0)
    now = datetime.fromtimestamp(T0 + 40 * DAY, UTC)
    ev = evaluate(cfg, {"WETH": 5e5, "USDC": 5e5}, now, ControlState(), data, costs)
    vol = 0.04 * np.sqrt(365) * np.sqrt(30 / 29)  # ddof=1 over 30 returns
    assert f"volatility {vol * 100:.0f}% (extreme)" in ev.explanation
    assert ev.band == pytest.approx(0.05 * 1.6)
    assert "price history" not in ev.explanation
    assert market_sigma(cfg, ev.targets, data) == pytest.approx(vol)
    # too short: the default is used and the line says why
    short = MarketData(("WETH", "USDC"), closes[:10])
    ev = evaluate(cfg, {"WETH": 5e5, "USDC": 5e5}, now, ControlState(), short, costs)
    assert (
        "price history: 10 daily close(s), need 21: default volatility 80% (stablecoins 1%), "
        "volatility/regime triggers off" in ev.explanation
    )
    assert market_sigma(cfg, ev.targets, short) == 0.8
