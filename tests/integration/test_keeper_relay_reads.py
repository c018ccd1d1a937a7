"""The local relay answers JSON-RPC batches of chain reads (as one upstream batch), refuses
anything else in a batch item by item, and passes anvil's errors on with their revert data."""

from __future__ import annotations

import json

import pytest
import requests
from web3 import HTTPProvider, Web3

from keeper.chain.anvil import AnvilProcess
from keeper.relay.server import LocalRelay

pytestmark = pytest.mark.fork

#: runtime code that always reverts with the 4 bytes 0xdeadbeef
REVERTER = "0x63deadbeef60e01b60005260046000fd"
RICH = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first dev account


@pytest.fixture(scope="module")
def relay():
    with AnvilProcess(args=["--order", "fifo"]) as anvil, LocalRelay(anvil.url) as relay:
        w3 = Web3(HTTPProvider(anvil.url))
        w3.provider.make_request("anvil_setCode", ["0x" + "42" * 20, REVERTER])
        w3.provider.make_request("evm_mine", [])  # the relay turned automine off
        yield relay


def post(relay, body) -> requests.Response:
    return requests.post(relay.url, data=json.dumps(body), timeout=10)


def test_a_batch_of_reads_is_answered_in_order_with_the_callers_ids(relay):
    calls = [
        ("eth_chainId", []),
        ("eth_blockNumber", []),
        ("eth_getBalance", [RICH, "latest"]),
        ("eth_call", [{"to": "0x" + "42" * 20, "data": "0x"}, "latest"]),
    ]
    body = [
        {"jsonrpc": "2.0", "id": f"q{k}", "method": m, "params": p}
        for k, (m, p) in enumerate(calls)
    ]
    reply = post(relay, body)

    assert reply.status_code == 200
    answers = reply.json()
    assert [a["id"] for a in answers] == ["q0", "q1", "q2", "q3"]
    assert answers[0]["result"] == "0x7a69"
    assert int(answers[1]["result"], 16) >= 1
    assert int(answers[2]["result"], 16) > 10**21
    assert answers[3]["error"]["data"] == "0xdeadbeef"  # anvil's revert data, passed on


def test_relay_methods_and_writes_in_a_batch_are_refused_item_by_item(relay):
    body = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_sendBundle", "params": [{}]},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_sendRawTransaction", "params": ["0x00"]},
        {"jsonrpc": "2.0", "id": 4, "method": "localrelay_mineBlock", "params": []},
        "not a request",
    ]
    before = post(relay, {"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber"}).json()

    answers = post(relay, body).json()

    assert "result" in answers[0]
    for refused in answers[1:]:
        assert refused["error"]["code"] == -32600
    assert "cannot be batched" in answers[1]["error"]["message"]
    after = post(relay, {"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber"}).json()
    assert after["result"] == before["result"]  # nothing was mined or sent


def test_an_empty_batch_is_an_invalid_request(relay):
    (answer,) = post(relay, []).json()
    assert answer["error"]["code"] == -32600 and answer["id"] is None


def test_web3_batches_and_simulations_work_through_the_relay(relay):
    w3 = Web3(HTTPProvider(relay.url))
    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_block("latest"))
        batch.add(w3.eth.get_balance(RICH))
        block, balance = batch.execute()
    assert block["number"] >= 1 and balance > 10**21
    call = {"from": RICH, "to": "0x" + "42" * 20, "data": "0x"}
    simulated = w3.provider.make_request(
        "eth_simulateV1", [{"blockStateCalls": [{"calls": [call]}]}, "latest"]
    )
    assert simulated["result"][0]["calls"][0]["status"] == "0x0"
