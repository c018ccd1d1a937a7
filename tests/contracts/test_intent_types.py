"""keeper/intents/types.py + signing.py: the wire format and signing helpers (no chain)."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from keeper.intents.signing import (
    SECP256K1_N,
    SigningError,
    intent_digest,
    recover_intent_signer,
    sign_intent,
)
from keeper.intents.types import (
    Execution,
    IntentFormatError,
    Order,
    RebalanceIntent,
    TokenAmount,
    next_free_nonce,
)

SIGNER = Account.from_key(b"\x11" * 32)
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
EXECUTOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _intent(**changes) -> RebalanceIntent:
    fields = {
        "owner": SIGNER.address,
        "executor": EXECUTOR,
        "nonce": 1,
        "deadline": 1767225600,
        "sells": [TokenAmount(token=WETH, amount=10**18)],
        "buys": [TokenAmount(token=USDC, amount=2_950 * 10**6)],
        "fee_token": USDC,
        "max_fee": 5 * 10**6,
    }
    return RebalanceIntent(**{**fields, **changes})


def test_json_uses_camel_case_integer_strings_and_checksummed_addresses():
    intent = _intent(owner=SIGNER.address.lower())
    wire = json.loads(intent.to_json())

    assert wire["owner"] == SIGNER.address
    assert wire["sells"] == [{"token": WETH, "amount": "1000000000000000000"}]
    assert (wire["validAfter"], wire["maxFee"], wire["feeToken"]) == ("0", "5000000", USDC)
    assert RebalanceIntent.parse(intent.to_json()) == intent


def test_an_order_round_trips_with_its_signature_as_hex():
    intent = _intent()
    order = Order(
        intent=intent,
        signature=sign_intent(intent, SIGNER, 1),
        execution=Execution(sell_amounts=[10**18], buy_amounts=[2_960 * 10**6], fee=10**6),
    )

    wire = json.loads(order.to_json())
    assert wire["signature"].startswith("0x") and len(wire["signature"]) == 132
    assert wire["execution"] == {
        "sellAmounts": ["1000000000000000000"],
        "buyAmounts": ["2960000000"],
        "fee": "1000000",
        "sellTo": [],
    }
    assert Order.parse(order.to_json()) == order


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nonce": -1}, "nonce"),
        ({"nonce": 2**256}, "nonce"),
        ({"owner": "0x1234"}, "owner"),
        ({"sells": [{"token": WETH, "amount": "1.5"}]}, "sells.0.amount"),
        ({"deadline": "soon"}, "deadline"),
        ({"unknownField": 1}, "unknownField"),
    ],
)
def test_malformed_input_names_the_offending_field(change, field):
    wire = {**json.loads(_intent().to_json()), **change}

    with pytest.raises(IntentFormatError) as info:
        RebalanceIntent.parse(wire)
    assert info.value.field == field


def test_inconsistent_intents_are_refused():
    with pytest.raises(ValueError, match="before validAfter"):
        _intent(valid_after=10, deadline=5)
    with pytest.raises(ValueError, match="needs a feeToken"):
        _intent(fee_token="0x" + "00" * 20)
    with pytest.raises(ValueError, match="zero address"):
        _intent(owner="0x" + "00" * 20)
    with pytest.raises(IntentFormatError, match="sellAmounts has 2 entries"):
        Order.parse(
            {
                "intent": json.loads(_intent().to_json()),
                "signature": "0x00",
                "execution": {"sellAmounts": ["1", "2"], "buyAmounts": ["1"]},
            }
        )


def test_the_signature_recovers_to_the_owner_and_depends_on_chain_and_fields():
    intent = _intent()
    signature = sign_intent(intent, SIGNER, 1)

    assert recover_intent_signer(intent, signature, 1) == SIGNER.address
    assert recover_intent_signer(intent, signature, 5) != SIGNER.address
    assert intent_digest(intent, 1) != intent_digest(_intent(max_fee=5 * 10**6 + 1), 1)


def test_only_the_owner_can_sign_and_high_s_twins_are_refused():
    other = Account.from_key(b"\x22" * 32)
    with pytest.raises(SigningError, match="not the intent owner"):
        sign_intent(_intent(), other, 1)

    good = sign_intent(_intent(), SIGNER, 1)
    s = int.from_bytes(good[32:64], "big")
    twin = good[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - good[64]])
    with pytest.raises(SigningError, match="high-s"):
        recover_intent_signer(_intent(), twin, 1)


def test_the_wallet_payload_is_json_safe_and_hashes_to_the_same_digest():
    from eth_account.messages import _hash_eip191_message, encode_typed_data

    intent = _intent()
    payload = json.loads(json.dumps(intent.wallet_typed_data(1)))

    assert payload["message"]["sells"][0]["amount"] == "1000000000000000000"
    assert payload["domain"]["verifyingContract"] == EXECUTOR
    digest = _hash_eip191_message(encode_typed_data(full_message=payload))
    assert bytes(digest) == intent_digest(intent, 1)


def test_the_next_free_nonce_fills_a_bitmap_word_before_the_next_one():
    assert next_free_nonce(0) == 0
    assert next_free_nonce(0b1011) == 2
    assert next_free_nonce(0, word=3) == 3 * 256
    # nonces signed but not yet settled are skipped; other words' nonces do not matter
    assert next_free_nonce(0b1, taken=[1, 2, 256 + 3]) == 3
    assert next_free_nonce(2**256 - 1) is None
    assert next_free_nonce(2**256 - 2, taken=[0]) is None
    with pytest.raises(IntentFormatError, match="nonceBitmap"):
        next_free_nonce(2**256)
