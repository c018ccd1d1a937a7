"""Alerts: scheduled notices, opportunities, risk reductions, completions (pluggable sinks).

An :class:`AlertDispatcher` hands every alert to each sink; a failing sink does not stop the
others, and the returned :class:`DeliveryReport` says which sinks failed and why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from keeper.strategy.exceptions import AlertDeliveryError
from keeper.strategy.triggers.base import Signal, SignalKind

log = logging.getLogger("keeper.strategy.alerts")


class AlertKind(StrEnum):
    SCHEDULED = "scheduled"
    OPPORTUNITY = "opportunity"
    RISK = "risk"
    COMPLETION = "completion"
    NOTICE = "notice"


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: AlertKind
    owner: str
    message: str
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any] = Field(default_factory=dict)


def _risk_in_force(signal: Signal) -> bool:
    """A risk signal that fired now, or whose de-risked targets still apply (the follow-ups of
    a drawdown cut or a stop-loss)."""
    return signal.kind is SignalKind.RISK and (signal.fired or signal.targets is not None)


def risk_reason(signals: Sequence[Signal]) -> str | None:
    """Why a proposal is a risk reduction (the drawdown reading), if it is one."""
    reasons = [s.reason for s in signals if _risk_in_force(s)]
    return "; ".join(reasons) if reasons else None


def alert_kind(signals: Sequence[Signal]) -> AlertKind:
    """The most urgent kind among fired signals: risk > opportunity > scheduled. A proposal
    made while a drawdown cut or stop-loss is in force is a risk follow-up."""
    kinds = {s.kind for s in signals if s.fired}
    if SignalKind.RISK in kinds or any(_risk_in_force(s) for s in signals):
        return AlertKind.RISK
    if SignalKind.OPPORTUNITY in kinds:
        return AlertKind.OPPORTUNITY
    return AlertKind.SCHEDULED if kinds else AlertKind.NOTICE


class AlertSink(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


class LogSink:
    """Writes alerts to the ``keeper.strategy.alerts`` logger (risk alerts at WARNING)."""

    name = "log"

    def send(self, alert: Alert) -> None:
        level = logging.WARNING if alert.kind is AlertKind.RISK else logging.INFO
        log.log(level, "[%s] %s: %s", alert.kind.value, alert.owner, alert.message)


class WebhookSink:
    """POSTs the alert as JSON; any non-2xx answer or connection error is a failure."""

    def __init__(self, url: str, timeout: float = 5.0, headers: dict[str, str] | None = None):
        self.url = url
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.name = f"webhook:{url}"

    def send(self, alert: Alert) -> None:
        import requests

        try:
            resp = requests.post(
                self.url, data=alert.model_dump_json(), headers=self.headers, timeout=self.timeout
            )
        except requests.RequestException as err:
            raise AlertDeliveryError(self.name, f"{type(err).__name__}: {err}") from err
        if not 200 <= resp.status_code < 300:
            raise AlertDeliveryError(self.name, f"HTTP {resp.status_code}")


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


class AlertDispatcher:
    def __init__(self, sinks: Sequence[AlertSink]) -> None:
        self.sinks = list(sinks)

    def send(self, alert: Alert) -> DeliveryReport:
        report = DeliveryReport()
        for sink in self.sinks:
            try:
                sink.send(alert)
            except AlertDeliveryError as err:
                log.warning("alert not delivered: %s", err)
                report.failed[sink.name] = err.problem
            else:
                report.delivered.append(sink.name)
        return report
