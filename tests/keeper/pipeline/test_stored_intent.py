"""Stored submissions come back from the store as the same SignedIntent that intake validated."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.intents.types import Execution, Order, RebalanceIntent, TokenAmount
from keeper.intents.validation import SignedIntent
from keeper.settlement.abi import decode_orders, encode_order, encode_orders
from keeper.settlement.plan import stored_intent
from tests.keeper.pipeline.intent_strategies import intents


@st.composite
def submissions(draw) -> SignedIntent:
    intent = draw(intents(max_legs=3))
    chain_id = draw(st.none() | st.integers(min_value=1, max_value=2**64))
    return SignedIntent(intent=intent, signature=draw(st.binary(max_size=100)), chain_id=chain_id)


@settings(max_examples=200, deadline=None)
@given(signed=submissions())
def test_a_stored_submission_reads_back_equal_to_full_validation(signed):
    payload = json.loads(json.dumps(signed.to_wire()))  # as the store keeps it
    fast = stored_intent(payload)
    assert fast == SignedIntent.model_validate(payload) == signed
    assert fast.to_wire() == signed.to_wire()


def test_a_payload_of_another_shape_is_fully_validated():
    signed = SignedIntent(
        intent=RebalanceIntent(
            owner="0x" + "12" * 20, executor="0x" + "34" * 20, nonce=1, deadline=10
        ),
        signature=b"\x01",
    )
    payload = signed.to_wire()
    payload["intent"]["owner"] = payload["intent"]["owner"].lower()
    payload["intent"]["newField"] = 1  # unknown to this reader: validation must decide
    try:
        stored_intent(payload)
    except ValueError as err:  # pydantic's ValidationError: extra fields are forbidden
        assert "newField" in str(err)
    else:
        raise AssertionError("an unknown field was accepted without validation")


def test_the_order_encoding_of_a_stored_intent_is_unchanged():
    signed = SignedIntent(
        intent=RebalanceIntent(
            owner="0x" + "12" * 20,
            executor="0x" + "34" * 20,
            nonce=3,
            deadline=99,
            sells=[TokenAmount(token="0x" + "56" * 20, amount=5)],
            buys=[TokenAmount(token="0x" + "78" * 20, amount=7)],
            fee_token="0x" + "56" * 20,
            max_fee=1,
        ),
        signature=b"\x02" * 65,
    )

    def order(s: SignedIntent) -> Order:
        return Order(
            intent=s.intent,
            signature=s.signature,
            execution=Execution(sell_amounts=[5], buy_amounts=[7], fee=1),
        )

    stored = order(stored_intent(signed.to_wire()))
    assert encode_order(stored) == encode_order(order(signed))
    # the packed form leaves the executor out (the contract hashes with its own address):
    # what it does carry reads back as the full intent, executor given
    assert decode_orders(encode_orders([stored]), signed.intent.executor) == [order(signed)]
