"""settle's packed orders: bytes that do not hold exactly the orders their count announces are
refused with MalformedOrders(index), the first order that does not fit (the count itself for
bytes left after the last order), before anything moves. The Python model cannot build such
bytes (it refuses an execution whose amounts do not match the intent's legs), so these are cut
by hand from a well-formed batch."""

from __future__ import annotations

import ape
import pytest

from keeper.intents.types import Execution, Order
from keeper.settlement.abi import encode_order, encode_orders

E18 = 10**18
SIG_LENGTH_AT = 222  # offset of an order's 2-byte signature length


@pytest.fixture
def three(intents, alice, bob, carol, weth_like):
    """Three one-leg sells of WETH to the executor, and their packed orders (no count)."""
    users = (alice, bob, carol)
    for user in users:
        intents.fund(user, weth_like, E18)
    orders = [intents.order(intents.intent(u, sells=[(weth_like, E18)]), u) for u in users]
    return orders, [encode_order(o) for o in orders]


def _count(n: int) -> bytes:
    return n.to_bytes(2, "big")


def _with_sig_length(order: bytes, length: int) -> bytes:
    return order[:SIG_LENGTH_AT] + length.to_bytes(2, "big") + order[SIG_LENGTH_AT + 2 :]


def test_the_keepers_model_refuses_an_execution_whose_amounts_do_not_match_the_legs(
    intents, alice, weth_like
):
    intent = intents.intent(alice, sells=[(weth_like, E18)])
    with pytest.raises(ValueError, match="sellAmounts has 2 entries"):
        Order(
            intent=intent,
            signature=intents.sign(intent, alice),
            execution=Execution(sell_amounts=[E18, 1], buy_amounts=[]),
        )


@pytest.mark.parametrize(
    ("case", "index"),
    [
        ("empty", 0),
        ("count-cut-in-half", 0),
        ("order-0-cut-mid-header", 0),
        ("order-1-signature-overruns-the-end", 1),
        ("last-byte-missing", 2),
        ("count-larger-than-the-orders-present", 2),
        ("one-trailing-byte", 3),
        ("orders-after-a-count-of-zero", 0),
    ],
)
def test_bytes_that_do_not_hold_exactly_the_counted_orders_are_refused_with_the_index(
    intents, executor, keeper, alice, weth_like, three, case, index
):
    orders, packed = three
    whole = _count(3) + b"".join(packed)
    assert whole == encode_orders(orders)
    data = {
        "empty": b"",
        "count-cut-in-half": b"\x00",
        "order-0-cut-mid-header": _count(3) + packed[0][:100],
        "order-1-signature-overruns-the-end": (
            _count(3) + packed[0] + _with_sig_length(packed[1], 0xFFFF) + packed[2]
        ),
        "last-byte-missing": whole[:-1],
        "count-larger-than-the-orders-present": _count(3) + packed[0] + packed[1],
        "one-trailing-byte": whole + b"\x00",
        "orders-after-a-count-of-zero": _count(0) + packed[0],
    }[case]

    with ape.reverts(executor.MalformedOrders, index=index):
        intents.settle_raw(data, sender=keeper)
    assert weth_like.balanceOf(alice) == E18


def test_the_well_formed_batch_the_cuts_came_from_settles(
    intents, executor, keeper, alice, bob, carol, weth_like, three
):
    orders, _ = three
    intents.settle(orders, sender=keeper)
    assert [weth_like.balanceOf(u) for u in (alice, bob, carol)] == [0, 0, 0]
    assert weth_like.balanceOf(executor) == 3 * E18
