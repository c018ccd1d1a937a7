"""settle: a buy is credited with what was transferred to its owner for it — the executor's
delivery and the direct legs sent to it — each measured by the owner's balance delta around that
transfer alone (audit finding 1; test_settle_side_payments.py holds the attacks). Nothing else
that moves the owner's balance during the batch counts for or against the buy: not a payment
from an interaction, not another of the owner's orders selling the token.

Before that fix a buy was the owner's balance growth over the whole batch, which counted side
payments and forced two rules these tests used to check and now check the opposite of: one
(owner, token) could be bought only once per batch (DuplicateBuy), and a sale of the bought token
by another of the owner's orders counted against the purchase."""

from __future__ import annotations

import ape
import pytest

from tests.contracts.helpers import allow, call

E18 = 10**18
E6 = 10**6


@pytest.fixture
def usdc_target(owner, executor, usdc):
    allow(executor, owner, usdc, "mint(address,uint256)")  # a stand-in for a swap into USDC
    return usdc


def _received(receipt, executor) -> list[list[int]]:
    return [list(e.received) for e in receipt.decode_logs(executor.IntentSettled)]


def test_two_orders_of_one_owner_buying_the_same_token_each_count_their_own_delivery(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, 2 * E18)
    first = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 1_000 * E6)], nonce=0)
    second = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 1_000 * E6)], nonce=1)

    def orders(first_gets: int, second_gets: int):
        return [
            intents.order(first, alice, buy_amounts=[first_gets]),
            intents.order(second, alice, buy_amounts=[second_gets]),
        ]

    # 2,000 in all, but the second order's own delivery is 500: the first's surplus is not its.
    with ape.reverts(
        executor.BuyBelowMinimum, token=usdc.address, received=500 * E6, minimum=1_000 * E6
    ):
        intents.settle(
            orders(1_500 * E6, 500 * E6), [call(usdc, "mint", executor, 2_000 * E6)], sender=keeper
        )

    receipt = intents.settle(
        orders(1_000 * E6, 1_000 * E6), [call(usdc, "mint", executor, 2_000 * E6)], sender=keeper
    )
    assert usdc.balanceOf(alice) == 2_000 * E6
    assert _received(receipt, executor) == [[1_000 * E6], [1_000 * E6]]


def test_two_buy_legs_of_one_intent_in_the_same_token_each_count_their_own_delivery(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(
        alice, sells=[(weth_like, E18)], buys=[(usdc, 1_000 * E6), (usdc, 1_000 * E6)]
    )
    mint = [call(usdc, "mint", executor, 2_000 * E6)]

    with ape.reverts(executor.BuyBelowMinimum, token=usdc.address, received=0, minimum=1_000 * E6):
        intents.settle(
            [intents.order(intent, alice, buy_amounts=[2_000 * E6, 0])], mint, sender=keeper
        )
    receipt = intents.settle([intents.order(intent, alice)], mint, sender=keeper)
    assert _received(receipt, executor) == [[1_000 * E6, 1_000 * E6]]


def test_another_order_of_the_owner_selling_the_bought_token_does_not_count_against_the_buy(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intents.fund(alice, usdc, 5_000 * E6)
    buy = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)], nonce=0)
    sell = intents.intent(alice, sells=[(usdc, 2_000 * E6)], buys=[], nonce=1)
    orders = [intents.order(buy, alice), intents.order(sell, alice)]

    # Two signed intents, each within its limits: 3,000 delivered for the first, 2,000 taken for
    # the second (her balance grows by 1,000 over the batch, which is no longer what counts).
    receipt = intents.settle(orders, [call(usdc, "mint", executor, 3_000 * E6)], sender=keeper)

    assert usdc.balanceOf(alice) == 6_000 * E6
    assert _received(receipt, executor) == [[3_000 * E6], []]


def test_a_delivery_below_the_minimum_reverts_whatever_else_grows_the_balance(
    intents, executor, keeper, alice, bob, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intents.fund(bob, usdc, 5_000 * E6)
    buy = intents.intent(alice, sells=[(weth_like, E18)], buys=[(usdc, 3_000 * E6)])
    # Bob's sale goes to the executor, and the executor delivers only part of it to Alice.
    gift = intents.intent(bob, sells=[(usdc, 5_000 * E6)], buys=[])
    orders = [
        intents.order(buy, alice, buy_amounts=[2_999 * E6]),
        intents.order(gift, bob),
    ]

    with ape.reverts(
        executor.BuyBelowMinimum, token=usdc.address, received=2_999 * E6, minimum=3_000 * E6
    ):
        intents.settle(orders, [call(usdc, "mint", alice, 10 * E6)], sender=keeper)


def test_a_fee_in_the_buy_token_leaves_the_owners_delivery_whole(
    intents, executor, keeper, alice, weth_like, usdc_target
):
    usdc = usdc_target
    intents.fund(alice, weth_like, E18)
    intent = intents.intent(
        alice,
        sells=[(weth_like, E18)],
        buys=[(usdc, 3_000 * E6)],
        fee_token=usdc.address,
        max_fee=10 * E6,
    )

    receipt = intents.settle(
        [intents.order(intent, alice, fee=10 * E6)],
        [call(usdc, "mint", executor, 3_010 * E6)],
        sender=keeper,
    )

    assert usdc.balanceOf(alice) == 3_000 * E6
    assert usdc.balanceOf(keeper) == 10 * E6
    [settled] = receipt.decode_logs(executor.IntentSettled)
    assert (list(settled.received), settled.fee) == ([3_000 * E6], 10 * E6)
