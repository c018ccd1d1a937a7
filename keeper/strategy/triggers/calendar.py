"""Calendar trigger: a rebalance is due once per period (daily ... quarterly).

Months are calendar months: a strategy last rebalanced on 31 January is due on 28 (or 29)
February, then on 31 March. Components with their own cadence are due independently, and a
rebalance they trigger is limited to their tokens.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

from keeper.strategy.config import Component
from keeper.strategy.constants import Frequency
from keeper.strategy.triggers.base import Signal, SignalKind


def add_months(moment: datetime, months: int) -> datetime:
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def next_due(last: datetime, frequency: Frequency) -> datetime:
    if frequency is Frequency.MONTHLY:
        return add_months(last, 1)
    if frequency is Frequency.QUARTERLY:
        return add_months(last, 3)
    return last + timedelta(days=frequency.nominal_days)


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def calendar_signal(now: datetime, last: datetime | None, frequency: Frequency) -> Signal:
    if last is None:
        return Signal("calendar", SignalKind.SCHEDULED, True, "first scheduled rebalance")
    due = next_due(last, frequency)
    if now >= due:
        reason = f"{frequency.value} rebalance due since {_fmt(due)}"
        return Signal("calendar", SignalKind.SCHEDULED, True, reason)
    return Signal("calendar", SignalKind.SCHEDULED, False, f"next {frequency.value} on {_fmt(due)}")


def component_signal(
    now: datetime, last: dict[str, datetime], components: dict[str, Component]
) -> Signal:
    """Fires for the components whose own cadence has elapsed; scope = their tokens."""
    due = sorted(
        name
        for name, comp in components.items()
        if name not in last or now >= next_due(last[name], comp.frequency)
    )
    if not due:
        nxt = min(next_due(last[n], c.frequency) for n, c in components.items())
        return Signal("calendar", SignalKind.SCHEDULED, False, f"next component due {_fmt(nxt)}")
    scope = frozenset(t for name in due for t in components[name].tokens)
    reason = "due: " + ", ".join(f"{n} ({components[n].frequency.value})" for n in due)
    return Signal("calendar", SignalKind.SCHEDULED, True, reason, scope=scope)
