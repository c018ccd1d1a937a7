"""Manual trigger: the user asked for a rebalance now (still cost-gated unless forced)."""

from __future__ import annotations

from keeper.strategy.triggers.base import Signal, SignalKind


def manual_signal(requested: bool, note: str = "") -> Signal:
    reason = "manual rebalance requested" + (f": {note}" if note else "")
    return Signal("manual", SignalKind.MANUAL, requested, reason if requested else "no request")
