"""Per-endpoint request budgets (BuilderNet: 100 requests per 10 s, 3 connections)."""

from __future__ import annotations

import threading

import pytest

from keeper.relay import Bundle, RelayClient
from keeper.relay.client import BuilderTarget
from keeper.relay.exceptions import NoRelayAcceptedError
from keeper.relay.ratelimit import EndpointLimiter, RateLimit, RelayRateLimitedError

from .conftest import recorded, signed_transfer
from .stub import Reply, StubRelay


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(clock: Clock, max_wait_s: float = 0.0, **limit: float) -> EndpointLimiter:
    return EndpointLimiter(
        "https://rpc.buildernet.example",
        RateLimit(**limit),  # type: ignore[arg-type]
        max_wait_s=max_wait_s,
        clock=clock,
        sleep=clock.sleep,
    )


def test_a_hundred_requests_pass_in_ten_seconds_and_the_next_one_is_not_sent():
    clock = Clock()
    budget = limiter(clock)
    for _ in range(100):
        with budget.slot("eth_sendBundle"):
            pass
    with pytest.raises(RelayRateLimitedError) as caught, budget.slot("eth_sendBundle"):
        pytest.fail("sent over the limit")
    assert "100 requests per 10 s" in str(caught.value)
    assert (budget.sent, budget.refused) == (100, 1)
    clock.now += 0.1  # one token back (10 per second)
    with budget.slot("eth_sendBundle"):
        pass
    assert budget.sent == 101


def test_a_request_waits_for_a_token_within_its_allowance():
    clock = Clock()
    budget = limiter(clock, max_wait_s=0.5, requests=2, window_s=0.5)  # 4 per second
    for _ in range(3):
        with budget.slot("eth_sendBundle"):
            pass
    assert clock.now == pytest.approx(1000.25)  # the third waited a quarter second
    assert budget.refused == 0
    budget_slow = limiter(clock, max_wait_s=0.5, requests=2, window_s=10.0)  # one per 5 s
    for _ in range(2):
        with budget_slow.slot("m"):
            pass
    # 5 s to wait is more than its 0.5 s
    with pytest.raises(RelayRateLimitedError), budget_slow.slot("m"):
        pass


def test_no_more_than_three_requests_run_at_once():
    clock = Clock()
    budget = limiter(clock)
    held = [budget.slot("m") for _ in range(3)]
    for h in held:
        h.__enter__()
    with pytest.raises(RelayRateLimitedError), budget.slot("m"):
        pass
    held[0].__exit__(None, None, None)
    with budget.slot("m"):
        pass
    for h in held[1:]:
        h.__exit__(None, None, None)


def test_the_client_stops_sending_to_a_builder_over_its_budget(sender, reputation_key):
    ok = recorded("buildernet_send_bundle_ok.json")["body"]
    limited, free = StubRelay([Reply(200, ok)]), StubRelay([Reply(200, ok)])
    try:
        client = RelayClient(
            [
                BuilderTarget(limited.url, "buildernet", rate_limit=RateLimit(3, 10.0, 3)),
                BuilderTarget(free.url),
            ],
            reputation_key,
            timeout=2.0,
            max_wait_s=0.0,
        )
        bundle = Bundle.of([signed_transfer(sender, 0)])
        for block in range(5):
            submission = client.send_bundle(bundle, 10 + block)
        assert len(limited.seen) == 3
        assert len(free.seen) == 5
        assert isinstance(submission.errors[limited.url], RelayRateLimitedError)
        only = RelayClient(
            BuilderTarget(limited.url, rate_limit=RateLimit(1, 10.0, 1)),
            reputation_key,
            max_wait_s=0.0,
        )
        only.send_bundle(bundle, 20)
        with pytest.raises(NoRelayAcceptedError, match="not sent"):
            only.send_bundle(bundle, 21)
    finally:
        limited.close()
        free.close()


def test_concurrent_callers_share_one_budget():
    clock = Clock()
    budget = limiter(clock, requests=50, window_s=10.0, connections=50)
    passed: list[int] = []

    def worker() -> None:
        for _ in range(20):
            try:
                with budget.slot("m"):
                    passed.append(1)
            except RelayRateLimitedError:
                pass

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(passed) == 50 and budget.refused == 50
