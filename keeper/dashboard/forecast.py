"""Cost to rebalance now vs the expected cost of waiting.

*Now*: the routed cost (gas, LP fees, price impact; :class:`RoutedCostEstimator`, the one the
strategy's cost gate uses) of trading every weight back to its target at this block.
*Waiting*: the expected tracking-error cost of keeping today's drift over the strategy's
horizon, ``1/2 gamma d' Sigma d V h / 365`` (:func:`keeper.strategy.decisions.tracking_cost`),
Sigma from the price history (Ledoit-Wolf, as the engine does) or the engine's default
volatilities without enough of it. When waiting costs more than trading, rebalancing pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from keeper.strategy.constants import PERIODS_PER_YEAR
from keeper.strategy.costs import ZERO_COST, CostEstimate
from keeper.strategy.decisions import DecisionRules, tracking_cost
from keeper.strategy.engine import DEFAULT_VOL, MIN_HISTORY_DAYS
from keeper.strategy.models.covariance import ledoit_wolf, log_returns


@dataclass(frozen=True)
class CostOfWaiting:
    now: CostEstimate
    waiting_usd: float
    horizon_days: float


def covariance(cfg: Any, symbols: list[str], data: Any) -> Any:
    enough = data.prices is not None and data.prices.shape[0] >= max(
        MIN_HISTORY_DAYS, len(symbols) + 3
    )
    if enough and all(s in data.tokens for s in symbols):
        idx = [data.tokens.index(s) for s in symbols]
        cov, _ = ledoit_wolf(log_returns(data.prices[:, idx]))
        return np.asarray(cov * PERIODS_PER_YEAR, dtype=np.float64)
    stable = [cfg.is_stable(s) if s in cfg.target_weights() else False for s in symbols]
    return np.diag(np.array([DEFAULT_VOL[x] for x in stable]) ** 2)


def cost_of_waiting(
    cfg: Any,
    weights: dict[str, float],
    targets: dict[str, float],
    value_usd: float,
    data: Any,
    estimator: Any,
) -> CostOfWaiting:
    symbols = sorted(set(weights) | set(targets))
    w = np.array([weights.get(s, 0.0) for s in symbols])
    t = np.array([targets.get(s, 0.0) for s in symbols])
    rules = DecisionRules(
        band=0.0, risk_aversion=cfg.costs.risk_aversion, horizon_days=cfg.costs.horizon_days
    )
    waiting = tracking_cost(w - t, covariance(cfg, symbols, data), value_usd, rules)
    trades = {s: float(x) for s, x in zip(symbols, (t - w) * value_usd, strict=True) if abs(x) > 1}
    now = estimator.estimate(trades) if trades else ZERO_COST
    return CostOfWaiting(now=now, waiting_usd=waiting, horizon_days=cfg.costs.horizon_days)
