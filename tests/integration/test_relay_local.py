"""The local relay on a real anvil: atomic inclusion, drops, retargeting, cancellation, auth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from keeper.chain.anvil import AnvilProcess
from keeper.relay import Bundle, RelayClient
from keeper.relay.exceptions import NoRelayAcceptedError, RelayAuthError
from keeper.relay.sandbox import dev_accounts
from keeper.relay.server import LocalRelay
from keeper.relay.tracker import InclusionTracker, MissReason
from keeper.relay.transport import encode_request

# Runtime code "PUSH0 PUSH0 REVERT" behind a 10-byte constructor that returns it.
REVERTER_INIT = bytes.fromhex("6003600a5f3960035ff3" + "5f5ffd")


@dataclass
class RelayChain:
    w3: Web3
    relay: LocalRelay
    client: RelayClient
    accounts: list[LocalAccount]
    reverter: str

    def transfer(
        self,
        sender: LocalAccount,
        nonce: int | None = None,
        to: str | None = None,
        tip: int = 10**9,
        value: int = 1,
    ) -> bytes:
        tx = {
            "to": to or "0x000000000000000000000000000000000000dEaD",
            "value": value,
            "gas": 60_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": tip,
            "nonce": self.w3.eth.get_transaction_count(sender.address) if nonce is None else nonce,
            "chainId": self.w3.eth.chain_id,
            "type": 2,
        }
        return bytes(sender.sign_transaction(tx).raw_transaction)

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def receipt(self, tx_hash: str):
        return self.w3.provider.make_request("eth_getTransactionReceipt", [tx_hash])["result"]


@contextmanager
def relay_chain() -> Iterator[RelayChain]:
    with AnvilProcess(args=["--order", "fifo"]) as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        accounts = dev_accounts(6)
        deployer = accounts[0]
        signed = deployer.sign_transaction(
            {
                "data": REVERTER_INIT,
                "gas": 100_000,
                "gasPrice": 10**10,
                "nonce": 0,
                "chainId": w3.eth.chain_id,
            }
        )
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        with LocalRelay(anvil.url) as relay:
            client = RelayClient(relay.url, Account.from_key("0x" + "5e" * 32), backoff=0.01)
            yield RelayChain(w3, relay, client, accounts, receipt["contractAddress"])


@pytest.fixture
def chain():
    with relay_chain() as made:
        yield made


def test_two_tx_bundle_lands_atomically_at_the_top_of_its_target_block(chain):
    a, b, c = chain.accounts[1:4]
    public = chain.transfer(c, tip=50 * 10**9)  # outbids the bundle on fees, still goes after it
    chain.w3.eth.send_raw_transaction(public)
    bundle = Bundle.of([chain.transfer(a), chain.transfer(b)])
    target = chain.head() + 1

    chain.client.send_bundle(bundle, target)
    record = chain.relay.mine_block()

    assert record.number == target and record.included == [bundle.hash]
    receipts = [chain.receipt(h) for h in bundle.tx_hashes]
    assert [int(r["blockNumber"], 16) for r in receipts] == [target, target]
    assert [int(r["transactionIndex"], 16) for r in receipts] == [0, 1]
    assert all(r["status"] == "0x1" for r in receipts)
    assert record.public_txs == 1 and len(record.tx_hashes) == 3


def test_bundle_with_a_reverting_tx_is_dropped_and_nothing_of_it_lands(chain):
    a, b = chain.accounts[1:3]
    nonces = [chain.w3.eth.get_transaction_count(x.address) for x in (a, b)]
    bundle = Bundle.of([chain.transfer(a), chain.transfer(b, to=chain.reverter)])

    chain.client.send_bundle(bundle, chain.head() + 1)
    record = chain.relay.mine_block()

    assert record.included == []
    assert "reverted" in record.dropped[bundle.hash]
    assert [chain.receipt(h) for h in bundle.tx_hashes] == [None, None]
    assert [chain.w3.eth.get_transaction_count(x.address) for x in (a, b)] == nonces
    assert chain.relay.builder.orders == []


def test_a_revert_listed_in_reverting_tx_hashes_does_not_drop_the_bundle(chain):
    a, b = chain.accounts[1:3]
    txs = [chain.transfer(a), chain.transfer(b, to=chain.reverter)]
    allowed = Bundle.of(txs).tx_hashes[1]
    bundle = Bundle.of(txs, reverting_tx_hashes=[allowed])

    chain.client.send_bundle(bundle, chain.head() + 1)
    record = chain.relay.mine_block()

    assert record.included == [bundle.hash]
    assert [chain.receipt(h)["status"] for h in bundle.tx_hashes] == ["0x1", "0x0"]


def test_bundle_retargeted_over_three_blocks_lands_when_the_relay_includes_it(chain):
    a, b = chain.accounts[1:3]
    bundle = Bundle.of([chain.transfer(a), chain.transfer(b)])
    start = chain.head()
    pending = InclusionTracker(chain.client, chain.w3).submit(bundle, max_blocks=5)

    for _ in range(2):  # proposers without mev-boost: blocks built without the relay's bundles
        chain.relay.mine_block(include_bundles=False)
        assert pending.poll() is None  # missed: re-sent for the next block
    chain.relay.mine_block()
    report = pending.poll()

    assert report is not None and report.included
    assert report.targets == (start + 1, start + 2, start + 3)
    assert report.block_number == start + 3
    assert report.gas_used == 42_000
    assert len(report.effective_gas_prices) == 2 and min(report.effective_gas_prices) > 10**9
    assert [r.included for r in chain.relay.history[-3:]] == [[], [], [bundle.hash]]


def test_tracker_reports_deadline_passed_when_every_target_is_missed(chain):
    bundle = Bundle.of([chain.transfer(chain.accounts[1])])
    pending = InclusionTracker(chain.client, chain.w3).submit(bundle, max_blocks=2)
    for _ in range(2):
        chain.relay.mine_block(include_bundles=False)
        report = pending.poll()
    assert report is not None and not report.included
    assert report.reason is MissReason.DEADLINE_PASSED and len(report.targets) == 2


def test_tracker_stops_on_a_revert_in_simulation_before_sending(chain):
    bundle = Bundle.of([chain.transfer(chain.accounts[1], to=chain.reverter)])
    pending = InclusionTracker(chain.client, chain.w3).submit(bundle)
    report = pending.poll()
    assert report is not None and report.reason is MissReason.SIMULATION_REVERTED
    assert report.targets == () and chain.relay.builder.orders == []


def test_tracker_reports_a_nonce_taken_by_another_transaction(chain):
    a = chain.accounts[1]
    bundle = Bundle.of([chain.transfer(a, value=1)])
    pending = InclusionTracker(chain.client, chain.w3, simulate=False).submit(bundle)
    chain.w3.eth.send_raw_transaction(chain.transfer(a, value=2))  # same nonce, public
    chain.relay.mine_block(include_bundles=False)
    report = pending.poll()
    assert report is not None and report.reason is MissReason.NONCE_USED


def test_cancelled_bundle_never_lands(chain):
    a, b = chain.accounts[1:3]
    bundle = Bundle.of([chain.transfer(a), chain.transfer(b)], replacement_uuid="rebalance-7")
    head = chain.head()
    for target in (head + 1, head + 2):
        chain.client.send_bundle(bundle, target)
    assert len(chain.relay.builder.orders) == 1  # same uuid: the second replaced the first

    chain.client.cancel_bundle("rebalance-7")
    for _ in range(3):
        chain.relay.mine_block()

    assert [chain.receipt(h) for h in bundle.tx_hashes] == [None, None]
    assert all(bundle.hash not in r.included for r in chain.relay.history)


def test_a_cancel_signed_by_another_key_does_not_cancel(chain):
    bundle = Bundle.of([chain.transfer(chain.accounts[1])], replacement_uuid="mine")
    chain.client.send_bundle(bundle, chain.head() + 1)
    other = type(chain.client)(chain.relay.url, Account.create())
    other.cancel_bundle("mine")
    assert chain.relay.mine_block().included == [bundle.hash]


def test_missing_or_bad_signature_is_refused_with_the_relay_error_shape(chain):
    bundle = Bundle.of([chain.transfer(chain.accounts[1])])
    body = encode_request("eth_sendBundle", [{"txs": bundle.hex_txs(), "blockNumber": "0x5"}], 1)

    missing = requests.post(chain.relay.url, data=body, timeout=5)
    assert missing.status_code == 403
    assert missing.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "signature is required"},
    }

    key = Account.create()
    from keeper.relay.signing import sign_body

    header = sign_body(body, key)
    tampered = body.replace(b'"0x5"', b'"0x6"')
    refused = requests.post(
        chain.relay.url, data=tampered, headers={"X-Flashbots-Signature": header}, timeout=5
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == f"error in signature check {key.address}"

    class Impostor:  # claims an address it cannot sign for
        address = chain.accounts[5].address

        def sign_message(self, message):
            return key.sign_message(message)

    with pytest.raises(NoRelayAcceptedError) as caught:
        type(chain.client)(chain.relay.url, Impostor()).send_bundle(bundle, chain.head() + 1)
    assert isinstance(caught.value.errors[chain.relay.url], RelayAuthError)
    assert chain.relay.builder.orders == []


def test_call_bundle_simulates_on_the_head_without_changing_the_chain(chain):
    a, b, c = chain.accounts[1:4]
    public = chain.transfer(c)
    public_hash = chain.w3.eth.send_raw_transaction(public).hex()
    bundle = Bundle.of([chain.transfer(a, tip=2 * 10**9), chain.transfer(b, to=chain.reverter)])
    head, balance = chain.head(), chain.w3.eth.get_balance(a.address)

    result = chain.client.call_bundle(bundle, head + 1)

    assert result.state_block_number == head
    assert result.results[0].gas_used == 21_000
    assert result.results[0].gas_price == 2 * 10**9 and not result.results[0].reverted
    assert result.first_revert is result.results[1]
    assert result.bundle_hash == bundle.hash
    assert chain.head() == head and chain.w3.eth.get_balance(a.address) == balance
    pool = chain.w3.provider.make_request("txpool_content", [])["result"]["pending"]
    assert [tx["hash"] for txs in pool.values() for tx in txs.values()] == [
        "0x" + public_hash.removeprefix("0x")
    ]


def test_bundle_transactions_are_invisible_before_inclusion(chain):
    bundle = Bundle.of([chain.transfer(chain.accounts[1])])
    chain.client.send_bundle(bundle, chain.head() + 1)
    pool = chain.w3.provider.make_request("txpool_content", [])["result"]
    assert pool["pending"] == {} and pool["queued"] == {}
    for url in (chain.relay.upstream.url, chain.relay.url):
        reply = requests.post(
            url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_getTransactionByHash",
                "params": [bundle.tx_hashes[0]],
            },
            timeout=5,
        ).json()
        assert reply["result"] is None


def test_private_transaction_lands_in_the_next_block_and_cancel_stops_another(chain):
    a, b = chain.accounts[1:3]
    first = chain.transfer(a)
    assert chain.client.send_private_transaction(first) == Bundle.of([first]).tx_hashes[0]
    second = chain.transfer(b)
    second_hash = chain.client.send_private_transaction(second, max_block_number=chain.head() + 5)
    assert chain.client.cancel_private_transaction(second_hash) is True

    record = chain.relay.mine_block()
    chain.relay.mine_block()

    assert record.tx_hashes == [Bundle.of([first]).tx_hashes[0]]
    assert chain.receipt(second_hash) is None


def test_reads_are_forwarded_and_public_submission_is_refused(chain):
    def rpc(method, params):
        body = {"jsonrpc": "2.0", "id": 3, "method": method, "params": params}
        return requests.post(chain.relay.url, data=json.dumps(body), timeout=5).json()

    assert rpc("eth_chainId", [])["result"] == "0x7a69"
    assert int(rpc("eth_blockNumber", [])["result"], 16) == chain.head()
    refused = rpc("eth_sendRawTransaction", ["0x" + chain.transfer(chain.accounts[1]).hex()])
    assert refused["error"]["code"] == -32601
    assert chain.w3.provider.make_request("txpool_content", [])["result"]["pending"] == {}


def test_without_reads_the_relay_answers_as_the_public_relay_does_and_still_takes_bundles():
    """``forward_reads=False`` (``keeper relay serve --no-reads``): chain reads, alone or in a
    batch, are "method not found" as on relay.flashbots.net; signed bundle methods still work,
    and an unsigned one is refused for its missing signature (how a bundle relay is told apart
    from a node)."""
    with (
        AnvilProcess(args=["--order", "fifo"]) as anvil,
        LocalRelay(anvil.url, forward_reads=False) as relay,
    ):

        def post(body):
            return requests.post(relay.url, data=json.dumps(body), timeout=5)

        single = post({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        assert single.json()["error"] == {
            "code": -32601,
            "message": "method not found: eth_chainId",
        }
        batch = post([{"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []}])
        assert batch.json()[0]["error"]["code"] == -32601
        unsigned = post({"jsonrpc": "2.0", "id": 3, "method": "eth_callBundle", "params": [{}]})
        assert unsigned.status_code == 403
        client = RelayClient(relay.url, Account.from_key("0x" + "5e" * 32), backoff=0.01)
        head = int(Web3(Web3.HTTPProvider(anvil.url)).eth.block_number)
        sender = dev_accounts(2)[1]
        tx = sender.sign_transaction(
            {"to": sender.address, "value": 1, "gas": 21_000, "maxFeePerGas": 10**10,
             "maxPriorityFeePerGas": 10**9, "nonce": 0, "chainId": 31337, "type": 2}
        )  # fmt: skip
        client.send_bundle(Bundle.of([bytes(tx.raw_transaction)]), target_block=head + 1)
        assert relay.mine_block().included


def test_connect_tells_a_bundle_relay_from_a_node():
    from keeper.chain.connect import InputError, connect

    with AnvilProcess(args=["--order", "fifo"]) as anvil:
        assert connect(anvil.url).eth.chain_id == 31337
        with LocalRelay(anvil.url, forward_reads=False) as relay, pytest.raises(InputError) as err:
            connect(relay.url, "--rpc")
    assert str(err.value).startswith(f"--rpc '{relay.url}': this is a bundle relay")
