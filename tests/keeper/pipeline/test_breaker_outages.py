"""The breaker halts on what is broken, not on outages that are over (issue 15, problem 8):
its budget survives a restart (state file), an outage of the node or a relay is waited out and
halts only when it lasts ``max_outage_s`` without one good answer, and one broken answer from
the node is one request per keeper attempt (web3's own retries are off)."""

from __future__ import annotations

import pytest
from ape import chain as ape_chain
from web3 import Web3

from keeper.daemon.breaker import CircuitBreaker
from keeper.daemon.chainview import ChainView
from keeper.devstack.faultproxy import FaultProxy
from keeper.rpc import RETRIES, RpcError, quiet_provider


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_failure_budget_survives_a_restart(tmp_path):
    clock, state = Clock(), tmp_path / "breaker.json"
    first = CircuitBreaker(budget=2, window_s=300, clock=clock, state_file=state)
    first.record_failure("revert", "0xaa")
    first.record_failure("revert", "0xbb")
    assert not first.halted
    clock.now += 5  # killed and restarted
    second = CircuitBreaker(budget=2, window_s=300, clock=clock, state_file=state)
    assert second.recent_failures == 2
    second.record_failure("revert", "0xcc")
    assert second.halted and "3 failures within 300s" in (second.reason or "")
    clock.now += 400  # a restart after the window has a fresh budget
    third = CircuitBreaker(budget=2, window_s=300, clock=clock, state_file=state)
    assert third.recent_failures == 0


def test_a_torn_state_file_starts_afresh_rather_than_refusing_to_run(tmp_path):
    state = tmp_path / "breaker.json"
    state.write_text('{"failures": [[1, "revert: x"]')
    breaker = CircuitBreaker(budget=2, window_s=300, state_file=state)
    assert breaker.recent_failures == 0 and not breaker.halted


def test_an_outage_that_ended_never_halts_the_keeper():
    clock = Clock()
    breaker = CircuitBreaker(budget=2, window_s=300, clock=clock, max_outage_s=60)
    for _ in range(50):  # a relay down for 50 s, every call failing
        clock.now += 1
        breaker.record_failure("relay", "connection refused")
    assert not breaker.halted and breaker.outage_seconds("relay") == 49
    breaker.record_success("relay")  # it is back
    clock.now += 9
    breaker.record_failure("relay", "HTTP 502")  # one stray broken answer 9 s later
    assert not breaker.halted and breaker.recent_failures == 0
    assert breaker.counts == {"relay": 51}


def test_an_outage_that_lasts_past_the_limit_halts_naming_the_dependency(tmp_path):
    clock, state = Clock(), tmp_path / "breaker.json"
    breaker = CircuitBreaker(budget=2, window_s=300, clock=clock, max_outage_s=60, state_file=state)
    breaker.record_failure("rpc", "connection refused")
    clock.now += 30
    restarted = CircuitBreaker(
        budget=2, window_s=300, clock=clock, max_outage_s=60, state_file=state
    )
    clock.now += 31  # the outage began before the restart: it is 61 s old now
    restarted.record_failure("rpc", "connection refused")
    assert restarted.halted and "the node has not answered for 61s" in (restarted.reason or "")


@pytest.fixture
def proxy():
    with FaultProxy(ape_chain.provider.web3.provider.endpoint_uri) as p:
        yield p


def test_one_broken_read_costs_one_request_per_keeper_attempt_not_web3s_retries_too(proxy):
    chain = ChainView(Web3(quiet_provider(proxy.url, timeout=5)), "0x" + "00" * 20)
    proxy.force("http_502", 100)
    with pytest.raises(RpcError):
        chain.head()
    assert proxy.counts["http_502"] == 1 + RETRIES  # web3 alone would make 5 of each
    proxy.clear()
    assert chain.head().number == ape_chain.blocks.head.number
