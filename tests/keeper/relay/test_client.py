"""RelayClient over real HTTP against scripted relays: fan-out, retries, typed errors."""

from __future__ import annotations

import json
import threading

import pytest

from keeper.relay import Bundle, RelayClient
from keeper.relay.exceptions import (
    InvalidBundleError,
    NoRelayAcceptedError,
    RelayAuthError,
    RelayResponseError,
    RelayRpcError,
    RelayUnavailableError,
)

from .conftest import recorded, signed_transfer
from .stub import Reply, StubRelay
from .test_signing import relay_check

OK = recorded("send_bundle_ok.json")["body"]


@pytest.fixture
def stubs():
    made: list[StubRelay] = []

    def make(*replies: Reply) -> StubRelay:
        stub = StubRelay(list(replies))
        made.append(stub)
        return stub

    yield make
    for stub in made:
        stub.close()


@pytest.fixture
def bundle(sender):
    return Bundle.of([signed_transfer(sender, 0), signed_transfer(sender, 1)])


def client_for(urls, key, **kw):
    kw.setdefault("timeout", 2.0)
    kw.setdefault("backoff", 0.01)
    return RelayClient(urls, key, **kw)


def test_send_bundle_reaches_every_url_with_the_same_signed_body(stubs, bundle, reputation_key):
    a, b = stubs(Reply(200, OK)), stubs(Reply(200, OK))

    submission = client_for([a.url, b.url], reputation_key).send_bundle(bundle, 0x10)

    assert set(submission.accepted) == {a.url, b.url} and not submission.errors
    assert a.seen[0].body == b.seen[0].body
    for seen in (a.seen[0], b.seen[0]):
        assert relay_check(seen.body, seen.signature)
    request = json.loads(a.seen[0].body)
    assert request["method"] == "eth_sendBundle"
    assert request["params"] == [{"txs": bundle.hex_txs(), "blockNumber": "0x10"}]


def test_send_bundle_fans_out_concurrently(stubs, bundle, reputation_key):
    # Each relay answers only once all three hold the request: a client that sent one after
    # another would leave the first waiting, and that relay would answer 503 instead.
    everyone = threading.Barrier(3)

    def once_all_arrived(_request: dict) -> Reply:
        try:
            everyone.wait(timeout=1.5)
        except threading.BrokenBarrierError:
            return Reply(503, "the other relays never got the bundle meanwhile")
        return Reply(200, OK)

    relays = [stubs(Reply(200, OK)) for _ in range(3)]
    for relay in relays:
        relay.responder = once_all_arrived
    submission = client_for(
        [r.url for r in relays], reputation_key, timeout=3.0, retries=0
    ).send_bundle(bundle, 5)

    assert set(submission.accepted) == {r.url for r in relays}, submission.errors


def test_options_reach_the_wire_in_the_relay_names(stubs, sender, reputation_key):
    stub = stubs(Reply(200, OK))
    txs = [signed_transfer(sender, 0), signed_transfer(sender, 1)]
    allowed = Bundle.of(txs).tx_hashes[1]
    client_for(stub.url, reputation_key).send_bundle(
        txs, 7, reverting_tx_hashes=[allowed], replacement_uuid="u-1", min_timestamp=3
    )
    params = json.loads(stub.seen[0].body)["params"][0]
    assert params["revertingTxHashes"] == [allowed]
    assert params["replacementUuid"] == "u-1"
    assert params["minTimestamp"] == 3
    assert "maxTimestamp" not in params and "builders" not in params


def test_a_5xx_is_retried_with_backoff_then_succeeds(stubs, bundle, reputation_key):
    stub = stubs(Reply(503, "upstream busy"), Reply(502, "bad gateway"), Reply(200, OK))
    submission = client_for(stub.url, reputation_key, retries=2).send_bundle(bundle, 9)
    assert len(stub.seen) == 3
    assert submission.accepted[stub.url].bundle_hash.startswith("0x2228")


def test_one_relay_down_does_not_fail_the_fan_out(stubs, bundle, reputation_key):
    up, down = stubs(Reply(200, OK)), stubs(Reply(500, "boom"))
    submission = client_for([up.url, down.url], reputation_key, retries=1).send_bundle(bundle, 9)
    assert list(submission.accepted) == [up.url]
    error = submission.errors[down.url]
    assert isinstance(error, RelayUnavailableError)
    assert error.attempts == 2 and len(down.seen) == 2
    assert "HTTP 500" in error.last_problem


def test_a_timeout_is_retried_then_reported(stubs, bundle, reputation_key):
    stub = stubs(Reply(200, OK, delay=0.6))
    client = client_for(stub.url, reputation_key, timeout=0.2, retries=1)
    with pytest.raises(NoRelayAcceptedError) as caught:
        client.send_bundle(bundle, 9)
    error = caught.value.errors[stub.url]
    assert isinstance(error, RelayUnavailableError) and "timed out" in error.last_problem
    assert len(stub.seen) == 2


