"""Drawdown protection: cut risk after losses, re-risk gradually, honour a stop-loss.

``dd = 1 - V / peak``. The wanted risk scale is 1 below ``derisk_at``, falls linearly to
``floor`` at ``stop_loss`` (or at ``2 * derisk_at`` without a stop-loss), and is 0 at or past
the stop-loss (exit to the safe asset). Scale cuts apply at once; increases are limited to
``rerisk_step`` per evaluation. Targets become ``s t + (1 - s) e_safe``.
"""

from __future__ import annotations

from dataclasses import dataclass

from keeper.strategy.config import DrawdownTriggerConfig
from keeper.strategy.triggers.base import Signal, SignalKind, pct


@dataclass(frozen=True)
class DrawdownState:
    """What drawdown protection remembers between evaluations."""

    peak: float = 0.0
    risk_scale: float = 1.0


def wanted_scale(dd: float, cfg: DrawdownTriggerConfig) -> float:
    if cfg.stop_loss is not None and dd >= cfg.stop_loss:
        return 0.0
    if dd <= cfg.derisk_at:
        return 1.0
    full = cfg.stop_loss if cfg.stop_loss is not None else 2 * cfg.derisk_at
    frac = (dd - cfg.derisk_at) / (full - cfg.derisk_at)
    return max(cfg.floor, 1.0 - frac * (1.0 - cfg.floor)) if frac < 1 else cfg.floor


def derisked_targets(targets: dict[str, float], scale: float, safe: str) -> dict[str, float]:
    out = {k: scale * v for k, v in targets.items()}
    out[safe] = out.get(safe, 0.0) + (1.0 - scale)
    return out


def drawdown_signal(
    value: float, state: DrawdownState, targets: dict[str, float], cfg: DrawdownTriggerConfig
) -> tuple[Signal, DrawdownState]:
    """Evaluate at portfolio value ``value``; return the signal and the state to keep."""
    peak = max(state.peak, value)
    dd = 0.0 if peak <= 0 else 1.0 - value / peak
    want = wanted_scale(dd, cfg)
    scale = want if want <= state.risk_scale else min(want, state.risk_scale + cfg.rerisk_step)
    new_state = DrawdownState(peak=peak, risk_scale=scale)
    changed = abs(scale - state.risk_scale) > 1e-12
    if scale == 0.0:
        reason = (
            f"drawdown {pct(dd)} hit stop-loss {pct(cfg.stop_loss or 0)}: exit to {cfg.safe_asset}"
        )
    elif scale < state.risk_scale:
        reason = f"drawdown {pct(dd)} past {pct(cfg.derisk_at)}: risk cut to {pct(scale)}"
    elif changed:
        reason = f"drawdown {pct(dd)}, recovering: risk raised to {pct(scale)}"
    else:
        reason = f"drawdown {pct(dd)}: risk at {pct(scale)}"
    effective = derisked_targets(targets, scale, cfg.safe_asset) if scale < 1.0 else None
    return Signal("drawdown", SignalKind.RISK, changed, reason, targets=effective), new_state
