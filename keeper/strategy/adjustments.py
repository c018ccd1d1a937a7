"""Target adjustments that need memory or history: phase-in, correlation caps, tax costs.

Each returns the adjusted value and a note for the evaluation's explanation (None when there is
nothing to say), so no rule is ever skipped silently.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.config import StrategyConfig
from keeper.strategy.controls import ControlState
from keeper.strategy.costs import CostEstimator
from keeper.strategy.market_data import MarketData
from keeper.strategy.models.correlation import cap_correlated, correlation_matrix
from keeper.strategy.models.covariance import log_returns
from keeper.strategy.models.market_cap import phase_in
from keeper.strategy.tax import TaxAwareEstimator

FloatArray = NDArray[np.float64]
_SAME = 1e-6
_WEEK_S = 7 * 86_400


def _differ(a: dict[str, float], b: dict[str, float]) -> bool:
    return any(abs(a.get(k, 0.0) - b.get(k, 0.0)) > _SAME for k in set(a) | set(b))


def phased_targets(
    new: dict[str, float], state: ControlState, now: datetime, phase_weeks: int
) -> tuple[dict[str, float], ControlState, str | None]:
    """Phase a change of model targets in over ``phase_weeks`` whole weeks, remembering the
    transition in the state: ``t_k = t_from + min(1, k / phase_weeks) (t_to - t_from)``.

    The first evaluation adopts ``new`` at once (nothing to phase from). A new change during a
    phase starts a fresh phase from the targets in force at that moment.
    """
    if state.phase_to is None or state.phase_from is None or state.phase_started is None:
        update = {"phase_from": dict(new), "phase_to": dict(new), "phase_started": now}
        return dict(new), state.model_copy(update=update), None
    weeks = max(0.0, (now - state.phase_started).total_seconds() / _WEEK_S)
    current = phase_in(state.phase_from, state.phase_to, weeks, phase_weeks)
    if _differ(new, state.phase_to):
        update = {"phase_from": current, "phase_to": dict(new), "phase_started": now}
        state = state.model_copy(update=update)
        weeks = 0.0
        current = dict(current)
    assert state.phase_from is not None and state.phase_to is not None
    done = int(min(np.floor(weeks), phase_weeks))
    if not _differ(current, state.phase_to):
        return current, state, None
    note = (
        f"phasing in new index weights: week {done} of {phase_weeks} "
        f"({', '.join(f'{k} {v * 100:.1f}%' for k, v in sorted(current.items()))})"
    )
    return current, state, note


def correlation_capped(
    cfg: StrategyConfig, targets: dict[str, float], market: MarketData, min_days: int
) -> tuple[dict[str, float], str | None]:
    """``rules.correlation_limit`` (models/correlation.py) on the targets, from the last
    ``model.lookback_days`` of daily returns."""
    limit = cfg.rules.correlation_limit
    if limit is None:
        return targets, None
    names = [t for t in sorted(targets) if targets[t] > 0]
    prices = market.prices
    if prices is None or prices.shape[0] < min_days or any(t not in market.tokens for t in names):
        return targets, f"correlation limit {limit:.2f}: not enough price history, not applied"
    idx = [market.tokens.index(t) for t in names]
    rets = log_returns(prices[:, idx])[-cfg.model.lookback_days :]
    corr = correlation_matrix(rets)
    t = np.array([targets[n] for n in names])
    out, capped, feasible = cap_correlated(t, corr, limit, cfg.rules.max_weight)
    if not feasible:
        return targets, (
            f"correlation limit {limit:.2f}: groups cannot fit under the "
            f"{cfg.rules.max_weight:.0%} cap, not applied"
        )
    if not capped:
        return targets, None
    adjusted = dict(targets)
    adjusted.update({n: float(x) for n, x in zip(names, out, strict=True)})
    groups = "; ".join("+".join(names[i] for i in g) for g in capped)
    return adjusted, (
        f"correlated above {limit:.2f}: {groups} capped at {cfg.rules.max_weight:.0%} together"
    )


def tax_estimator(
    cfg: StrategyConfig, estimator: CostEstimator, market: MarketData
) -> tuple[CostEstimator, str | None]:
    """Wrap ``estimator`` with the tax on realised gains when the strategy is tax-aware."""
    if not cfg.rules.tax_aware:
        return estimator, None
    if market.cost_basis is None:
        return estimator, "tax-aware: no cost basis (rules.cost_basis), gains not counted"
    if not market.spot_usd:
        return estimator, "tax-aware: no current prices, gains not counted"
    wrapped = TaxAwareEstimator(estimator, market.cost_basis, market.spot_usd, cfg.rules.tax_rate)
    return wrapped, None
