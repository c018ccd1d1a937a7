"""The settle/checkOrder encoder: the outer call is exactly eth-abi's bytes for
``settle(bytes,(address,uint256,bytes)[])``, and the packed orders read back unchanged."""

from __future__ import annotations

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.intents.types import DirectLeg, Execution, Interaction, Order
from keeper.settlement.abi import (
    CHECK_ORDER_SELECTOR,
    INTERACTION_TYPE,
    SETTLE_SELECTOR,
    TO_EXECUTOR,
    decode_orders,
    encode_check_order,
    encode_order,
    encode_orders,
    encode_settle,
)
from tests.keeper.pipeline.intent_strategies import ADDRESS, UINT, orders

EXECUTOR = "0x" + "e1" * 20

interactions = st.builds(
    lambda target, value, data: Interaction(target=target, value=value, call_data=data),
    ADDRESS,
    UINT,
    st.binary(max_size=200),
)


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(orders(), max_size=4), calls=st.lists(interactions, max_size=4))
def test_settle_calldata_equals_eth_abi_with_the_packed_orders_as_bytes(batch, calls):
    expected = SETTLE_SELECTOR + encode(
        ["bytes", f"{INTERACTION_TYPE}[]"],
        [encode_orders(batch), [i.as_abi() for i in calls]],
    )
    assert encode_settle(batch, calls) == expected


@settings(max_examples=150, deadline=None)
@given(order=orders(), keeper=ADDRESS)
def test_check_order_calldata_equals_eth_abi_with_one_packed_order(order, keeper):
    expected = CHECK_ORDER_SELECTOR + encode(["bytes", "address"], [encode_order(order), keeper])
    assert encode_check_order(order, keeper) == expected


@settings(max_examples=200, deadline=None)
@given(batch=st.lists(orders(executor=EXECUTOR), max_size=4))
def test_packed_orders_decode_back_to_the_same_orders(batch):
    assert decode_orders(encode_orders(batch), EXECUTOR) == batch


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(orders(), max_size=4))
def test_the_packed_length_is_the_count_plus_each_order_header_signature_and_legs(batch):
    expected = 2 + sum(
        224 + len(o.signature) + 87 * len(o.intent.sells) + 84 * len(o.intent.buys) for o in batch
    )
    assert len(encode_orders(batch)) == expected


def test_a_direct_leg_is_written_as_its_order_and_leg_and_the_executor_as_0xffff():
    order = Order.model_validate(
        {
            "intent": {
                "owner": "0x" + "11" * 20,
                "executor": EXECUTOR,
                "nonce": 1,
                "deadline": 2,
                "sells": [
                    {"token": "0x" + "aa" * 20, "amount": 5},
                    {"token": "0x" + "bb" * 20, "amount": 6},
                ],
                "buys": [],
            },
            "signature": "0x",
            "execution": Execution(
                sell_amounts=(5, 6), buy_amounts=(), sell_to=(DirectLeg(order=3, leg=7), None)
            ),
        }
    )
    packed = encode_order(order)
    first, second = packed[224 : 224 + 87], packed[224 + 87 :]
    assert first[84:] == (3).to_bytes(2, "big") + bytes([7])
    assert second[84:] == TO_EXECUTOR.to_bytes(2, "big") + b"\x00"


@pytest.mark.parametrize(
    ("cut", "problem"), [(1, "count"), (2 + 223, "cut short"), (-1, "cut short")]
)
def test_truncated_packed_orders_are_refused(cut, problem):
    order = Order.model_validate(
        {
            "intent": {"owner": "0x" + "11" * 20, "executor": EXECUTOR, "nonce": 1, "deadline": 2},
            "signature": "0x" + "ab" * 65,
            "execution": {"sellAmounts": [], "buyAmounts": []},
        }
    )
    packed = encode_orders([order])
    with pytest.raises(ValueError, match=problem):
        decode_orders(packed[:cut], EXECUTOR)


def test_trailing_bytes_after_the_last_order_are_refused():
    with pytest.raises(ValueError, match="bytes after order"):
        decode_orders(encode_orders([]) + b"\x00", EXECUTOR)
