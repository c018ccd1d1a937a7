"""What the pipeline asks a planner, and what a planner answers (see
:mod:`keeper.settlement.planner` for the netting + routing implementation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from keeper.chainview import Head
from keeper.intents.validation import SignedIntent
from keeper.settlement.gas import FeeQuote
from keeper.settlement.transaction import Settlement


@dataclass(frozen=True)
class Candidate:
    id: str
    signed: SignedIntent
    attempts: int


@dataclass(frozen=True)
class Plan:
    """A planner's answer: the settlement (or none), intents it left out and why, its value."""

    settlement: Settlement | None
    dropped: dict[str, str] = field(default_factory=dict)
    #: left out through no fault of their own (e.g. their route shares a pool): next block
    deferred: list[str] = field(default_factory=list)
    notional_usd: float = 0.0
    eth_usd: float = 0.0
    #: the residual routes (keeper.routing.Route), in the order the settlement executes them
    routes: tuple[Any, ...] = ()
    #: seconds spent per planning stage (e.g. snapshot, net, build), for the cycle report
    timings: dict[str, float] = field(default_factory=dict)


class Planner(Protocol):
    def plan(self, batch: Sequence[Candidate], head: Head, fees: FeeQuote) -> Plan: ...
