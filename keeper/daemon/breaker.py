"""Failure budget and circuit breaker of the keeper daemon.

Transient failures (an RPC timeout, a relay that is down) are counted: more than the budget
within the window halts the keeper. A broken invariant (e.g. a settlement delivered less than
simulated, or an intent moved twice) trips the breaker at once: the keeper stops sending and
exits non-zero so an operator looks before anything else happens.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from keeper.exceptions import KeeperError


class InvariantViolationError(KeeperError):
    """Something that must never happen happened; the keeper halts."""

    def __init__(self, invariant: str, detail: str) -> None:
        self.invariant = invariant
        self.detail = detail
        super().__init__(f"invariant broken: {invariant}: {detail}")


class KeeperHaltedError(KeeperError):
    """The circuit breaker is open; nothing more is sent until an operator restarts."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"keeper halted: {reason}")


class CircuitBreaker:
    """Counts failures in a sliding window and opens on a broken invariant.

    Args:
        budget: failures tolerated within ``window_s``; the next one opens the breaker.
        window_s: length of the sliding window in seconds.
        clock: monotonic clock (seconds).
    """

    def __init__(
        self, budget: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.budget = budget
        self.window_s = window_s
        self.clock = clock
        self._failures: deque[tuple[float, str]] = deque()
        self.reason: str | None = None

    @property
    def halted(self) -> bool:
        return self.reason is not None

    @property
    def recent_failures(self) -> int:
        self._forget_old()
        return len(self._failures)

    def record_failure(self, kind: str, detail: str) -> None:
        """Count one transient failure; opens the breaker when the budget is spent."""
        self._failures.append((self.clock(), f"{kind}: {detail}"))
        self._forget_old()
        if len(self._failures) > self.budget:
            last = self._failures[-1][1]
            self.trip(
                f"{len(self._failures)} failures within {self.window_s:g}s "
                f"(budget {self.budget}); last: {last}"
            )

    def trip(self, reason: str) -> None:
        """Open the breaker deliberately (first reason wins)."""
        if self.reason is None:
            self.reason = reason

    def check(self) -> None:
        """Raise :class:`KeeperHaltedError` when open."""
        if self.reason is not None:
            raise KeeperHaltedError(self.reason)

    def _forget_old(self) -> None:
        horizon = self.clock() - self.window_s
        while self._failures and self._failures[0][0] < horizon:
            self._failures.popleft()
