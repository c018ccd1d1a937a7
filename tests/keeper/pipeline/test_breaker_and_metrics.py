"""The failure budget, the circuit breaker and the Prometheus endpoint."""

from __future__ import annotations

import pytest
import requests

from keeper.daemon.breaker import CircuitBreaker, KeeperHaltedError
from keeper.daemon.metrics import KeeperMetrics
from keeper.intents.states import IntentState


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_failures_within_the_budget_are_tolerated_and_old_ones_forgotten():
    clock = Clock()
    breaker = CircuitBreaker(budget=2, window_s=60, clock=clock)
    breaker.record_failure("revert", "0xaa")
    breaker.record_failure("bundle-simulation", "InvalidNonce")
    assert not breaker.halted
    clock.now += 61  # both fall out of the window
    breaker.record_failure("revert", "0xbb")
    assert not breaker.halted and breaker.recent_failures == 1
    breaker.check()


def test_spending_the_budget_halts_with_the_last_failure_named():
    clock = Clock()
    breaker = CircuitBreaker(budget=2, window_s=60, clock=clock)
    for detail in ("a", "b", "c"):
        clock.now += 1
        breaker.record_failure("revert", detail)
    assert breaker.halted and "last: revert: c" in (breaker.reason or "")
    with pytest.raises(KeeperHaltedError, match="3 failures within 60s"):
        breaker.check()


def test_a_tripped_invariant_halts_at_once_and_keeps_the_first_reason():
    breaker = CircuitBreaker(budget=100, window_s=60)
    breaker.trip("settlement delivered less than simulated")
    breaker.trip("something later")
    with pytest.raises(KeeperHaltedError, match="delivered less than simulated"):
        breaker.check()


def test_metrics_are_served_on_loopback_with_states_and_latency():
    metrics = KeeperMetrics()
    metrics.blocks.inc(3)
    metrics.set_states({IntentState.ACCEPTED: 4, IntentState.SETTLED: 2})
    metrics.bundles.labels(outcome="included").inc()
    metrics.cycle_seconds.observe(0.12)
    server = metrics.serve(port=0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        text = requests.get(server.url, timeout=5).text
    finally:
        server.stop()
    assert "keeper_blocks_processed_total 3.0" in text
    assert 'keeper_intents{state="accepted"} 4.0' in text
    assert 'keeper_bundles_total{outcome="included"} 1.0' in text
    assert 'keeper_cycle_seconds_bucket{le="0.15"} 1.0' in text
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url, timeout=2)
