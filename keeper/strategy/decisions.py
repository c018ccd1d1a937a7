"""Cost-aware rebalance decisions with no-trade bands, each explained in one line.

The benefit of moving weights from ``w`` to ``w'`` is the drop in the dollar cost of tracking
error over the horizon ``h`` (days), at risk aversion ``gamma`` and annual covariance Sigma:

    L(w) = 1/2 gamma (w - t)' Sigma (w - t) * V * h / 365,   benefit = L(w) - L(w') (+ extra)

With yields (an opportunity), ``extra = (w' - w) . apy * V * h / 365``: the yield the new
weights earn over the old ones during the horizon, so a fuller migration earns more.

Candidate destinations keep each in-scope token within ``k * band`` of its target
(k = 0: to target, 1/2: half-way into the band, 1: the band edge); tokens already closer stay
put and the remainder is taken up first by tokens already trading in that direction. The
candidate with the largest benefit net of cost wins if benefit > margin * cost and cost stays
under the user's limits; otherwise the decision is "no action" with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.costs import ZERO_COST, CostEstimate, CostEstimator
from keeper.strategy.triggers.base import Signal
from keeper.strategy.triggers.threshold import describe, worst_drift

FloatArray = NDArray[np.float64]
DESTINATIONS: dict[str, float] = {"target": 0.0, "inner": 0.5, "edge": 1.0}
_LABEL = {"target": "target", "inner": "half-band", "edge": "band edge"}


@dataclass(frozen=True)
class DecisionRules:
    band: float
    risk_aversion: float = 3.0
    horizon_days: float = 30.0
    benefit_margin: float = 1.0
    max_cost_fraction: float = 0.005
    max_gas_fraction: float | None = None
    rebalance_to: str = "cheapest"


@dataclass(frozen=True)
class Decision:
    rebalance: bool
    explanation: str
    weights: dict[str, float]
    destination: dict[str, float]
    trades_usd: dict[str, float]
    cost: CostEstimate
    benefit_usd: float
    value_usd: float
    signals: tuple[Signal, ...] = field(default=())
    destination_kind: str | None = None


def money(x: float) -> str:
    return f"${x:,.2f}"


def cost_text(cost: CostEstimate) -> str:
    """``$12.00`` or, when it includes tax on realised gains, ``$12.00 (incl. tax $8.00)``."""
    tax = f" (incl. tax {money(cost.tax_usd)})" if cost.tax_usd > 0 else ""
    return f"{money(cost.total_usd)}{tax}"


def tracking_cost(d: FloatArray, cov: FloatArray, value: float, rules: DecisionRules) -> float:
    return float(0.5 * rules.risk_aversion * d @ cov @ d * value * rules.horizon_days / 365.0)


def band_destination(
    w: FloatArray, t: FloatArray, half_width: float, scope: NDArray[np.bool_]
) -> FloatArray:
    """Weights after moving each in-scope token to within ``half_width`` of its target."""
    d = w - t
    dest = np.where(scope, t + np.clip(d, -half_width, half_width), w)
    if not scope.all():
        rest = w[~scope].sum()
        if rest > 0:  # out-of-scope tokens keep their relative proportions
            dest[~scope] = w[~scope] * (1.0 - dest[scope].sum()) / rest
            return dest
    r = 1.0 - dest.sum()
    if abs(r) < 1e-15:
        return dest
    sign = 1.0 if r > 0 else -1.0
    room = np.maximum(0.0, sign * (t + sign * half_width - dest)) * scope
    moved = dest - w
    tiers = [sign * moved > 1e-15, sign * (t - dest) > 1e-15, room > 0]
    left = abs(r)
    for tier in tiers:
        cap = np.where(tier, room, 0.0)
        total = cap.sum()
        if total <= 0 or left <= 0:
            continue
        take = min(left, total)
        add = cap * (take / total)
        dest = dest + sign * add
        room = room - add
        left -= take
    return dest


def _explain_position(weights: dict[str, float], targets: dict[str, float], band: float) -> str:
    token, _ = worst_drift(weights, targets)
    return describe(token, weights, targets, band)


def decide(
    tokens: Sequence[str],
    values_usd: FloatArray,
    targets: FloatArray,
    cov: FloatArray,
    estimator: CostEstimator,
    rules: DecisionRules,
    signals: Sequence[Signal] = (),
    scope: frozenset[str] | None = None,
    extra_benefit_usd: float = 0.0,
    yields_apy: FloatArray | None = None,
    force: bool = False,
    hold_reason: str | None = None,
) -> Decision:
    """Decide whether (and how far) to rebalance.

    ``force`` skips the benefit test (not the cost limits); ``hold_reason`` (e.g. paused by the
    user) returns "no action" with that reason.
    """
    values = np.asarray(values_usd, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    value = float(values.sum())
    w = values / value if value > 0 else np.zeros_like(values)
    wd = dict(zip(tokens, w.tolist(), strict=True))
    td = dict(zip(tokens, t.tolist(), strict=True))
    position = _explain_position(wd, td, rules.band)
    fired = [s for s in signals if s.fired]
    prefix = "; ".join(s.reason for s in fired if s.trigger != "threshold")
    head = f"{prefix}; {position}" if prefix else position

    def hold(reason: str, cost: CostEstimate = ZERO_COST, benefit: float = 0.0) -> Decision:
        return Decision(
            False, f"{head}: no action, {reason}", wd, wd, {}, cost, benefit, value, tuple(signals)
        )

    if value <= 0:
        return hold("empty portfolio")
    if hold_reason is not None:
        return hold(hold_reason)
    if not fired and not force:
        return hold("inside band")
    mask = np.array([scope is None or k in scope for k in tokens])
    kinds = list(DESTINATIONS) if rules.rebalance_to == "cheapest" else [rules.rebalance_to]
    before = tracking_cost(w - t, cov, value, rules)
    limit = rules.max_cost_fraction * value
    gas_limit = None if rules.max_gas_fraction is None else rules.max_gas_fraction * value
    candidates: list[_Candidate] = []
    for kind in kinds:
        dest = band_destination(w, t, DESTINATIONS[kind] * rules.band, mask)
        moves = (dest - w) * value
        trades = {k: float(x) for k, x in zip(tokens, moves, strict=True) if abs(x) > 1e-9}
        if trades:
            cost = estimator.estimate(trades)
            benefit = before - tracking_cost(dest - t, cov, value, rules) + extra_benefit_usd
            if yields_apy is not None:
                benefit += float((dest - w) @ yields_apy) * value * rules.horizon_days / 365.0
            candidates.append(_Candidate(kind, dest, trades, cost, benefit))
    if not candidates:
        return hold("already at the destination")
    affordable = [
        c
        for c in candidates
        if c.cost.total_usd <= limit and (gas_limit is None or c.cost.gas_usd <= gas_limit)
    ]
    if not affordable:
        c = min(candidates, key=lambda c: c.cost.total_usd)
        if c.cost.total_usd > limit:
            share = f"{rules.max_cost_fraction * 100:.2f}% of portfolio"
            reason = f"cost {cost_text(c.cost)} exceeds the cost limit {money(limit)} ({share})"
        else:
            reason = f"gas {money(c.cost.gas_usd)} exceeds the gas limit {money(gas_limit or 0)}"
        return hold(reason, c.cost, c.benefit)
    best = max(affordable, key=lambda c: c.benefit - rules.benefit_margin * c.cost.total_usd)
    if not force and best.benefit <= rules.benefit_margin * best.cost.total_usd:
        reason = f"cost {cost_text(best.cost)} > benefit {money(best.benefit)}"
        return hold(reason, best.cost, best.benefit)
    dd = dict(zip(tokens, best.dest.tolist(), strict=True))
    token, _ = worst_drift(wd, td)
    cmp = "<" if best.cost.total_usd < best.benefit else ">="
    verdict = (
        f"rebalance to {_LABEL[best.kind]} ({token} {dd[token] * 100:.1f}%), "
        f"cost {cost_text(best.cost)} {cmp} benefit {money(best.benefit)}"
    )
    return Decision(
        True,
        f"{head}: {verdict}",
        wd,
        dd,
        best.trades,
        best.cost,
        best.benefit,
        value,
        tuple(signals),
        best.kind,
    )


@dataclass(frozen=True)
class _Candidate:
    kind: str
    dest: FloatArray
    trades: dict[str, float]
    cost: CostEstimate
    benefit: float
