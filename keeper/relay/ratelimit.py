"""Per-endpoint request budgets: a token bucket for the request rate and a cap on concurrency.

BuilderNet documents, per client: 100 HTTP requests per 10 s and 3 concurrent connections
(buildernet.org/docs/send-orderflow, "Rate limits"). The relay client takes a token and a
connection slot before each request to such an endpoint; when neither comes within
``max_wait_s`` the request is not sent and that endpoint's part of the call fails with
:class:`RelayRateLimitedError` (the other endpoints of a fan-out are unaffected). Waiting longer
would only delay the bundle for the endpoints that still have budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from keeper.relay.exceptions import RelayError


class RelayRateLimitedError(RelayError):
    """An endpoint's request budget is spent; the request was not sent."""

    def __init__(self, url: str, method: str, limit: str) -> None:
        self.url = url
        self.method = method
        self.limit = limit
        super().__init__(f"{method} at {url}: not sent, over the endpoint's limit of {limit}")


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``window_s`` seconds and at most ``connections`` at once."""

    requests: int = 100
    window_s: float = 10.0
    connections: int = 3

    def __post_init__(self) -> None:
        if self.requests < 1 or self.window_s <= 0 or self.connections < 1:
            raise ValueError(f"rate limit must be positive: {self}")

    def describe(self) -> str:
        return f"{self.requests} requests per {self.window_s:g} s, {self.connections} at once"


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``capacity / window_s`` per second."""

    def __init__(
        self, capacity: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / window_s
        self.clock = clock
        self._tokens = float(capacity)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self) -> float:
        """Take a token: 0.0 when taken, else the seconds until one will be there."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate


class EndpointLimiter:
    """The budget of one endpoint (thread-safe)."""

    def __init__(
        self,
        url: str,
        limit: RateLimit,
        *,
        max_wait_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.limit = limit
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.sleep = sleep
        self.bucket = TokenBucket(limit.requests, limit.window_s, clock)
        self._slots = threading.BoundedSemaphore(limit.connections)
        #: requests sent / refused for lack of budget (for metrics and tests)
        self.sent = 0
        self.refused = 0

    @contextmanager
    def slot(self, method: str) -> Iterator[None]:
        """Hold one request's budget while the request runs."""
        deadline = self.clock() + self.max_wait_s
        while (wait := self.bucket.try_take()) > 0.0:
            if self.clock() + wait > deadline:
                self.refused += 1
                raise RelayRateLimitedError(self.url, method, self.limit.describe())
            self.sleep(wait)
        if not self._slots.acquire(timeout=max(0.0, deadline - self.clock())):
            self.refused += 1
            raise RelayRateLimitedError(self.url, method, self.limit.describe())
        try:
            self.sent += 1
            yield
        finally:
            self._slots.release()
