"""The local relay's BuilderNet refunds on a real anvil: refundPercent paid at block end from
what the bundle paid the block, delayed refunds, the refund queries, replacementNonce."""

from __future__ import annotations

from eth_account import Account

from keeper.relay import Bundle, RelayClient
from keeper.relay.client import BuilderTarget
from keeper.relay.refunds import DELAYED_REFUND_BLOCKS, REFUND_TX_GAS

from .test_relay_local import chain, relay_chain  # noqa: F401  (fixture)

RECIPIENT = "0x00000000000000000000000000000000000f00D5"


def buildernet(relay_url: str) -> RelayClient:
    target = BuilderTarget(relay_url, "local", refunds=True, refund_queries=True)
    return RelayClient(target, Account.from_key("0x" + "5e" * 32), backoff=0.01)


def paid_to_block(chain, tx_hash: str) -> int:  # noqa: F811
    receipt = chain.receipt(tx_hash)
    block = chain.w3.eth.get_block(int(receipt["blockNumber"], 16))
    tip = int(receipt["effectiveGasPrice"], 16) - int(block["baseFeePerGas"])
    return int(receipt["gasUsed"], 16) * tip


def test_a_refund_percent_bundle_is_paid_its_share_at_the_end_of_its_block(chain):  # noqa: F811
    client = buildernet(chain.relay.url)
    a, public_sender = chain.accounts[1], chain.accounts[2]
    chain.w3.eth.send_raw_transaction(chain.transfer(public_sender, tip=3 * 10**9))
    bundle = Bundle.of(
        [chain.transfer(a, tip=20 * 10**9)], refund_percent=90, refund_recipient=RECIPIENT
    )
    target = chain.head() + 1
    before = chain.w3.eth.get_balance(RECIPIENT)
    submission = client.send_bundle(bundle, target)
    assert submission.received_ms()  # the local relay stamps receipt time too
    record = chain.relay.mine_block()

    assert record.included == [bundle.hash] and len(record.refunds) == 1
    block = chain.w3.eth.get_block(target)
    paid = paid_to_block(chain, bundle.tx_hashes[0])
    expected = chain.w3.eth.get_balance(RECIPIENT) - before
    # 90 % of the priority fee, less the refund transfer's gas at the base fee the builder's
    # trial showed (anvil's base fee after a reverted trial block may differ by a little)
    deducted = paid * 90 // 100 - expected
    assert deducted % REFUND_TX_GAS == 0
    parent = chain.w3.eth.get_block(target - 1)
    assert 0 < deducted <= REFUND_TX_GAS * int(parent["baseFeePerGas"])
    refund_tx = chain.receipt(record.refunds[0])
    # the bundle first, the public transaction, the refund transfer last, all in one block
    assert int(refund_tx["blockNumber"], 16) == target
    assert int(refund_tx["transactionIndex"], 16) == 2
    assert refund_tx["to"].lower() == RECIPIENT.lower()
    assert refund_tx["from"].lower() == block["miner"].lower()  # the builder's coinbase pays

    (refund,) = client.fee_refunds_by_bundle(bundle.hash).refunds
    assert (refund.amount, refund.block_number, refund.status) == (expected, target, "received")
    assert refund.recipient == RECIPIENT.lower()
    assert client.fee_refunds_by_block(target).refunds == [refund]
    assert client.fee_refunds_by_recipient(RECIPIENT).refunds == [refund]
    totals = client.fee_refund_totals(RECIPIENT)
    assert (totals.pending, totals.received, totals.max_block_number) == (0, expected, target)


def test_the_refund_is_measured_on_the_named_transaction(chain):  # noqa: F811
    client = buildernet(chain.relay.url)
    a, b = chain.accounts[1], chain.accounts[2]
    first, last = chain.transfer(a, tip=30 * 10**9), chain.transfer(b, tip=1 * 10**9)
    hashes = Bundle.of([first, last]).tx_hashes
    named = Bundle.of(
        [first, last], refund_percent=50, refund_recipient=RECIPIENT, refund_tx_hashes=[hashes[0]]
    )
    target = chain.head() + 1
    client.send_bundle(named, target)
    chain.relay.mine_block()
    parent_fee = int(chain.w3.eth.get_block(target - 1)["baseFeePerGas"])
    (refund,) = client.fee_refunds_by_bundle(named.hash).refunds
    deducted = paid_to_block(chain, hashes[0]) * 50 // 100 - refund.amount
    assert 0 < deducted <= REFUND_TX_GAS * parent_fee  # the first tx's fee, not the last's
    assert refund.amount > paid_to_block(chain, hashes[1])


def test_a_delayed_refund_is_pending_then_paid_blocks_later(chain):  # noqa: F811
    client = buildernet(chain.relay.url)
    bundle = Bundle.of(
        [chain.transfer(chain.accounts[1], tip=20 * 10**9)],
        refund_percent=40,
        refund_recipient=RECIPIENT,
        delayed_refund=True,
    )
    target = chain.head() + 1
    client.send_bundle(bundle, target)
    record = chain.relay.mine_block()
    assert record.refunds == []
    (pending,) = client.delayed_refunds(RECIPIENT).refunds
    assert pending.status == "pending"
    assert pending.amount == paid_to_block(chain, bundle.tx_hashes[0]) * 40 // 100
    before = chain.w3.eth.get_balance(RECIPIENT)
    for _ in range(DELAYED_REFUND_BLOCKS):
        last = chain.relay.mine_block()
    assert len(last.refunds) == 1
    assert chain.w3.eth.get_balance(RECIPIENT) - before == pending.amount
    (received,) = client.delayed_refunds(
        RECIPIENT, bundle_hash=bundle.hash, block_range=(target, target)
    ).refunds
    assert received.status == "received"
    assert client.fee_refunds_by_bundle(bundle.hash).refunds == [received]


def test_a_lower_replacement_nonce_is_ignored(chain):  # noqa: F811
    client = buildernet(chain.relay.url)
    a = chain.accounts[1]
    uuid = "2f1b4c33-1f86-4a43-9d3a-4f2f0b6a7d10"
    newer = Bundle.of([chain.transfer(a, value=2)], replacement_uuid=uuid, replacement_nonce=5)
    older = Bundle.of([chain.transfer(a, value=1)], replacement_uuid=uuid, replacement_nonce=4)
    target = chain.head() + 1
    client.send_bundle(newer, target)
    client.send_bundle(older, target)
    record = chain.relay.mine_block()
    assert record.included == [newer.hash]


def test_a_bundle_without_refund_fields_earns_nothing(chain):  # noqa: F811
    client = buildernet(chain.relay.url)
    bundle = Bundle.of([chain.transfer(chain.accounts[1], tip=20 * 10**9)])
    client.send_bundle(bundle, chain.head() + 1)
    record = chain.relay.mine_block()
    assert record.refunds == []
    assert client.fee_refunds_by_bundle(bundle.hash).refunds == []