def test_an_unreachable_relay_is_reported_as_unavailable(bundle, reputation_key):
    client = client_for("http://127.0.0.1:9", reputation_key, retries=0)
    with pytest.raises(NoRelayAcceptedError, match="connection failed"):
        client.send_bundle(bundle, 9)


def test_a_signature_refusal_is_not_retried(stubs, bundle, reputation_key):
    legacy = recorded("error_legacy_403.json")
    stub = stubs(Reply(legacy["http_status"], legacy["body"]))
    with pytest.raises(NoRelayAcceptedError) as caught:
        client_for(stub.url, reputation_key).send_bundle(bundle, 9)
    assert isinstance(caught.value.errors[stub.url], RelayAuthError)
    assert len(stub.seen) == 1


def test_call_bundle_returns_the_parsed_simulation(stubs, bundle, reputation_key):
    stub = stubs(Reply(200, recorded("call_bundle_ok.json")["body"]))
    result = client_for(stub.url, reputation_key).call_bundle(bundle, 0x20, timestamp=1_700_000_000)
    assert result.total_gas_used == 42_000
    params = json.loads(stub.seen[0].body)["params"][0]
    assert params == {
        "txs": bundle.hex_txs(),
        "blockNumber": "0x20",
        "stateBlockNumber": "latest",
        "timestamp": 1_700_000_000,
    }


def test_call_bundle_relay_error_is_typed(stubs, bundle, reputation_key):
    stub = stubs(Reply(200, recorded("error_simulation_502.json")["body"]))
    with pytest.raises(RelayRpcError) as caught:
        client_for(stub.url, reputation_key).call_bundle(bundle, 0x20)
    assert caught.value.code == -32000


def test_a_result_that_breaks_the_wire_format_names_the_field(stubs, bundle, reputation_key):
    body = recorded("call_bundle_ok.json")["body"]
    del body["result"]["results"][0]["gasUsed"]
    stub = stubs(Reply(200, body))
    with pytest.raises(RelayResponseError, match=r"results\.0\.gasUsed"):
        client_for(stub.url, reputation_key).call_bundle(bundle, 0x20)


def test_a_non_json_answer_is_an_http_error_not_a_crash(stubs, bundle, reputation_key):
    stub = stubs(Reply(404, "<html>not here</html>"))
    with pytest.raises(NoRelayAcceptedError, match="HTTP 404"):
        client_for(stub.url, reputation_key).send_bundle(bundle, 9)


def test_cancel_bundle_sends_the_replacement_uuid(stubs, reputation_key):
    stub = stubs(Reply(200, {"jsonrpc": "2.0", "id": 1, "result": None}))
    assert client_for(stub.url, reputation_key).cancel_bundle("u-9") == {}
    assert json.loads(stub.seen[0].body)["params"] == [{"replacementUuid": "u-9"}]
    with pytest.raises(InvalidBundleError, match="replacementUuid"):
        client_for(stub.url, reputation_key).cancel_bundle("")


def test_private_transaction_checks_the_hash_the_relay_returns(stubs, sender, reputation_key):
    raw = signed_transfer(sender, 0)
    expected = Bundle.of([raw]).tx_hashes[0]
    good = stubs(Reply(200, {"jsonrpc": "2.0", "id": 1, "result": expected}))
    assert client_for(good.url, reputation_key).send_private_transaction(raw, fast=True) == expected
    params = json.loads(good.seen[0].body)["params"][0]
    assert params == {"tx": "0x" + raw.hex(), "preferences": {"fast": True}}

    wrong = stubs(Reply(200, recorded("private_tx_ok.json")["body"]))
    with pytest.raises(RelayResponseError, match="expected"):
        client_for(wrong.url, reputation_key).send_private_transaction(raw)


@pytest.mark.parametrize(
    "result",
    [
        pytest.param("HASH", id="bare-hash"),  # op-rbuilder before #66, several builders
        pytest.param(None, id="null"),
    ],
)
def test_builders_that_accept_a_bundle_with_a_bare_hash_or_null_count_as_accepting(
    stubs, bundle, reputation_key, result
):
    answer = {"jsonrpc": "2.0", "id": 1, "result": bundle.hash if result == "HASH" else None}
    flashbots, builder = stubs(Reply(200, OK)), stubs(Reply(200, answer))

    submission = client_for([flashbots.url, builder.url], reputation_key).send_bundle(bundle, 9)

    assert set(submission.accepted) == {flashbots.url, builder.url}, submission.errors
    assert submission.accepted[builder.url].bundle_hash == bundle.hash
    # with that builder alone, the bundle is out: not "no relay accepted"
    alone = client_for(builder.url, reputation_key).send_bundle(bundle, 9)
    assert list(alone.accepted) == [builder.url]


def test_a_bare_result_that_is_not_a_hash_is_still_a_broken_answer(stubs, bundle, reputation_key):
    stub = stubs(Reply(200, {"jsonrpc": "2.0", "id": 1, "result": "accepted!"}))
    with pytest.raises(NoRelayAcceptedError, match="bundleHash"):
        client_for(stub.url, reputation_key).send_bundle(bundle, 9)
