"""What every trigger returns: a :class:`Signal` a user can read in one line."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class SignalKind(StrEnum):
    """Why a rebalance is proposed; alerts are chosen from it."""

    DRIFT = "drift"
    SCHEDULED = "scheduled"
    OPPORTUNITY = "opportunity"
    RISK = "risk"
    MANUAL = "manual"


@dataclass(frozen=True)
class Signal:
    """The outcome of one trigger.

    ``fired`` asks for a (cost-gated) rebalance. ``scope`` limits the tokens that rebalance may
    trade (None: all). ``targets`` replaces the targets when set (drawdown, opportunity).
    """

    trigger: str
    kind: SignalKind
    fired: bool
    reason: str
    scope: frozenset[str] | None = None
    targets: dict[str, float] | None = field(default=None, compare=False)


def pct(x: float, digits: int = 1) -> str:
    """``0.3125 -> '31.2%'`` (one decimal by default)."""
    return f"{x * 100:.{digits}f}%"
