"""The hand-written settle/checkOrder encoder produces exactly eth-abi's bytes."""

from __future__ import annotations

from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.intents.types import Execution, Interaction, Order
from keeper.settlement.abi import (
    CHECK_ORDER_SELECTOR,
    INTERACTION_TYPE,
    ORDER_TYPE,
    SETTLE_SELECTOR,
    encode_check_order,
    encode_settle,
)
from tests.keeper.pipeline.intent_strategies import ADDRESS, UINT, intents


@st.composite
def orders(draw) -> Order:
    intent = draw(intents(max_legs=4))
    sells, buys = len(intent.sells), len(intent.buys)
    return Order(
        intent=intent,
        signature=draw(st.binary(max_size=140)),
        execution=Execution(
            sell_amounts=draw(st.lists(UINT, min_size=sells, max_size=sells)),
            buy_amounts=draw(st.lists(UINT, min_size=buys, max_size=buys)),
            fee=draw(UINT),
        ),
    )


interactions = st.builds(
    lambda target, value, data: Interaction(target=target, value=value, call_data=data),
    ADDRESS,
    UINT,
    st.binary(max_size=200),
)


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(orders(), max_size=4), calls=st.lists(interactions, max_size=4))
def test_settle_calldata_equals_eth_abi(batch, calls):
    expected = SETTLE_SELECTOR + encode(
        [f"{ORDER_TYPE}[]", f"{INTERACTION_TYPE}[]"],
        [[o.as_abi() for o in batch], [i.as_abi() for i in calls]],
    )
    assert encode_settle(batch, calls) == expected


@settings(max_examples=150, deadline=None)
@given(order=orders(), keeper=ADDRESS)
def test_check_order_calldata_equals_eth_abi(order, keeper):
    expected = CHECK_ORDER_SELECTOR + encode([ORDER_TYPE, "address"], [order.as_abi(), keeper])
    assert encode_check_order(order, keeper) == expected
