"""Bundles: client-side limits with errors naming the field, hashing, raw-tx decoding."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from keeper.relay.bundle import Bundle, bundle_hash, decode_tx
from keeper.relay.exceptions import BundleTooLargeError, InvalidBundleError
from keeper.relay.execution import builder_order

from .conftest import signed_transfer


def test_bundle_hash_is_keccak_of_the_concatenated_tx_hashes(sender):
    txs = [signed_transfer(sender, 0), signed_transfer(sender, 1)]
    bundle = Bundle.of(txs)
    assert bundle.tx_hashes == tuple("0x" + keccak(tx).hex() for tx in txs)
    joined = b"".join(keccak(tx) for tx in txs)
    assert bundle.hash == "0x" + keccak(joined).hex() == bundle_hash(bundle.tx_hashes)


def test_bundle_accepts_hex_strings_and_bytes_alike(sender):
    raw = signed_transfer(sender, 0)
    assert Bundle.of(["0x" + raw.hex()]).txs == Bundle.of([raw]).txs


def test_more_than_100_transactions_are_refused_naming_the_field(sender):
    raw = signed_transfer(sender, 0)
    Bundle.of([raw] * 100)
    with pytest.raises(BundleTooLargeError, match="'txs': 101 transactions") as caught:
        Bundle.of([raw] * 101)
    assert (caught.value.field, caught.value.limit) == ("txs", 100)


def test_more_than_300000_bytes_are_refused_naming_the_field(sender):
    big = signed_transfer(sender, 0, data=b"\x01" * 100_000)
    Bundle.of([big, big])
    with pytest.raises(BundleTooLargeError, match="bytes, the relay accepts at most 300000"):
        Bundle.of([big, big, big, big])


@pytest.mark.parametrize(
    ("txs", "field"),
    [([], "txs"), (["abcd"], "txs[0]"), (["0xzz"], "txs[0]"), ([b""], "txs[0]")],
)
def test_malformed_transactions_are_refused_naming_the_index(txs, field):
    with pytest.raises(InvalidBundleError) as caught:
        Bundle.of(txs)
    assert caught.value.field == field


def test_reverting_hashes_must_belong_to_the_bundle(sender):
    raw = signed_transfer(sender, 0)
    with pytest.raises(InvalidBundleError, match="revertingTxHashes"):
        Bundle.of([raw], reverting_tx_hashes=["0x" + "00" * 32])


def test_timestamp_window_must_not_be_inverted(sender):
    with pytest.raises(InvalidBundleError, match="minTimestamp"):
        Bundle.of([signed_transfer(sender, 0)], min_timestamp=10, max_timestamp=5)


def test_decode_reads_sender_nonce_and_fees_of_typed_and_legacy_transactions(sender):
    typed = decode_tx(signed_transfer(sender, 7, tip=3))
    assert (typed.sender, typed.nonce, typed.tip_cap, typed.fee_cap) == (
        sender.address,
        7,
        3,
        10**11,
    )
    legacy_raw = bytes(
        sender.sign_transaction(
            {
                "to": "0x" + "22" * 20,
                "value": 0,
                "gas": 21_000,
                "gasPrice": 5,
                "nonce": 2,
                "chainId": 1,
            }
        ).raw_transaction
    )
    legacy = decode_tx(legacy_raw)
    assert (legacy.sender, legacy.nonce, legacy.tip_cap, legacy.fee_cap) == (
        sender.address,
        2,
        5,
        5,
    )
    assert legacy.effective_tip(base_fee=4) == 1


def test_builder_orders_by_priority_fee_but_keeps_each_senders_nonces(sender, reputation_key):
    a0 = decode_tx(signed_transfer(sender, 0, tip=1))
    a1 = decode_tx(signed_transfer(sender, 1, tip=50))
    b0 = decode_tx(signed_transfer(reputation_key, 0, tip=10))
    ordered = builder_order([a1, b0, a0], base_fee=0)
    # a1 pays most but must follow a0; b0 outbids a0.
    assert [t.hash for t in ordered] == [b0.hash, a0.hash, a1.hash]
