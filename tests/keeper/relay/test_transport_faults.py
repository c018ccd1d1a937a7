"""Broken relay answers are transient relay failures, never an exception that escapes the
client (issue 15, problem 3): a body cut short (``ChunkedEncodingError``) and a 200 whose JSON
is cut are retried, and if they persist raise :class:`RelayUnavailableError`.

A scripted relay behind the real fault-injecting proxy, over real HTTP on loopback.
"""

from __future__ import annotations

import pytest

from keeper.devstack.faultproxy import FaultProxy
from keeper.relay import Bundle, RelayClient
from keeper.relay.exceptions import NoRelayAcceptedError, RelayUnavailableError

from .conftest import recorded, signed_transfer
from .stub import Reply, StubRelay

OK = recorded("send_bundle_ok.json")["body"]
SIMULATED = recorded("call_bundle_ok.json")["body"]


@pytest.fixture
def bundle(sender):
    return Bundle.of([signed_transfer(sender, 0)])


@pytest.fixture
def proxied():
    stub = StubRelay([Reply(200, OK)])
    stub.responder = lambda request: Reply(
        200, SIMULATED if request["method"] == "eth_callBundle" else OK
    )
    proxy = FaultProxy(stub.url).start()
    yield proxy
    proxy.stop()
    stub.close()


@pytest.mark.parametrize("fault", ["truncate", "bad_json", "drop"])
def test_a_broken_answer_is_retried_and_the_next_one_is_used(
    proxied, bundle, reputation_key, fault
):
    client = RelayClient(proxied.url, reputation_key, timeout=2.0, retries=2, backoff=0.01)
    proxied.force(fault, 2)
    assert client.call_bundle(bundle, 0x20).total_gas_used == 42_000
    proxied.force(fault, 1)
    assert client.send_bundle(bundle, 0x20).accepted
    assert proxied.counts[fault] == 3


@pytest.mark.parametrize("fault", ["truncate", "bad_json"])
def test_a_broken_answer_that_persists_is_a_relay_outage(proxied, bundle, reputation_key, fault):
    client = RelayClient(proxied.url, reputation_key, timeout=2.0, retries=1, backoff=0.01)
    proxied.force(fault, 10)
    with pytest.raises(RelayUnavailableError) as caught:
        client.call_bundle(bundle, 0x20)
    assert caught.value.attempts == 2
    with pytest.raises(NoRelayAcceptedError) as fanned:
        client.send_bundle(bundle, 0x20)
    assert isinstance(fanned.value.errors[proxied.url], RelayUnavailableError)
