"""Opportunity trigger: a better yield elsewhere, or a large price move.

Yield: among held venues (tokens with a positive weight and a yield quote) take the worst APY;
among eligible venues (liquidity >= the minimum) the best. When ``best - worst >= min_gap`` move
``max_step`` of the worst venue's target weight to the best (gradual migration, one step per
evaluation). Price move: fires a review when any asset's last-period return is at least
``price_move`` in size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from keeper.strategy.config import OpportunityTriggerConfig
from keeper.strategy.market_data import YieldQuote
from keeper.strategy.triggers.base import Signal, SignalKind, pct


def yield_signal(
    targets: dict[str, float], quotes: Sequence[YieldQuote], cfg: OpportunityTriggerConfig
) -> Signal:
    by_venue = {q.venue: q for q in quotes}
    held = [by_venue[t] for t, w in targets.items() if w > 0 and t in by_venue]
    eligible = [q for q in quotes if q.liquidity_usd >= cfg.min_liquidity_usd]
    if not held or not eligible:
        return Signal("opportunity", SignalKind.OPPORTUNITY, False, "no comparable yield venues")
    worst = min(held, key=lambda q: (q.apy, q.venue))
    best = max(eligible, key=lambda q: (q.apy, q.venue))
    gap = best.apy - worst.apy
    if best.venue == worst.venue or gap < cfg.min_yield_gap - 1e-12:
        reason = (
            f"best yield {best.venue} {pct(best.apy, 2)} vs {worst.venue} {pct(worst.apy, 2)}: "
            f"gap below {pct(cfg.min_yield_gap, 2)}"
        )
        return Signal("opportunity", SignalKind.OPPORTUNITY, False, reason)
    moved = targets[worst.venue] * cfg.max_step
    new = dict(targets)
    new[worst.venue] -= moved
    new[best.venue] = new.get(best.venue, 0.0) + moved
    reason = (
        f"{best.venue} yields {pct(best.apy, 2)} vs {worst.venue} {pct(worst.apy, 2)} "
        f"(gap {pct(gap, 2)} >= {pct(cfg.min_yield_gap, 2)}): move {pct(moved)} of the portfolio"
    )
    scope = frozenset({worst.venue, best.venue})
    return Signal("opportunity", SignalKind.OPPORTUNITY, True, reason, scope=scope, targets=new)


def price_move_signal(
    tokens: Sequence[str], last_returns: NDArray[np.float64], threshold: float
) -> Signal:
    r = np.asarray(last_returns, dtype=np.float64)
    i = int(np.argmax(np.abs(r)))
    moved = float(np.expm1(r[i]))  # log return -> simple return
    fired = abs(moved) >= threshold
    verb = "moved" if fired else "largest move"
    reason = f"{tokens[i]} {verb} {moved * 100:+.1f}% (review at {pct(threshold, 0)})"
    return Signal("price-move", SignalKind.OPPORTUNITY, fired, reason)
